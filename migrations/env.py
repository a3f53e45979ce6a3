"""Alembic environment: the database URL comes from ClassLab's settings (or the caller's config)."""

from alembic import context

import app.models  # noqa: F401,E402 - fills Base.metadata
from app import db
from app.config import load_settings
from app.db import Base
from app.migrate import include_object

config = context.config
url = config.attributes.get("database_url") or load_settings().database_url


def run_migrations_offline() -> None:
    context.configure(url=db.normalise_url(url), target_metadata=Base.metadata, literal_binds=True,
                      render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = db.get_engine(url)
    with engine.connect() as connection:
        # Batch mode lets ALTER TABLE migrations run on SQLite too.
        context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True,
                          compare_type=True, include_object=include_object)
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
