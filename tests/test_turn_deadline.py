"""A turn that misses its deadline: the caller hears the emergency words from memory, and
the conversation does not move on behind their back (intake/infra/deadline.py)."""

from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from intake.app import create_app
from intake.channels.fallbacks import LATE_REPLY
from intake.channels.voice import fallback as voice_fallback
from intake.core import outbox
from intake.core.models import Caller, Message, Outbound
from intake.infra import db
from intake.infra.config import ConfigError, Settings
from intake.infra.deadline import THREADS, TooLate
from intake.simulator import phone as simulator
from tests.conftest import (
    Phone,
    empty_database,
    make_settings,
    postgres_only,
    signed_post,
)
from tests.test_worker import wait_for

FIRST = "my son is missing"


@pytest.fixture
def app(db_url, tmp_path):
    """A line whose webhooks wait one second for the database."""
    settings = make_settings(db_url, tmp_path, answer_within=timedelta(seconds=1))
    app = create_app(settings)
    yield app
    app.extensions["intake"].db.dispose()


@pytest.fixture
def phone(app):
    return Phone(app, app.extensions["intake"].settings)


@contextmanager
def caller_held(db_url: str, number: str | None):
    """Another transaction holds the caller's row (PostgreSQL; every caller's with no
    number: the table) or the write lock (SQLite)."""
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        conn = sqlite3.connect(url.database, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            conn.execute("ROLLBACK")
            conn.close()
        return
    engine = create_engine(db_url)
    with engine.connect() as conn:
        if number is None:
            conn.execute(text("LOCK TABLE callers IN EXCLUSIVE MODE"))
        else:
            conn.execute(text("SELECT id FROM callers WHERE phone = :p FOR UPDATE"), {"p": number})
        try:
            yield
        finally:
            conn.rollback()
    engine.dispose()


@contextmanager
def caller_held_for(db_url: str, number: str, seconds: float):
    """As caller_held, released after `seconds`: after the deadline, before lock_timeout."""
    held, done = threading.Event(), threading.Event()

    def hold():
        with caller_held(db_url, number):
            held.set()
            done.wait(seconds)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(10)
    try:
        yield
    finally:
        holder.join()


def fallback(line, body: str) -> list[str]:
    """The emergency words from memory, as the caller would read them."""
    from intake.channels.sms import fallback_twiml

    return simulator.message_bodies(fallback_twiml(line, body))


def kept(line, sid: str) -> Message | None:
    with line.db.sessions() as s:
        return s.scalar(select(Message).where(Message.twilio_sid == sid))


def state_of(line, number: str) -> tuple[dict, int]:
    with line.db.sessions() as s:
        caller = s.scalar(select(Caller).where(Caller.phone == number))
        count = len(s.scalars(select(Message).where(Message.caller_id == caller.id)).all())
        return caller.state, count


def test_a_turn_past_its_deadline_answers_from_memory_and_changes_nothing(app, db_url, phone):
    line = app.extensions["intake"]
    question = phone.reply(FIRST)
    before = state_of(line, phone.number)
    with caller_held(db_url, phone.number):
        answered = phone.text("Sam")
        sid = phone.sent[-1]["MessageSid"]
    assert answered == fallback(line, "Sam")
    assert "1-800-843-5678" in answered[0]
    wait_for(lambda: kept(line, sid) is not None, 30)  # the words are kept once it can
    wait_for(lambda: line.turns.pending() == 0, 30)
    state, count = state_of(line, phone.number)
    assert state == before[0]  # the conversation did not move on from "Sam"
    assert count == before[1] + 1  # only the words came in; no answer to them went out
    words = kept(line, sid)
    assert words.body == "Sam" and words.step is None
    # the caller texts again and the line picks up where they last saw it
    again = phone.reply("Sam")
    assert again != question and again not in fallback(line, "Sam")
    assert state_of(line, phone.number)[0] != before[0]


def test_a_retry_of_a_text_answered_from_memory_gets_the_same_words(app, db_url, phone):
    line = app.extensions["intake"]
    phone.reply(FIRST)
    with caller_held(db_url, phone.number):
        first = phone.text("Sam")
    sid = phone.sent[-1]["MessageSid"]
    wait_for(lambda: kept(line, sid) is not None, 30)
    before = state_of(line, phone.number)
    response = phone.post(phone.sent[-1])  # Twilio sends the same MessageSid again
    assert simulator.message_bodies(response.get_data(as_text=True)) == first
    assert state_of(line, phone.number) == before


SLOW_COMMIT = """
CREATE OR REPLACE FUNCTION intake_test_slow_commit() RETURNS trigger AS $$
BEGIN PERFORM pg_sleep(2.5); RETURN NULL; END $$ LANGUAGE plpgsql;
CREATE CONSTRAINT TRIGGER intake_test_slow_commit AFTER INSERT ON messages
DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.step IS NOT NULL)
EXECUTE FUNCTION intake_test_slow_commit();
"""


@pytest.fixture
def slow_commit_db(request, tmp_path, sqlite_template):
    """PostgreSQL where a COMMIT with an answer to a question takes 2.5 s (a deferred trigger)."""
    url = empty_database(request, "postgres", tmp_path, sqlite_template)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(SLOW_COMMIT)
    yield url
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER intake_test_slow_commit ON messages")
        conn.exec_driver_sql("DROP FUNCTION intake_test_slow_commit()")
    engine.dispose()


@pytest.mark.parametrize("server", postgres_only())
def test_a_commit_that_ends_after_the_fallback_sends_the_unseen_reply(
    server, slow_commit_db, tmp_path
):
    settings = make_settings(slow_commit_db, tmp_path, answer_within=timedelta(seconds=1))
    app = create_app(settings)
    line = app.extensions["intake"]
    try:
        phone = Phone(app, settings)
        phone.reply(FIRST)
        answered = phone.text("Sam")  # its COMMIT outlasts the deadline and the grace
        sid = phone.sent[-1]["MessageSid"]
        assert answered == fallback(line, "Sam")

        def queued():
            with line.db.sessions() as s:
                return s.scalar(select(Outbound).where(Outbound.kind == LATE_REPLY))

        wait_for(lambda: queued() is not None, 30)
        reply = simulator.message_bodies(kept(line, sid).reply_twiml)
        assert queued().body == "\n\n".join(reply) and queued().to_phone == phone.number
        assert reply != answered  # the conversation moved on, and the caller is told how
    finally:
        line.db.dispose()


def test_a_call_past_its_deadline_hears_the_safety_words_from_memory(app, db_url, phone):
    line = app.extensions["intake"]
    phone.reply(FIRST)  # the caller's row exists: a call locks it like a text does
    params = simulator.call_params(phone.number, "CA" + "4" * 32)
    with caller_held_for(db_url, phone.number, 3):  # a turn waiting would be answered
        response = signed_post(app, "/twilio/voice", params)
    assert response.status_code == 200
    assert response.get_data(as_text=True) == voice_fallback(line)


def test_a_text_finding_every_turn_thread_stuck_is_answered_from_memory(app, phone):
    line = app.extensions["intake"]
    phone.reply(FIRST)
    unstick = threading.Event()

    def stuck_turn():
        with pytest.raises(TooLate):
            line.turns.run(lambda session: unstick.wait(30))

    stuck = [threading.Thread(target=stuck_turn) for _ in range(THREADS)]
    for thread in stuck:
        thread.start()
    for thread in stuck:
        thread.join()
    try:
        assert phone.text("Sam") == fallback(line, "Sam")
    finally:
        unstick.set()
    wait_for(lambda: kept(line, phone.sent[-1]["MessageSid"]) is not None, 30)
    assert phone.text("Sam") != fallback(line, "Sam")  # threads free again: answered


@pytest.mark.parametrize("value", ["0s", "4s", "1m", "soon"])
def test_the_answer_deadline_must_leave_time_for_twilio(tmp_path, value):
    env = {"INTAKE_INSTANCE_DIR": str(tmp_path), "INTAKE_ANSWER_WITHIN": value}
    with pytest.raises(ConfigError) as error:
        Settings.from_env(env)
    assert str(error.value).count("INTAKE_ANSWER_WITHIN") == 1


def test_the_answer_deadline_defaults_to_three_seconds(tmp_path):
    settings = Settings.from_env({"INTAKE_INSTANCE_DIR": str(tmp_path)})
    assert settings.answer_within == timedelta(seconds=3)
    env = {"INTAKE_INSTANCE_DIR": str(tmp_path), "INTAKE_ANSWER_WITHIN": "2s"}
    assert Settings.from_env(env).answer_within == timedelta(seconds=2)


@contextmanager
def everything_held_for(db_url: str, seconds: float):
    """Every write waits `seconds`, longer than the database's own lock_timeout: an
    ACCESS EXCLUSIVE lock on the outbox (PostgreSQL), the write lock (SQLite)."""
    held, done = threading.Event(), threading.Event()

    def hold():
        url = make_url(db_url)
        if url.get_backend_name() == "sqlite":
            with caller_held(db_url, ""):
                held.set()
                done.wait(seconds)
            return
        engine = create_engine(db_url)
        with engine.begin() as conn:
            conn.execute(text("LOCK TABLE outbox IN ACCESS EXCLUSIVE MODE"))
            held.set()
            done.wait(seconds)
        engine.dispose()

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(10)
    try:
        yield
    finally:
        holder.join()


def test_a_delivery_report_the_database_cannot_take_yet_is_recorded_later(app, db_url):
    line = app.extensions["intake"]
    with line.db.transaction() as s:
        row = outbox.enqueue(
            s, kind="relay", to="+12125550199", body="hi", send_at=line.clock.now(), channel="sms"
        )
        s.flush()
        row.status, row.twilio_sid, outbox_id = "sent", "SM" + "b" * 32, row.id
    params = {"MessageSid": "SM" + "b" * 32, "MessageStatus": "delivered"}
    with everything_held_for(db_url, 5):  # longer than lock_timeout: a waiting report fails
        response = signed_post(app, f"/twilio/status?outbox={outbox_id}", params)
        assert response.status_code == 204

    def delivered():
        with line.db.sessions() as s:
            return s.get(Outbound, outbox_id).delivery_status == "delivered"

    wait_for(delivered, 30)


def test_a_stop_answered_from_memory_still_stops_the_follow_ups(app, db_url, phone):
    """A caregiver who texts STOP while the database hangs gets no more tips after it."""
    from tests.test_sms_webhook import ANSWERS

    line = app.extensions["intake"]
    for body in [FIRST, *ANSWERS, "skip", "same"]:
        phone.reply(body)
    pending = select(Outbound).where(
        Outbound.to_phone == phone.number, Outbound.status == "pending"
    )
    with line.db.sessions() as s:
        assert s.scalars(pending).all(), "the intake planned follow-ups"
    with caller_held(db_url, phone.number):
        assert phone.text("STOP") == []  # never answered: the carrier confirms STOP itself
    wait_for(lambda: line.turns.pending() == 0, 30)
    with line.db.sessions() as s:
        assert s.scalars(pending).all() == []
        caller = s.scalar(select(Caller).where(Caller.phone == phone.number))
        assert caller.opted_out_at is not None


@pytest.fixture
def pg_line(request, tmp_path, sqlite_template):
    """A line on PostgreSQL, and a way to close its pooled connections from the server."""
    url = empty_database(request, "postgres", tmp_path, sqlite_template)
    app = create_app(make_settings(url, tmp_path, answer_within=timedelta(seconds=1)))
    admin = create_engine(url)

    def kill_pooled_connections() -> None:
        with admin.begin() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )

    yield app, kill_pooled_connections
    app.extensions["intake"].db.dispose()
    admin.dispose()


