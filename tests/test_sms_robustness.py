"""Forged, malformed, hostile and simultaneous requests; a database that is down."""

from __future__ import annotations

import shutil
import socket
import sqlite3
import threading
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from intake.app import create_app
from intake.cases import lifecycle as cases
from intake.core.models import Caller, Case, Message
from intake.core.words import facts
from intake.infra import signing
from intake.simulator import phone as simulator
from tests.conftest import BASE_URL, TOKEN, Phone, make_settings

POLICE = facts()["police"]
NCMEC = facts()["ncmec_digits"]


def rows(app, model) -> int:
    with app.extensions["intake"].db.sessions() as s:
        return s.scalar(select(func.count()).select_from(model))


def nothing_stored(app) -> bool:
    return rows(app, Message) == rows(app, Caller) == rows(app, Case) == 0


# --- signatures --------------------------------------------------------------------


def test_missing_signature_is_refused_and_nothing_stored(app, phone):
    response = phone.post(simulator.sms_params(phone.number, "help"), signature="")
    assert response.status_code == 403
    assert nothing_stored(app)


def test_forged_signature_is_refused(app, phone):
    params = simulator.sms_params(phone.number, "help")
    forged = signing.sign("not-the-token", f"{BASE_URL}/twilio/sms", params)
    assert phone.post(params, signature=forged).status_code == 403
    assert nothing_stored(app)


def test_a_signature_for_other_parameters_is_refused(app, phone):
    params = simulator.sms_params(phone.number, "help")
    signature = signing.sign(TOKEN, f"{BASE_URL}/twilio/sms", params)
    params["Body"] = "something else"
    assert phone.post(params, signature=signature).status_code == 403
    assert nothing_stored(app)


def test_a_signature_for_another_host_is_refused(app, phone):
    params = simulator.sms_params(phone.number, "help")
    signature = signing.sign(TOKEN, "https://evil.example.com/twilio/sms", params)
    assert phone.post(params, signature=signature).status_code == 403


def test_the_signed_url_includes_the_query_string(app, settings):
    params = simulator.sms_params("+12125551234", "help")
    client = app.test_client()
    good = signing.sign(TOKEN, f"{BASE_URL}/twilio/sms?lang=en", params)
    without_query = signing.sign(TOKEN, f"{BASE_URL}/twilio/sms", params)
    headers = {signing.SIGNATURE_HEADER: without_query}
    assert client.post("/twilio/sms?lang=en", data=params, headers=headers).status_code == 403
    headers = {signing.SIGNATURE_HEADER: good}
    assert client.post("/twilio/sms?lang=en", data=params, headers=headers).status_code == 200


def test_get_is_not_allowed(client):
    assert client.get("/twilio/sms").status_code == 405


# --- malformed and hostile input -----------------------------------------------------


@pytest.mark.parametrize("missing", ["From", "MessageSid"])
def test_missing_sender_or_sid_is_400_and_nothing_stored(app, phone, missing):
    params = simulator.sms_params(phone.number, "help")
    del params[missing]
    assert phone.post(params).status_code == 400
    assert nothing_stored(app)


def test_an_empty_first_text_still_gets_the_safety_message(phone):
    reply = phone.reply("")
    assert POLICE in reply and NCMEC in reply


def test_an_empty_answer_is_asked_again(phone):
    phone.text("missing")
    phone.text("yes")
    assert "name" in phone.reply("   ").lower()


def test_a_text_as_long_as_twilio_takes_is_kept_whole(app, phone):
    phone.text("missing")
    long_text = ("He was wearing " + "a blue jacket, " * 200)[:1600]
    phone.text(long_text)
    with app.extensions["intake"].db.sessions() as s:
        bodies = s.scalars(select(Message.body).where(Message.direction == "in")).all()
    assert long_text in bodies


def test_emoji_and_non_latin_text_are_kept(app, phone):
    phone.text("missing 😢")
    phone.text("yes")
    phone.text("李小明")
    with app.extensions["intake"].db.sessions() as s:
        assert s.scalar(select(Case.child_name)) == "李小明"
    phone.text("😢😢")  # an age made of emoji is asked again
    with app.extensions["intake"].db.sessions() as s:
        assert s.scalar(select(Case.age_months)) is None


def test_html_and_sql_in_answers_are_stored_as_plain_text(app, phone):
    phone.text("missing")
    phone.text("yes")
    phone.text("<script>alert(1)</script>")
    phone.text("7")
    phone.text("today")
    phone.text("'; DROP TABLE cases; --")
    with app.extensions["intake"].db.sessions() as s:
        case = s.scalars(select(Case)).one()
        assert case.child_name == "<script>alert(1)</script>"
        assert case.last_seen_where == "'; DROP TABLE cases; --"


