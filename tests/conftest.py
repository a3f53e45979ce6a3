"""Shared fixtures: the same integration tests run on the embedded defaults and on real services.

`stack` is parametrised: "embedded" (SQLite, filesystem broker, local files) and "services"
(PostgreSQL, Redis, S3 on moto's server); tests/stacks.py says how each is set up. Only fixtures live
here: the plain helpers a test imports are in tests/builders.py (data), tests/web.py (clients) and
tests/processes.py (real processes).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.processes import free_port, stop_group
from tests.stacks import make_settings, require_service

os.environ.setdefault("AWS_ACCESS_KEY_ID", "classlab-test")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "classlab-test")


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory):
    """A real S3-speaking HTTP server (moto's server mode) on loopback, in a process of its own.

    Not moto's ThreadedMotoServer: a server thread in the test process builds werkzeug routing rules (ast.parse)
    while the tests create apps, and CPython 3.11.7 keeps the AST converter's recursion depth in shared state, so
    two threads converting at once fail with "AST constructor recursion depth mismatch" (CPython gh-106905, fixed
    in 3.11.8). A process has its own interpreter."""
    import subprocess
    import sys
    import time
    import urllib.request
    from pathlib import Path

    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with open(log, "w") as out:
        command = [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)]
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=2)
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                stop_group(proc)
                raise RuntimeError("moto_server did not start:\n" + log.read_text()) from None
            time.sleep(0.2)
    yield url
    stop_group(proc)


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


@pytest.fixture(scope="session")
def lesson_file(tmp_path_factory):
    """lesson_file(seconds): a generated lesson (ffmpeg's picture and tone) of that length, made once a session."""
    from tests import media_files

    made: dict[float, Path] = {}

    def make(seconds: float) -> Path:
        if seconds not in made:
            made[seconds] = media_files.make_video(tmp_path_factory.mktemp("lesson") / "lesson.mp4", seconds=seconds)
        return made[seconds]

    return make


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
    try:
        application = create_app(settings)
    except SystemError as exc:
        # CPython 3.11.7's AST validator keeps one recursion counter for every thread (gh-106905): werkzeug parses
        # each URL rule's builder with `ast`, and a compile running in another thread of the test process at that
        # moment (a live server's thread finishing a page) makes the check fail with no fault in either. Once more.
        if "AST constructor recursion depth mismatch" not in str(exc):
            raise
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
    from tests.builders import network

    return network(session)


@pytest.fixture
def live_app(app):
    from tests.web import LiveApp

    served = LiveApp(app)
    yield served
    served.stop()


@pytest.fixture(autouse=True, scope="session")
def _quick_password_hashing():
    """Cheap argon2 parameters inside the test process only: the suite creates hundreds of accounts.
    Subprocesses (the CLI, `classlab run`) keep the production parameters."""
    from argon2 import PasswordHasher

    from app.accounts import service

    service._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    service._DUMMY_HASH = service._hasher.hash("not a password")
    yield