@pytest.mark.parametrize("server", postgres_only())
def test_a_pooled_connection_the_server_closed_loses_no_text(server, pg_line):
    app, kill_pooled_connections = pg_line
    line = app.extensions["intake"]
    phone = Phone(app, line.settings)
    question = phone.reply(FIRST)
    kill_pooled_connections()  # a restart or a proxy's cut: the pool does not know yet
    answered = phone.text("Sam")
    sid = phone.sent[-1]["MessageSid"]
    assert answered  # the next question, or the emergency words from memory
    wait_for(lambda: kept(line, sid) is not None, 30)
    wait_for(lambda: line.turns.pending() == 0, 30)
    assert phone.reply("Sam") not in (question, *fallback(line, "Sam"))


@pytest.mark.parametrize("server", postgres_only())
def test_a_pooled_connection_idle_past_the_ping_age_is_checked_before_the_turn(
    server, pg_line, monkeypatch
):
    app, kill_pooled_connections = pg_line
    line = app.extensions["intake"]
    phone = Phone(app, line.settings)
    question = phone.reply(FIRST)
    monkeypatch.setattr(db, "PING_AFTER_IDLE", 0.0)  # every pooled connection counts as idle
    kill_pooled_connections()
    answered = phone.text("Sam")
    assert answered != fallback(line, "Sam") and answered != question  # the dead one was replaced
