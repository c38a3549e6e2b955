"""The migrations build exactly the schema the models describe, and can be undone."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.orm import Session

from intake.core.models import Base, Case
from intake.domain.enums import Medium
from intake.infra.migrate import alembic_config, upgrade
from intake.staff import casefile


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


def _at(minute: int) -> datetime:
    return datetime(2026, 12, 7, 7, minute, tzinfo=UTC)  # 02:xx in New York


def test_an_alert_paged_before_0019_keeps_its_history_after_it(db_url):
    """Pages sent before 0019 wrote no escalation log: 0019 writes it from the alert, its
    pages and what Twilio said of them, so the old case's timeline still says who was
    texted and called, who did not answer, and who took it, at the times it happened."""
    config = alembic_config(db_url)
    command.downgrade(config, "0018")
    engine = create_engine(db_url)
    with engine.begin() as conn:
        stored_before_0019(conn)
    upgrade(db_url)
    with engine.connect() as conn:
        log = conn.execute(
            text(
                "SELECT alert_id, person_id, action, detail, created_at FROM escalation_log"
                " ORDER BY alert_id, created_at, id"
            )
        ).all()
    assert [(alert, person, action, detail) for alert, person, action, detail, _ in log] == [
        (1, None, "started", "intake"),
        (1, 1, "texted", ""),
        (1, 1, "called", ""),
        (1, 1, "no_answer", ""),
        (1, 2, "texted", ""),
        (1, None, "fallback", ""),
        (1, 2, "took", ""),
        (2, None, "started", "asked"),
        (2, None, "fallback", "nobody on call"),
    ]
    with Session(engine) as session:
        case = session.get(Case, 1)
        shown = [
            (item.shown_at, item.who, item.text)
            for item in casefile.timeline(session, case, ZoneInfo("America/New_York"))
            if item.kind == "escalation"
        ]
    assert shown == [
        ("2026-12-07 02:10 EST", "Line", "alert started (intake)"),
        ("2026-12-07 02:14 EST", "Line", "texted Dana"),
        ("2026-12-07 02:19 EST", "Line", "called Dana"),
        ("2026-12-07 02:19 EST", "Line", "called Dana, no answer"),
        ("2026-12-07 02:24 EST", "Line", "texted Sam"),
        ("2026-12-07 02:29 EST", "Line", "texted the fallback number"),
        ("2026-12-07 02:31 EST", "Sam", "Sam took it"),
    ]
    command.downgrade(config, "0018")  # and back: the log goes, the pages stay
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM alert_pages")) == 5
    upgrade(db_url)
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM escalation_log")) == len(log)
    engine.dispose()


def stored_before_0019(conn, nothing: str = "{}") -> None:
    """Case 1: Dana texted at 02:14, called at 02:19 (no answer), Sam texted at 02:24, the
    fallback at 02:29, Sam took it at 02:31. Case 2: nobody on call, the fallback told.
    `nothing` is an empty encrypted JSON value as stored (the line's cipher text of {})."""
    people = "INSERT INTO oncall_people (id, name, phone, reach_by, windows, position, active,"
    people += " created_at) VALUES (:id, :name, :phone, 'both', '[]', :id, true, :at)"
    for id_, name, phone in ((1, "Dana", "+15550100001"), (2, "Sam", "+15550100002")):
        conn.execute(text(people), {"id": id_, "name": name, "phone": phone, "at": _at(0)})
    conn.execute(
        text(
            "INSERT INTO callers (id, phone, lang, state, created_at, updated_at)"
            " VALUES (1, '+12125550199', 'en', :nothing, :at, :at)"
        ),
        {"at": _at(0), "nothing": nothing},
    )
    conn.execute(
        text(
            "INSERT INTO cases (id, ref, caller_id, status, lang, channel, assigned_person_id,"
            " created_at) VALUES (1, 'K7Q2M9', 1, 'open', 'en', 'sms', 2, :at),"
            " (2, 'K7Q2M8', 1, 'open', 'en', 'sms', NULL, :at)"
        ),
        {"at": _at(0)},
    )
    conn.execute(
        text(
            "INSERT INTO alerts (id, case_id, reason, status, chain, step, round, next_check_at,"
            " acked_by_id, acked_at, created_at) VALUES"
            " (1, 1, 'intake', 'acked', '[1, 2]', 1, 0, NULL, 2, :acked, :started),"
            " (2, 2, 'asked', 'open', '[]', 0, 0, NULL, NULL, NULL, :started)"
        ),
        {"started": _at(10), "acked": _at(31)},
    )
    outbox = (
        "INSERT INTO outbox (id, kind, channel, to_phone, template, params, lang, case_id,"
        " send_at, status, attempts, delivery_status, created_at, sent_at, unsure) VALUES"
        " (:id, :kind, :channel, :to, :template, :nothing, 'en', NULL, :at, 'sent', 1, :said, :at,"
        " :at, false)"
    )
    pages = "INSERT INTO alert_pages (id, alert_id, person_id, outbox_id, to_phone, channel,"
    pages += " created_at) VALUES (:id, :alert, :person, :id, :to, :channel, :at)"
    sent = (  # alert, person, number, channel, kind, template, what Twilio said, minute
        (1, 1, "+15550100001", "sms", "alert", "oncall_alert", "delivered", 14),
        (1, 1, "+15550100001", "voice", "alert_call", None, "no-answer", 19),
        (1, 2, "+15550100002", "sms", "alert", "oncall_alert", "delivered", 24),
        (1, None, "+15550100009", "sms", "alert", "oncall_alert_fallback", "sent", 29),
        (2, None, "+15550100009", "sms", "alert", "oncall_alert_empty", "sent", 11),
    )
    for id_, (alert, person, to, channel, kind, template, said, minute) in enumerate(sent, 1):
        row = {"id": id_, "alert": alert, "person": person, "to": to, "channel": channel}
        row |= {"kind": kind, "template": template, "said": said, "at": _at(minute)}
        row["nothing"] = nothing
        conn.execute(text(outbox), row)
        conn.execute(text(pages), row)
