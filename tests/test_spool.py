"""A text answered from memory is on the host's disk before the answer goes out, and gets
into the database once, with its case and its alert, whichever process replays it
(intake/infra/spool.py, intake/channels/fallbacks.py). Real gunicorn restarts:
tests/test_spool_restart.py.
"""

from __future__ import annotations

import multiprocessing
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from intake import scheduler
from intake.app import create_app
from intake.channels import fallbacks
from intake.channels.sms import InboundSms
from intake.core.line import Line
from intake.core.models import Alert, Caller, Case, Message
from intake.infra import spool
from intake.infra.transport import LocalTransport
from intake.oncall import roster
from intake.simulator import phone as simulator
from tests.conftest import Phone, make_settings, signed_post
from tests.test_turn_deadline import caller_held
from tests.test_worker import wait_for

NUMBER = "+12125550142"
WORDS = "my daughter is missing"
ON_CALL = "+12125550111"


@pytest.fixture
def app(db_url, tmp_path):
    """A line whose webhooks wait one second for the database, with someone on call."""
    app = create_app(make_settings(db_url, tmp_path, answer_within=timedelta(seconds=1)))
    line = app.extensions["intake"]
    with line.db.transaction() as session:
        roster.add(session, "Ana Ruiz", ON_CALL)
    yield app
    line.db.dispose()


@pytest.fixture
def line(app) -> Line:
    return app.extensions["intake"]


@pytest.fixture
def phone(app, line):
    return Phone(app, line.settings, number=NUMBER)


def database_held(db_url: str):
    """No text can be stored: SQLite's write lock, or PostgreSQL's callers table, held."""
    return caller_held(db_url, None)


def stored(line: Line) -> tuple[list[Message], list[Case], list[Alert]]:
    with line.db.sessions() as s:
        return (
            list(s.scalars(select(Message))),
            list(s.scalars(select(Case))),
            list(s.scalars(select(Alert))),
        )


def test_a_text_answered_from_memory_is_on_disk_before_the_answer_then_stored_once(
    db_url, line, phone
):
    with database_held(db_url):
        answered = phone.text(WORDS)
        sid = phone.sent[-1]["MessageSid"]
        assert "1-800-843-5678" in answered[0]
        assert line.spool.count() == 1  # on disk while the database still does not answer
        files = [line.spool.path, *line.spool.path.parent.glob(spool.FILE + "-*")]
        assert {stat.S_IMODE(f.stat().st_mode) for f in files} == {0o600}
        assert stat.S_IMODE(line.spool.path.parent.stat().st_mode) == 0o700
        on_disk = b"".join(f.read_bytes() for f in files)
        assert sid.encode() in on_disk  # the key is in clear; the caller's data is not
        assert b"daughter" not in on_disk and b"5550142" not in on_disk
    wait_for(lambda: line.spool.count() == 0, 30)  # replayed once the database answers
    messages, cases, alerts = stored(line)
    assert [(m.twilio_sid, m.body) for m in messages] == [(sid, WORDS)]
    assert simulator.message_bodies(messages[0].reply_twiml) == answered
    [case] = cases
    assert (case.status, case.reported_missing, messages[0].case_id) == ("intake", True, case.id)
    assert [(a.case_id, a.reason) for a in alerts] == [(case.id, fallbacks.FROM_MEMORY)]
    with line.db.sessions() as s:  # the conversation stays where the caller saw it
        assert s.scalar(select(Caller.state).where(Caller.phone == NUMBER)) == {}


def test_a_text_replayed_again_is_still_stored_once(db_url, line, phone):
    with database_held(db_url):
        phone.text(WORDS)
    wait_for(lambda: line.spool.count() == 0, 30)
    before = stored(line)
    [message] = before[0]
    # what a process killed between the COMMIT and the delete leaves in the spool
    sms = InboundSms(message.twilio_sid, NUMBER, WORDS)
    line.spool.put(fallbacks.spool_key(sms.sid), fallbacks._sms_data(sms, message.reply_twiml))
    assert fallbacks.replay_all(line).stored == 1
    after = stored(line)
    assert [len(rows) for rows in after] == [len(rows) for rows in before] == [1, 1, 1]
    assert line.spool.count() == 0


def test_the_worker_replays_what_a_stopped_web_process_left(db_url, tmp_path, line):
    sms = InboundSms("SM" + "5" * 32, NUMBER, WORDS, meta={"From": NUMBER})
    answered = "<Response><Message>call the police</Message></Response>"
    for _ in range(2):  # a retry of the same text is spooled once
        line.spool.put(fallbacks.spool_key(sms.sid), fallbacks._sms_data(sms, answered))
    assert line.spool.count() == 1
    worker = Line.build(line.settings)  # another process on the same host
    try:
        scheduler.dispatch_job(worker, LocalTransport())  # one tick, as at its start
    finally:
        worker.db.dispose()
    messages, cases, alerts = stored(line)
    assert [(m.twilio_sid, m.body) for m in messages] == [(sms.sid, WORDS)]
    assert len(cases) == len(alerts) == 1 and line.spool.count() == 0