def test_media_with_no_text_is_kept(app, phone):
    phone.text("missing")
    replies = phone.text("", media=["https://api.twilio.com/media/ME9"])
    assert "police" in replies[0].lower()  # the police question is asked again
    with app.extensions["intake"].db.sessions() as s:
        incoming = select(Message.num_media).where(Message.direction == "in")
        assert s.scalars(incoming.order_by(Message.id)).all() == [0, 1]


def test_unknown_extra_fields_are_accepted(phone):
    reply = phone.reply("missing", FromCity="SPRINGFIELD", SomeNewTwilioField="x")
    assert POLICE in reply


def test_non_numeric_num_media_is_treated_as_none(phone):
    params = simulator.sms_params(phone.number, "missing")
    params["NumMedia"] = "lots"
    assert phone.post(params).status_code == 200


@pytest.mark.parametrize("sender", ["22395", "BRIGHTPATH"])
def test_short_code_and_alphanumeric_senders_are_answered_and_kept(app, settings, sender):
    phone = Phone(app, settings, number=sender)
    assert POLICE in phone.reply("missing")
    with app.extensions["intake"].db.sessions() as s:
        assert s.scalar(select(Caller.phone)) == sender


# --- one caller, two texts at once ----------------------------------------------------


def test_two_texts_from_one_caller_at_once_are_both_answered_in_turn(app, phone):
    phone.text("missing")
    phone.text("yes")
    barrier = threading.Barrier(2)
    results: list[list[str]] = []

    def send(body: str) -> None:
        params = simulator.sms_params(phone.number, body)
        headers = simulator.signed_headers(phone.settings, simulator.SMS_PATH, params)
        client = app.test_client()
        barrier.wait()
        response = client.post(simulator.SMS_PATH, data=params, headers=headers)
        results.append(simulator.message_bodies(response.get_data(as_text=True)))

    threads = [threading.Thread(target=send, args=(b,)) for b in ("Leo", "Leo Park")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 2 and all(results)
    with app.extensions["intake"].db.sessions() as s:
        caller = s.scalars(select(Caller)).one()
        # one text answered the name; the other, read as the age, was asked again
        assert caller.state["step"] == "age_months"
        assert caller.state["retries"] == 1
        assert s.scalar(select(Case.child_name)) in ("Leo", "Leo Park")
        assert s.scalar(select(Case.age_months)) is None
        assert s.scalar(select(func.count()).select_from(Message)) == 8


def test_a_text_that_waited_for_the_caller_sees_what_the_holder_committed(app, phone):
    """The caller's case moved while their next text waited for the caller's lock (staff
    or another text of theirs): the text, once it has the lock, answers on the case as it
    is now, not as it was when the text arrived."""
    assert POLICE in " ".join(phone.text("my son is missing"))  # the next question: police
    db = app.extensions["intake"].db
    locked, release = threading.Event(), threading.Event()

    def hold_the_caller() -> None:
        with db.transaction() as session:
            caller = session.scalars(select(Caller).with_for_update()).one()
            old = session.scalars(select(Case)).one()
            old.status = "abandoned"
            session.flush()
            cases.open_case(session, caller, "en", "sms")
            locked.set()
            release.wait(10)

    holder = threading.Thread(target=hold_the_caller)
    holder.start()
    assert locked.wait(10)
    answered: list[list[str]] = []
    texter = threading.Thread(target=lambda: answered.append(phone.text("yes")))
    texter.start()
    texter.join(0.5)
    assert texter.is_alive()  # waiting for the caller's lock
    release.set()
    holder.join()
    texter.join(10)
    assert answered and answered[0]
    with db.sessions() as s:
        old, new = s.scalars(select(Case).order_by(Case.id)).all()
        assert (old.status, old.police_called) == ("abandoned", None)
        assert (new.status, new.police_called) == ("intake", True)


def test_a_new_callers_first_two_texts_at_once_make_one_caller_and_keep_both(app, settings):
    barrier = threading.Barrier(2)
    answered: list[list[str]] = []

    def send(body: str) -> None:
        phone = Phone(app, settings)
        barrier.wait()
        answered.append(phone.text(body))

    threads = [threading.Thread(target=send, args=(b,)) for b in ("help", "my son is missing")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(answered) == 2 and all(answered)
    assert any(POLICE in " ".join(a) for a in answered)
    assert rows(app, Caller) == rows(app, Case) == 1
    assert rows(app, Message) == 4  # each text and its answer


def test_many_new_callers_at_once_each_get_one_case(db_url, tmp_path):
    # 12 texts on 8 turn threads: a slow machine may need more than the usual 3 s deadline
    settings = make_settings(db_url, tmp_path, answer_within=timedelta(seconds=15))
    app = create_app(settings)
    numbers = [f"+1212555{n:04d}" for n in range(12)]
    barrier = threading.Barrier(len(numbers))
    answered: list[str] = []

    def first_text(number: str) -> None:
        phone = Phone(app, settings, number=number)
        barrier.wait()
        answered.extend(phone.text("my child is missing"))

    threads = [threading.Thread(target=first_text, args=(n,)) for n in numbers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(answered) == len(numbers)
    assert all(POLICE in a for a in answered)
    assert rows(app, Case) == rows(app, Caller) == len(numbers)
    app.extensions["intake"].db.dispose()


# --- the database is down: the emergency message still goes out ---------------------


def down_app(make_app, tmp_path, database_url: str):
    return make_app(make_settings(database_url, tmp_path))


def test_with_postgres_down_the_caller_still_gets_the_emergency_message(make_app, tmp_path):
    app = down_app(make_app, tmp_path, "postgresql+psycopg://postgres@127.0.0.1:1/none")
    phone = Phone(app, app.extensions["intake"].settings)
    reply = phone.reply("my son is missing")
    assert POLICE in reply and NCMEC in reply and "again" in reply
    health = app.test_client().get("/healthz")
    assert health.status_code == 503
    assert (health.json["status"], health.json["database"]) == ("unavailable", "unavailable")


def test_with_a_broken_sqlite_file_the_emergency_message_goes_out_in_spanish(make_app, tmp_path):
    broken = tmp_path / "broken.db"
    broken.write_bytes(b"this is not a database" * 100)
    app = down_app(make_app, tmp_path, f"sqlite:///{broken}")
    phone = Phone(app, app.extensions["intake"].settings)
    reply = phone.reply("Hola, mi hijo esta perdido")
    assert NCMEC in reply and "policia" in reply.lower()
    assert phone.text("STOP") == []  # never answer a STOP, even from the fallback


# --- health and the hot path ------------------------------------------------------------


def test_healthz_says_the_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json["status"] == "ok" and response.json["database"] == "ok"


def test_one_database_transaction_per_inbound_text(app, phone):
    phone.text("missing")
    begins: list[int] = []
    engine = app.extensions["intake"].db.engine
    listener = lambda conn: begins.append(1)  # noqa: E731
    event.listen(engine, "begin", listener)
    try:
        phone.text("Leo")
    finally:
        event.remove(engine, "begin", listener)
    assert len(begins) == 1


@pytest.fixture
def full_disk(app):
    """Make every insert of a text fail, as a full disk would; undone afterwards."""
    engine = app.extensions["intake"].db.engine
    sqlite = engine.dialect.name == "sqlite"
    with engine.begin() as conn:
        if sqlite:
            conn.exec_driver_sql(
                "CREATE TRIGGER disk_full BEFORE INSERT ON messages "
                "BEGIN SELECT RAISE(ABORT, 'disk full'); END"
            )
        else:
            conn.exec_driver_sql(
                "CREATE FUNCTION disk_full() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'disk full'; END $$"
            )
            conn.exec_driver_sql(
                "CREATE TRIGGER disk_full BEFORE INSERT ON messages "
                "FOR EACH ROW EXECUTE FUNCTION disk_full()"
            )
    yield
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER disk_full" + ("" if sqlite else " ON messages"))
        if not sqlite:
            conn.exec_driver_sql("DROP FUNCTION disk_full()")


def test_a_storage_error_in_the_log_carries_no_personal_data(app, phone, caplog, request):
    phone.text("missing")
    request.getfixturevalue("full_disk")
    reply = phone.reply("Mia Lopez")
    assert POLICE in reply  # the fallback still answers
    assert "sms.fallback" in caplog.text and "disk full" in caplog.text
    assert "Mia Lopez" not in caplog.text and phone.number not in caplog.text


def test_a_database_locked_by_another_process_still_gets_the_emergency_message(
    make_app, tmp_path, sqlite_template
):
    path = tmp_path / "locked.db"
    shutil.copy(sqlite_template, path)
    app = down_app(make_app, tmp_path, f"sqlite:///{path}")
    phone = Phone(app, app.extensions["intake"].settings)
    other = sqlite3.connect(path)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        reply = phone.reply("my son is missing")
    finally:
        other.rollback()
        other.close()
    assert POLICE in reply and "again" in reply


def test_a_postgres_server_that_never_answers_still_gets_the_emergency_message(make_app, tmp_path):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # accepts connections, never says a word
    port = silent.getsockname()[1]
    try:
        app = down_app(make_app, tmp_path, f"postgresql+psycopg://postgres@127.0.0.1:{port}/none")
        phone = Phone(app, app.extensions["intake"].settings)
        reply = phone.reply("my son is missing")
    finally:
        silent.close()
    assert POLICE in reply and NCMEC in reply
