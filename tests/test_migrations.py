"""The migrations build exactly the schema the models describe, and can be undone."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from intake.migrate import alembic_config, upgrade
from intake.models import Base


def test_the_migrated_schema_matches_the_models(db_url):
    engine = create_engine(db_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    engine.dispose()


def test_migrations_go_down_and_up_again(db_url):
    config = alembic_config(db_url)
    command.downgrade(config, "base")
    engine = create_engine(db_url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade(db_url)
    assert {"callers", "cases", "messages", "outbox", "alerts"} <= set(
        inspect(engine).get_table_names()
    )
    engine.dispose()
