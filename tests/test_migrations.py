"""The migrations build exactly the schema the models describe, and can be undone."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from intake.domain import Medium
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


def test_a_call_stored_as_call_reads_as_voice_after_0018(db_url):
    """Before 0018 the outbox, pages and roster wrote "call" where cases wrote "voice": the
    rows kept then say "voice" after it (one word for a call), and "call" again below it."""
    config = alembic_config(db_url)
    command.downgrade(config, "0014")
    engine = create_engine(db_url)
    now = "2026-12-07 02:00:00"
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO oncall_people (id, name, phone, reach_by, windows, position, active,"
                " created_at) VALUES (1, 'Ana', '+15550100001', 'call', '[]', 1, true, :now)"
            ),
            {"now": now},
        )
        conn.execute(
            text(
                "INSERT INTO outbox (id, kind, channel, to_phone, params, lang, send_at, status,"
                " attempts, created_at, unsure) VALUES (1, 'alert_call', 'call', '+15550100001',"
                " '{}', 'en', :now, 'sent', 0, :now, false), (2, 'followup', 'sms',"
                " '+15550100002', '{}', 'en', :now, 'pending', 0, :now, false)"
            ),
            {"now": now},
        )
    upgrade(db_url)
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT reach_by FROM oncall_people")) == Medium.VOICE
        channels = conn.execute(text("SELECT channel FROM outbox ORDER BY id")).scalars().all()
        assert channels == [Medium.VOICE, Medium.SMS]
    command.downgrade(config, "0014")
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT channel FROM outbox WHERE id = 1")) == "call"
    upgrade(db_url)
    engine.dispose()
