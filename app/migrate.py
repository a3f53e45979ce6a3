"""Alembic, driven from Python: `classlab db upgrade` and the tests call these."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

import migrations
from app import db


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Full-text search structures live in migrations only; autogenerate must leave them alone."""
    if type_ == "table" and name and name.startswith("transcript_fts"):
        return False
    if type_ == "index" and name == "ix_transcript_segment_fts":
        return False
    return True


def alembic_config(database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(migrations.__file__).parent))
    cfg.attributes["database_url"] = database_url
    return cfg


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def current(database_url: str) -> str | None:
    with db.get_engine(database_url).connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head(database_url: str) -> str | None:
    return ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()
