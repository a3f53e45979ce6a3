"""The two stacks a ClassLab test runs on: "embedded" (SQLite, filesystem broker, local files) and "services"
(PostgreSQL, Redis, S3 on moto's server). Under CI=true a service that cannot be reached fails the test;
elsewhere it is skipped with the reason."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CI = os.environ.get("CI", "").lower() == "true"
SERVICE_URLS = {
    "postgres": os.environ.get("CLASSLAB_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"),
    "redis": os.environ.get("CLASSLAB_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
    "amqp": os.environ.get("CLASSLAB_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//"),
}


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


def _redis_for_this_worker(url: str) -> str:
    """Under pytest-xdist each worker process gets a Redis database of its own (gw0 → 1, gw1 → 2, …): a Celery
    worker one test starts must never take a task another test queued at the same moment."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw"):
        return url
    parts = urlsplit(url)
    return parts._replace(path=f"/{int(worker[2:]) + 1}").geturl()


def require_service(name: str) -> str:
    url = SERVICE_URLS[name]
    if name == "redis":
        url = _redis_for_this_worker(url)
    if name not in _checked:
        _checked[name] = _reachable(name, url)
    problem = _checked[name]
    if problem:
        message = f"{name} at {url} is unreachable: {problem}"
        if CI:
            pytest.fail(f"{message} (CI=true: real services are required)")
        pytest.skip(message)
    return url


def reset_postgres(url: str) -> None:
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
        reset_postgres(pg)
        env["DATABASE_URL"] = pg
        env["BROKER_URL"] = require_service("redis")
        endpoint = request.getfixturevalue("s3_endpoint")
        bucket = f"classlab-{uuid.uuid4().hex[:12]}"
        env.update(STORAGE_URL=f"s3://{bucket}", S3_ENDPOINT_URL=endpoint,
                   S3_ACCESS_KEY_ID="classlab-test", S3_SECRET_ACCESS_KEY="classlab-test")
    return env