def test_the_caregivers_next_text_starts_the_intake_and_takes_the_alert(db_url, line, phone):
    with database_held(db_url):
        phone.text(WORDS)
    wait_for(lambda: line.spool.count() == 0, 30)
    question = phone.text("my daughter Ana is missing")
    assert "1-800-843-5678" in question[0] and question[-1].endswith("Reply YES or NO.")
    _, cases, alerts = stored(line)
    statuses = sorted((c.status, c.id) for c in cases)
    assert [s for s, _ in statuses] == ["abandoned", "intake"]
    new = max(c.id for c in cases)
    assert [(a.case_id, a.reason) for a in alerts] == [(new, fallbacks.FROM_MEMORY)]


def test_a_hello_answered_from_memory_leaves_a_case_but_wakes_nobody(db_url, line, phone):
    with database_held(db_url):
        phone.text("hello")
    wait_for(lambda: line.spool.count() == 0, 30)
    _, cases, alerts = stored(line)
    assert len(cases) == 1 and not cases[0].reported_missing and alerts == []


def test_a_spool_that_cannot_be_written_still_answers_and_keeps_the_text(db_url, tmp_path):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")  # the spool's folder cannot be made under a file
    settings = make_settings(
        db_url, tmp_path, answer_within=timedelta(seconds=1), spool_dir=blocked / "spool"
    )
    app = create_app(settings)
    line = app.extensions["intake"]
    phone = Phone(app, settings, number=NUMBER)
    try:
        with database_held(db_url):
            assert "1-800-843-5678" in phone.text(WORDS)[0]
        sid = phone.sent[-1]["MessageSid"]
        wait_for(lambda: [m.twilio_sid for m in stored(line)[0]] == [sid], 30)
    finally:
        line.db.dispose()


def test_a_new_callers_call_answered_from_memory_wakes_someone_once(app, db_url, line):
    from intake.channels.voice import fallback as voice_fallback

    sid = "CA" + "6" * 32
    params = simulator.call_params(NUMBER, sid)
    with database_held(db_url):
        for _ in range(2):  # the call, and a retry of its webhook: one spooled call
            response = signed_post(app, "/twilio/voice", params)
            assert response.get_data(as_text=True) == voice_fallback(line)
        assert line.spool.count() == 1
    wait_for(lambda: line.spool.count() == 0, 30)
    messages, cases, alerts = stored(line)
    assert [m.twilio_sid for m in messages] == [sid]
    assert [(c.channel, c.status) for c in cases] == [("voice", "intake")]
    assert [a.reason for a in alerts] == [fallbacks.CALL_FROM_MEMORY]


def _put_many(folder: str, key: bytes, prefix: str, count: int, start) -> None:
    """In a process of its own, as a gunicorn worker: 4 request threads, each with its own
    connection to the spool, answer `count` texts from memory between them."""
    import threading

    from cryptography.fernet import Fernet, MultiFernet

    box = spool.Spool(Path(folder), MultiFernet([Fernet(key)]))
    failed: list[BaseException] = []

    def thread(t: int) -> None:
        try:
            for n in range(t, count, 4):
                box.put(f"sms:{prefix}{n}", {"body": "my daughter is missing"})
        except BaseException as error:  # noqa: BLE001 - reported by the exit code
            failed.append(error)

    start.wait()
    threads = [threading.Thread(target=thread, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failed:
        raise failed[0]


def test_processes_writing_to_a_new_spool_at_once_lose_nothing(tmp_path):
    """gunicorn's workers answer their first texts from memory at the same moment: each
    thread opens the new spool file and turns WAL on while the others write. None may
    lose a text (a fresh-clone CI run saw `spool.not_written` on the first one)."""
    from cryptography.fernet import Fernet, MultiFernet

    key = Fernet.generate_key()
    folder = tmp_path / "spool"
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    writers = [
        context.Process(target=_put_many, args=(str(folder), key, f"w{i}-", 25, start))
        for i in range(4)
    ]
    for writer in writers:
        writer.start()
    start.set()
    for writer in writers:
        writer.join(60)
    assert [writer.exitcode for writer in writers] == [0, 0, 0, 0]
    assert spool.Spool(folder, MultiFernet([Fernet(key)])).count() == 100


def test_a_stop_from_a_worker_answered_from_memory_hands_their_case_back(app, db_url, line, phone):
    phone.text(WORDS)  # (a cold first turn may miss its second: then it is replayed)
    wait_for(lambda: line.spool.count() == 0, 30)
    with line.db.sessions() as s:
        ref = s.scalars(select(Case)).one().ref
    ana = Phone(app, line.settings, number=ON_CALL)
    ana.text(f"TAKE {ref}")
    with line.db.sessions() as s:
        assert s.scalars(select(Case)).one().assigned_person_id is not None
    with database_held(db_url):
        assert ana.text("STOP") == []  # the database hung: answered from memory
    wait_for(lambda: line.spool.count() == 0, 30)
    with line.db.sessions() as s:
        assert roster.by_phone(s, ON_CALL).opted_out_at is not None
        assert s.scalars(select(Case)).one().assigned_person_id is None  # not Ana's now
        reasons = [a.reason for a in s.scalars(select(Alert).order_by(Alert.id))]
    assert reasons[-1] == "handed_back"  # the chain is woken for it again
