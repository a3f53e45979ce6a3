"""Shared fixtures: the same integration tests run on the embedded defaults and on real services.

`stack` is parametrised: "embedded" (SQLite, filesystem broker, local files) and "services"
(PostgreSQL, Redis, S3 on moto's server). Under CI=true a service that cannot be reached fails the
test; elsewhere it is skipped with the reason.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
CI = os.environ.get("CI", "").lower() == "true"
SERVICE_URLS = {
    "postgres": os.environ.get("CLASSLAB_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"),
    "redis": os.environ.get("CLASSLAB_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
    "amqp": os.environ.get("CLASSLAB_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//"),
}
os.environ.setdefault("AWS_ACCESS_KEY_ID", "classlab-test")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "classlab-test")


def _reachable(name: str, url: str) -> str | None:
    """None when the service answers, else why not."""
    try:
        if name == "postgres":
            import psycopg

            with psycopg.connect(url, connect_timeout=3) as conn:
                conn.execute("SELECT 1")
        elif name == "redis":
            import redis

            redis.Redis.from_url(url, socket_connect_timeout=3).ping()
        else:
            from kombu import Connection

            with Connection(url, connect_timeout=3) as conn:
                conn.ensure_connection(max_retries=1)
    except Exception as exc:  # noqa: BLE001 - any failure means unreachable; we report it
        return f"{type(exc).__name__}: {exc}"
    return None


_checked: dict[str, str | None] = {}


def require_service(name: str) -> str:
    url = SERVICE_URLS[name]
    if name not in _checked:
        _checked[name] = _reachable(name, url)
    problem = _checked[name]
    if problem:
        message = f"{name} at {url} is unreachable: {problem}"
        if CI:
            pytest.fail(f"{message} (CI=true: real services are required)")
        pytest.skip(message)
    return url


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def s3_endpoint():
    """A real S3-speaking HTTP server (moto's server mode) on loopback."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(scope="session")
def postgres_database():
    """A database of our own on the PostgreSQL server, dropped at the end of the session."""
    import psycopg

    base = require_service("postgres")
    name = f"classlab_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(base)
    yield parts._replace(path=f"/{name}").geturl()
    from app import db

    db.dispose_all()
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _reset_postgres(url: str) -> None:
    import psycopg

    from app import db

    db.dispose_all()
    with psycopg.connect(url, autocommit=True) as conn:
        # A connection a previous test left open would block the DROP forever.
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                     "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")


def make_settings(tmp_path: Path, kind: str, request) -> dict[str, str]:
    """Environment for a ClassLab process (this one, a worker, the CLI) on one stack."""
    env = {
        "CLASSLAB_INSTANCE": str(tmp_path / "instance"),
        "SECRET_KEY": "test-secret-" + uuid.uuid4().hex,
        "LOG_LEVEL": "WARNING",
    }
    if kind == "services":
        pg = request.getfixturevalue("postgres_database")
        _reset_postgres(pg)
        env["DATABASE_URL"] = pg
        env["BROKER_URL"] = require_service("redis")
        endpoint = request.getfixturevalue("s3_endpoint")
        bucket = f"classlab-{uuid.uuid4().hex[:12]}"
        env.update(STORAGE_URL=f"s3://{bucket}", S3_ENDPOINT_URL=endpoint,
                   S3_ACCESS_KEY_ID="classlab-test", S3_SECRET_ACCESS_KEY="classlab-test")
    return env


@pytest.fixture(params=["embedded", "services"])
def stack(request, tmp_path) -> dict[str, str]:
    return make_settings(tmp_path, request.param, request)


@pytest.fixture
def settings(stack):
    from app.config import load_settings

    return load_settings({**os.environ, **stack})


@pytest.fixture
def app(settings):
    from app import create_app, db, migrate
    from storage.s3 import S3Storage

    migrate.upgrade(settings.database_url)
    application = create_app(settings)
    application.config["TESTING"] = True
    store = application.extensions["classlab.storage"]
    if isinstance(store, S3Storage):
        store.ensure_bucket()
    yield application
    db.dispose_all()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def session(app):
    from app import db

    return db.session()


