"""Engine, session and declarative base.

Plain SQLAlchemy (no Flask-SQLAlchemy) so that the web app, the CLI and the Celery workers share one
session factory and `service.py` functions never depend on Flask.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import DateTime, MetaData, String, create_engine, event, make_url
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, scoped_session, sessionmaker
from sqlalchemy.types import TypeDecorator

# Deterministic constraint names, so Alembic migrations behave the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator):
    """Stores UTC; always hands back timezone-aware datetimes (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def new_public_id() -> str:
    """24 random hex digits: ids in URLs are random, so nobody reaches an object by counting."""
    return secrets.token_hex(12)


class PublicId:
    """A mixin for whatever a URL names: `public_id`, random and unique. Load such an object with
    `app.authz.load(session, actor, Model, public_id, action)`, which also authorizes it."""

    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)


# Ids (and positions, versions, counts) are INTEGER columns: 32 bits on PostgreSQL, which refuses a larger
# number in a query with an error (SQLite would take 64). A larger number from a URL, a form or a JSON body is
# nobody's id, and is answered as one (404, or 422 naming the field) before any query.
MAX_ID = 2**31 - 1
# Sizes and offsets in bytes are BIGINT columns.
MAX_BIGINT = 2**63 - 1


def utcnow() -> datetime:
    return datetime.now(UTC)


session_factory = sessionmaker(expire_on_commit=False)
# One session per thread (a web request, a CLI command, a Celery task); removed at the end of each.
Session_ = scoped_session(session_factory)
_engines: dict[str, Engine] = {}


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    # WAL lets the web app read while a worker writes; busy_timeout waits instead of failing.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def get_engine(url: str) -> Engine:
    url = normalise_url(url)
    engine = _engines.get(url)
    if engine is None:
        if url.startswith("sqlite"):
            database = make_url(url).database
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url, connect_args={"timeout": 10})
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = create_engine(url, pool_pre_ping=True)
        _engines[url] = engine
    return engine


def bind(url: str) -> Engine:
    """Point the session factory at the database at `url`."""
    engine = get_engine(url)
    Session_.remove()
    session_factory.configure(bind=engine)
    return engine


def session() -> Session:
    return Session_()


@contextmanager
def session_scope() -> Iterator[Session]:
    """A unit of work of its own (CLI, workers, pipeline steps): commit on success, roll back on error.
    Independent of the thread's scoped session, so it never closes a session a caller still holds."""
    s = session_factory()
    try:
        yield s
        s.commit()
    except Exception:
        s.rollback()
        raise
    finally:
        s.close()


def normalise_url(url: str) -> str:
    """postgresql:// means psycopg 3 here (the driver we install)."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://"):]
    if url.startswith("postgres://"):
        return "postgresql+psycopg://" + url[len("postgres://"):]
    return url


def dispose_all() -> None:
    """Close every pooled connection (tests between databases; a worker after fork)."""
    Session_.remove()
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()
