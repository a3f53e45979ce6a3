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

from tests.processes import free_port
from tests.stacks import make_settings, require_service

os.environ.setdefault("AWS_ACCESS_KEY_ID", "classlab-test")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "classlab-test")


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
