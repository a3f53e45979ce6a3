"""`classlab db upgrade` on SQLite and PostgreSQL: idempotent, and the migrations match the models."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

import app.models  # noqa: F401
from app import db, migrate
from app.db import Base
from tests.processes import classlab


def test_cli_upgrade_twice_reaches_head(stack, settings):
    first = classlab(stack, "db", "upgrade")
    second = classlab(stack, "db", "upgrade")
    head = migrate.head(settings.database_url)
    assert f"Database at revision {head}." in first.stdout
    assert f"Database at revision {head}." in second.stdout
    assert migrate.current(settings.database_url) == head
    current = classlab(stack, "db", "current").stdout
    assert f"current: {head}  head: {head}" in current


def test_migrations_create_exactly_the_models(stack, settings):
    migrate.upgrade(settings.database_url)
    engine = db.get_engine(settings.database_url)
    with engine.connect() as conn:
        opts = {"compare_type": True, "include_object": migrate.include_object}
        diff = compare_metadata(MigrationContext.configure(conn, opts=opts), Base.metadata)
        tables = set(inspect(conn).get_table_names())
    assert diff == [], f"models and migrations differ: {diff}"
    assert set(Base.metadata.tables) <= tables
    db.dispose_all()