@pytest.fixture
def people(session):
    """A small network: an institute, a municipality with two schools, and one person per role."""
    from app.accounts import service
    from app.accounts.models import OrgKind

    institute = service.create_organization(session, "National Institute", OrgKind.institute)
    city = service.create_organization(session, "Haifa", OrgKind.municipality, institute)
    school_a = service.create_organization(session, "Tichon Alef", OrgKind.school, city)
    school_b = service.create_organization(session, "مدرسة النور", OrgKind.school, city)
    pw = "correct horse battery"
    make = lambda email, role, org, **kw: service.create_user(  # noqa: E731
        session, email=email, password=pw, role=role, organization=org, **kw
    )
    users = {
        "teacher": make("teacher@a.example", "teacher", school_a, display_name="Noa Levi"),
        "colleague": make("colleague@a.example", "teacher", school_a, display_name="Dana Cohen"),
        "coach": make("coach@a.example", "coach", school_a),
        "facilitator": make("plc@a.example", "facilitator", school_a),
        "other_teacher": make("teacher@b.example", "teacher", school_b, display_name="Samir Haddad"),
        "leader": make("leader@a.example", "school_leader", school_a),
        "city_leader": make("leader@haifa.example", "school_leader", city),
        "admin": make("admin@classlab.example", "admin", institute),
    }
    session.commit()
    users["password"] = pw
    users["orgs"] = {"institute": institute, "city": city, "a": school_a, "b": school_b}
    return users


def csrf_token(client, path: str = "/login") -> str:
    import re

    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def login(client, email: str, password: str):
    return client.post("/login", data={"email": email, "password": password, "csrf_token": csrf_token(client)})


def classlab(env: dict[str, str], *args: str, timeout: float = 120, check: bool = True, **kw):
    """Run the real `classlab` console script in a subprocess with the given stack."""
    exe = Path(sys.executable).with_name("classlab")
    return subprocess.run(
        [str(exe), *args], env={**os.environ, **env}, capture_output=True, text=True, timeout=timeout,
        check=check, **kw,
    )


class Worker:
    """A real Celery worker process (`classlab worker`) on a stack's broker."""

    def __init__(self, env: dict[str, str], log: Path):
        self.log = log
        self.fh = open(log, "w")  # noqa: SIM115 - closed in stop()
        exe = Path(sys.executable).with_name("classlab")
        self.proc = subprocess.Popen(
            [str(exe), "worker", "--concurrency=1", "--loglevel=INFO"], env={**os.environ, **env},
            stdout=self.fh, stderr=subprocess.STDOUT, start_new_session=True,
        )

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited {self.proc.returncode}:\n{self.log.read_text()}")
            if "ready." in self.log.read_text():
                return
            time.sleep(0.2)
        raise RuntimeError(f"worker not ready after {timeout}s:\n{self.log.read_text()}")

    def stop(self) -> None:
        stop_group(self.proc)
        self.fh.close()


def stop_group(proc: subprocess.Popen, timeout: float = 30) -> None:
    """SIGTERM a process group we started (a worker and its pool), SIGKILL it if it lingers."""
    import signal

    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


class LiveApp:
    """The test's Flask app served over real HTTP on loopback (tus clients need a socket)."""

    def __init__(self, application):
        import threading

        from werkzeug.serving import make_server

        self.server = make_server("127.0.0.1", 0, application, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()


@pytest.fixture
def live_app(app):
    served = LiveApp(app)
    yield served
    served.stop()


def bearer(session, user, name: str = "tests") -> dict[str, str]:
    from app.accounts import service

    issued = service.issue_token(session, user, name, 1)
    session.commit()
    return {"Authorization": f"Bearer {issued.secret}"}


@pytest.fixture(autouse=True, scope="session")
def _quick_password_hashing():
    """Cheap argon2 parameters inside the test process only: the suite creates hundreds of accounts.
    Subprocesses (the CLI, `classlab run`) keep the production parameters."""
    from argon2 import PasswordHasher

    from app.accounts import service

    service._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    service._DUMMY_HASH = service._hasher.hash("not a password")
    yield
