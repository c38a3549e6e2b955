"""Alembic, driven from code: `intake db upgrade`, the readiness check and the tests."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from cryptography.fernet import MultiFernet
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from intake.infra.db import DatabaseBusy, describe_failure, make_engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
UPGRADE = "run `intake db upgrade`"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


@dataclass(frozen=True)
class Upgraded:
    """The database's migration before and after an upgrade (None: it had no tables)."""

    before: str | None
    after: str | None


def upgrade(database_url: str, revision: str = "head", keys: MultiFernet | None = None) -> Upgraded:
    """Bring the schema up to date (idempotent); `keys` encrypt rows stored in clear (0007)."""
    config = alembic_config(database_url)
    config.attributes["data_keys"] = keys
    before = current_revision(database_url)
    command.upgrade(config, revision)
    return Upgraded(before, current_revision(database_url))


def current_revision(database_url: str) -> str | None:
    """The migration the database is at; None before the first."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


@cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory(str(MIGRATIONS))


@cache
def head_revision() -> str:
    """The newest migration this code ships (read from the scripts once per process)."""
    return _scripts().get_current_head()


def _known(revision: str) -> bool:
    return revision in {script.revision for script in _scripts().walk_revisions()}


@dataclass(frozen=True)
class Readiness:
    """Whether the database answers and is at the newest migration; a sentence if not."""

    database: str  # ok | unavailable
    schema: str  # ok | not migrated | out of date | unknown
    problem: str | None = None

    @property
    def ready(self) -> bool:
        return self.problem is None


def readiness(engine: Engine) -> Readiness:
    """Ask the database for its Alembic revision (one short query) and compare with ours."""
    try:
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
    except SQLAlchemyError as error:
        return Readiness("unavailable", "unknown", describe_failure(error, engine.url))
    except DatabaseBusy:
        return Readiness("unavailable", "unknown", "The database is busy and did not answer.")
    if current is None:
        return Readiness("ok", "not migrated", f"The database has no tables yet: {UPGRADE}.")
    if current == head_revision():
        return Readiness("ok", "ok")
    if not _known(current):
        return Readiness(
            "ok",
            "out of date",
            f"The database is at migration {current}, which this code does not know: "
            "it was migrated by newer code.",
        )
    return Readiness(
        "ok",
        "out of date",
        f"The database is at migration {current}, not the latest ({head_revision()}): {UPGRADE}.",
    )
