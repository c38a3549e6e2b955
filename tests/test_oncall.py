"""On-call alerts, escalation, acknowledgement and relay, with an injected clock.

Pages go out through the real twilio client to the local fake Twilio; time moves only
when a test moves the line's settable clock (the `clock` fixture), so nothing sleeps and
nothing reads the wall clock.
"""

from __future__ import annotations

import logging
import re
import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from intake.app import create_app
from intake.core.models import Alert, Case, Message, Outbound
from intake.delivery import dispatcher
from intake.infra import signing
from intake.infra.transport import TwilioTransport
from intake.oncall import escalation as oncall
from intake.oncall import paging, roster
from intake.simulator import phone as simulator
from intake.staff.commands import leave_roster
from tests.conftest import BASE_URL, LINE_NUMBER, Phone, signed_post, twilio_settings
from tests.test_sms_webhook import intake

pytestmark = pytest.mark.usefixtures("clock")  # every line here runs on the test's clock

FALLBACK = "+12125550199"
ANA, BEN, CY = "+12125550111", "+12125550122", "+12125550133"
NY = ZoneInfo("America/New_York")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@pytest.fixture
def settings(db_url, tmp_path, fake):
    return twilio_settings(db_url, tmp_path, fake, fallback_alert_number=FALLBACK)


def add(line, name, phone, by="sms", windows=()):
    with line.db.transaction() as s:
        roster.add(s, name, phone, by, list(windows))


@pytest.fixture
def crew(line):
    add(line, "Ana", ANA)
    add(line, "Ben", BEN)


def tick(line, transport, at=None):
    """One turn of the worker at the clock's time; `at` moves the line's clock there first."""
    now = line.clock.set(at) if at is not None else line.clock.now()
    oncall.check_due(line, now)
    dispatcher.dispatch(line, transport, now=now, on_failure=paging.page_failed)


def not_today(line) -> str:
    """A weekday three days off in the line's time zone: a window on it never covers now."""
    return DAYS[(line.clock.now().astimezone(NY).weekday() + 3) % 7]


def texts_to(fake, number) -> list[str]:
    return [m["body"] for m in fake.messages if m["to"] == number]


def asks_for_ack(text: str) -> bool:
    """Whether a staff text tells its reader to reply ACK (a case number like HRYACK is not)."""
    return re.search(r"\bACK\b", text) is not None


def the_case(line) -> Case:
    with line.db.sessions() as s:
        return s.scalars(select(Case)).one()


def the_alert(line) -> Alert:
    with line.db.sessions() as s:
        return s.scalars(select(Alert).order_by(Alert.id.desc())).first()


def staff(app, settings, number) -> Phone:
    return Phone(app, settings, number=number)


# --- the first alert --------------------------------------------------------------------


def test_a_completed_intake_alerts_the_first_person_with_little_personal_data(
    line, phone, crew, fake, transport
):
    intake(phone)
    tick(line, transport)
    [alert] = texts_to(fake, ANA)
    case = the_case(line)
    assert case.ref in alert and "ACK" in alert and f"{BASE_URL}/cases/{case.ref}" in alert
    assert "Age 7" in alert and "Elm Park" in alert
    assert "Mia" not in alert and "ponytail" not in alert
    seen = case.last_seen_at.astimezone(NY).strftime("%H:%M %Z")  # EST or EDT
    assert f"Last seen Elm Park, Springfield, about {seen}." in alert
    assert "Caller: English, parent or family." in alert and "Police called: yes." in alert
    assert texts_to(fake, BEN) == []


def test_full_detail_adds_the_name_and_description(db_url, tmp_path, fake, clock):
    app = create_app(
        twilio_settings(
            db_url, tmp_path, fake, alert_detail="full", fallback_alert_number=FALLBACK
        ),
        clock,
    )
    line = app.extensions["intake"]
    add(line, "Ana", ANA)
    intake(Phone(app, line.settings))
    tick(line, TwilioTransport(line.settings))
    [alert] = texts_to(fake, ANA)
    assert "Mia Lopez" in alert and "ponytail" in alert
    line.db.dispose()


def test_a_caregiver_asking_for_a_person_alerts_on_call(line, phone, crew, fake, transport):
    phone.text("my son is missing")
    phone.text("Leo")
    phone.text("HELP")
    tick(line, transport)
    [alert] = texts_to(fake, ANA)
    assert the_case(line).ref in alert
    assert the_alert(line).reason == "asked"


# --- escalation -----------------------------------------------------------------------------


def test_no_ack_within_the_wait_alerts_the_next_person(line, phone, crew, fake, transport):
    intake(phone)
    start = line.clock.now()
    tick(line, transport, start)
    tick(line, transport, start + timedelta(minutes=4))
    assert texts_to(fake, BEN) == []
    tick(line, transport, start + timedelta(minutes=5, seconds=1))
    assert len(texts_to(fake, BEN)) == 1


def test_an_ack_stops_the_escalation_assigns_the_case_and_tells_the_others(
    app, line, phone, settings, crew, fake, transport
):
    intake(phone)
    start = line.clock.now()
    tick(line, transport, start)
    tick(line, transport, start + timedelta(minutes=6))  # Ben is paged too
    reply = staff(app, settings, BEN).reply("ACK")
    case = the_case(line)
    assert case.ref in reply and phone.number in reply
    assert the_alert(line).status == "acked"
    with line.db.sessions() as s:
        assert s.get(Case, case.id).assigned_person.name == "Ben"
    tick(line, transport, start + timedelta(minutes=7))
    assert "taken by Ben" in texts_to(fake, ANA)[-1]
    for minutes in (12, 30, 60):
        tick(line, transport, start + timedelta(minutes=minutes))
    assert len(texts_to(fake, ANA)) == 2 and len(texts_to(fake, BEN)) == 1


def test_ack_with_a_case_number(app, line, phone, settings, crew, transport):
    intake(phone)
    tick(line, transport)
    ref = the_case(line).ref
    reply = staff(app, settings, BEN).reply(f"ack {ref.lower()}")
    assert ref in reply and the_alert(line).acked_by_id is not None


def test_a_second_ack_hears_who_has_the_case(app, line, phone, settings, crew, transport):
    intake(phone)
    tick(line, transport)
    staff(app, settings, ANA).reply("ACK")
    ref = the_case(line).ref
    assert "taken by Ana" in staff(app, settings, BEN).reply(f"ACK {ref}")


def test_a_failed_delivery_escalates_at_once(app, line, phone, crew, fake, transport):
    intake(phone)
    start = line.clock.now()
    tick(line, transport, start)
    page = [r for r in rows(line) if r.to_phone == ANA][0]
    params = {"MessageSid": page.twilio_sid, "MessageStatus": "undelivered", "ErrorCode": "30003"}
    assert signed_post(app, f"/twilio/status?outbox={page.id}", params).status_code == 204
    tick(line, transport, start + timedelta(seconds=10))
    assert len(texts_to(fake, BEN)) == 1


def test_a_page_twilio_refuses_escalates_at_once(line, phone, crew, fake, transport):
    fake.fail_to(ANA, 21211)
    intake(phone)
    start = line.clock.now()
    tick(line, transport, start)
    tick(line, transport, start + timedelta(seconds=5))
    assert len(texts_to(fake, BEN)) == 1


def test_after_every_round_everyone_and_the_fallback_are_alerted(
    line, phone, crew, fake, transport
):
    add(line, "Cy", CY, windows=[f"{not_today(line)} all day"])  # on the roster, not on call now
    intake(phone)
    start = line.clock.now()
    for n in range(1, 8):
        tick(line, transport, start + timedelta(minutes=5 * n - 4))
    ana, ben = texts_to(fake, ANA), texts_to(fake, BEN)
    assert len(ana) == 4 and len(ben) == 4  # three rounds of Ana, Ben; then everyone
    assert "URGENT" in texts_to(fake, CY)[0]
    assert "URGENT" in ana[-1] and "URGENT" in texts_to(fake, FALLBACK)[0]
    assert the_alert(line).status == "exhausted"
    staff_texts = [m for m in fake.messages if m["to"] != phone.number]
    tick(line, transport, start + timedelta(hours=2))
    assert [m for m in fake.messages if m["to"] != phone.number] == staff_texts


def test_found_stops_the_escalation_and_tells_whoever_was_woken(line, phone, crew, fake, transport):
    intake(phone)
    start = line.clock.now()
    tick(line, transport, start)
    phone.text("FOUND")
    for minutes in (1, 6, 11, 40):
        tick(line, transport, start + timedelta(minutes=minutes))
    assert the_alert(line).status == "stood_down"
    assert "has been found" in texts_to(fake, ANA)[-1]
    assert texts_to(fake, BEN) == []


def test_an_ack_for_a_found_child_says_there_is_nothing_to_do(
    app, line, phone, settings, crew, transport
):
    intake(phone)
    tick(line, transport)
    phone.text("FOUND")
    reply = staff(app, settings, ANA).reply("ACK")
    assert "found" in reply and the_case(line).assigned_person_id is None


def test_closing_the_case_stops_the_escalation(line, phone, crew, fake, transport):
    from intake.cases import lifecycle as cases

    intake(phone)
    start = line.clock.now()
    tick(line, transport, start)
    with line.db.transaction() as s:
        cases.close(s, s.scalars(select(Case)).one(), line.clock.now())
    tick(line, transport, start + timedelta(minutes=6))
    assert "closed by staff" in texts_to(fake, ANA)[-1]
    assert texts_to(fake, BEN) == []


def test_a_restart_in_the_middle_of_an_escalation_continues_it(line, phone, settings, crew, fake):
    intake(phone)
    start = line.clock.now()
    tick(line, TwilioTransport(settings), start)
    restarted = create_app(settings, line.clock).extensions["intake"]  # a new worker process
    tick(restarted, TwilioTransport(settings), start + timedelta(minutes=5, seconds=1))
    assert len(texts_to(fake, BEN)) == 1
    restarted.db.dispose()


def rows(line) -> list[Outbound]:
    with line.db.sessions() as s:
        return list(s.scalars(select(Outbound).order_by(Outbound.id)))


# --- the roster and its windows ------------------------------------------------------------


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=NY).astimezone(UTC)


def test_windows_pick_who_is_on_call(line):
    add(line, "Ana", ANA, windows=["weekdays 17:00-09:00"])
    add(line, "Ben", BEN, windows=["weekends all day"])
    add(line, "Cy", CY)  # always
    with line.db.sessions() as s:

        def names(moment):
            return [p.name for p in roster.chain(s, moment, NY)]

        assert names(at("2026-12-01 20:00")) == ["Ana", "Cy"]  # Tuesday night
        assert names(at("2026-12-05 08:30")) == ["Ana", "Ben", "Cy"]  # Saturday morning
        # Monday 08:30 belongs to Sunday night's shift, and Sunday is not a weekday
        assert names(at("2026-12-07 08:30")) == ["Cy"]
        assert names(at("2026-12-06 23:00")) == ["Ben", "Cy"]  # Sunday night
        assert names(at("2026-12-01 12:00")) == ["Cy"]


def test_an_empty_chain_reaches_the_fallback_number_and_logs_loudly(
    line, phone, fake, transport, caplog
):
    add(line, "Ben", BEN, windows=[f"{not_today(line)} 03:00-03:05"])  # never now
    with caplog.at_level(logging.CRITICAL, logger="intake"):
        intake(phone)
    tick(line, transport)
    assert "nobody is on call" in texts_to(fake, FALLBACK)[0].lower()
    assert any(r.getMessage() == "oncall.empty_chain" for r in caplog.records)


def test_roster_order_can_be_changed(line):
    add(line, "Ana", ANA)
    add(line, "Ben", BEN)
    add(line, "Cy", CY)
    with line.db.transaction() as s:
        roster.move(s, "cy", 1)
        leave_roster(s, line, BEN, line.clock.now())
    with line.db.sessions() as s:
        assert [(p.position, p.name) for p in roster.people(s)] == [(1, "Cy"), (2, "Ana")]


def test_a_bad_roster_entry_is_refused_in_plain_words(line):
    with line.db.transaction() as s, pytest.raises(roster.RosterError, match="like"):
        roster.add(s, "Ana", ANA, "sms", ["funday 9-5"])
    with line.db.transaction() as s, pytest.raises(roster.RosterError, match="phone"):
        roster.add(s, "Ana", "not a phone")
    add(line, "Ana", ANA)
    with line.db.transaction() as s, pytest.raises(roster.RosterError, match="already"):
        roster.add(s, "Ana again", ANA)


# --- staff commands -------------------------------------------------------------------------


def test_status_and_help_answer_staff(app, line, phone, settings, crew, transport):
    worker = staff(app, settings, ANA)
    assert "no open cases" in worker.reply("STATUS")
    assert "ACK" in worker.reply("HELP") and "STATUS" in worker.reply("what")
    intake(phone)
    tick(line, transport)
    worker.reply("ACK")
    assert the_case(line).ref in worker.reply("status")
    assert "no alert" in staff(app, settings, BEN).reply("ACK").lower()


def test_an_ack_from_a_number_not_on_the_roster_acknowledges_nothing(
    app, line, phone, settings, crew, transport
):
    intake(phone)
    tick(line, transport)
    stranger = staff(app, settings, "+12125550177")
    reply = stranger.reply("ACK")
    assert "911" in reply  # treated as a caregiver: the safety message
    alert = the_alert(line)
    assert alert.status == "open" and alert.acked_by_id is None
    with line.db.sessions() as s:
        assert s.get(Case, alert.case_id).assigned_person_id is None


# --- relay ----------------------------------------------------------------------------------


def test_caregiver_and_worker_talk_through_the_line(
    app, line, phone, settings, crew, fake, transport
):
    intake(phone)
    tick(line, transport)
    worker = staff(app, settings, ANA)
    worker.reply("ACK")
    phone.text("She might be at Ana's house on 5th")
    ref = the_case(line).ref
    tick(line, transport)
    assert texts_to(fake, ANA)[-1] == f"[{ref}] Caregiver: She might be at Ana's house on 5th"
    assert "Sent" in worker.reply(f"R {ref} I am calling you now from a blocked number")
    tick(line, transport)
    to_caregiver = texts_to(fake, phone.number)[-1]
    assert "I am calling you now from a blocked number" in to_caregiver and ref in to_caregiver
    assert all(m["from_"] == LINE_NUMBER for m in fake.messages)
    with line.db.sessions() as s:
        case_id = s.scalar(select(Case.id))
        kept = s.scalars(select(Message.body).where(Message.case_id == case_id)).all()
        relayed = s.scalars(
            select(Outbound.kind).where(Outbound.case_id == case_id, Outbound.kind == "relay")
        ).all()
    assert "She might be at Ana's house on 5th" in kept
    assert f"R {ref} I am calling you now from a blocked number" in kept
    assert len(relayed) == 2


def test_only_the_assigned_worker_can_relay(app, line, phone, settings, crew, transport):
    intake(phone)
    tick(line, transport)
    staff(app, settings, ANA).reply("ACK")
    ref = the_case(line).ref
    assert "not assigned to you" in staff(app, settings, BEN).reply(f"R {ref} hello")


# --- alert by phone call --------------------------------------------------------------------


def test_a_call_speaks_the_alert_and_pressing_1_acknowledges(app, line, phone, fake, transport):
    add(line, "Ana", ANA, by="call")
    intake(phone)
    tick(line, transport)
    [call] = fake.calls
    assert call["to"] == ANA and call["url"].startswith(f"{BASE_URL}/twilio/voice/alert?page=")
    path = call["url"].removeprefix(BASE_URL)
    twiml = signed_post(app, path, {"CallSid": call["sid"], "From": LINE_NUMBER, "To": ANA})
    body = twiml.get_data(as_text=True)
    assert "<Gather" in body and "Press 1" in body and "<Say" in body
    answer_path = path.replace("/alert?", "/alert/answer?")
    spoken = signed_post(app, answer_path, {"CallSid": call["sid"], "Digits": "1", "To": ANA})
    assert "is yours" in spoken.get_data(as_text=True)
    assert the_alert(line).status == "acked"
    assert the_case(line).assigned_person_id is not None
    with line.db.sessions() as s:  # kept with the call's metadata: caller ID can be forged
        [kept] = s.scalars(select(Message).where(Message.person_id.is_not(None))).all()
    assert kept.body == "1" and kept.case_id == the_case(line).id
    assert kept.meta["CallSid"] == call["sid"] and kept.meta["To"] == ANA


def test_an_unanswered_call_escalates_at_once(app, line, phone, fake, transport):
    add(line, "Ana", ANA, by="call")
    add(line, "Ben", BEN)
    intake(phone)
    start = line.clock.now()
    tick(line, transport, start)
    [call] = fake.calls
    page = [r for r in rows(line) if r.channel == "voice"][0]
    params = {"CallSid": call["sid"], "CallStatus": "no-answer"}
    assert signed_post(app, f"/twilio/call-status?outbox={page.id}", params).status_code == 204
    tick(line, transport, start + timedelta(seconds=10))
    assert len(texts_to(fake, BEN)) == 1


def test_a_forged_voice_request_is_refused(app):
    params = simulator.sms_params(ANA, "")
    response = app.test_client().post(
        "/twilio/voice/alert/answer?page=1", data=params, headers={signing.SIGNATURE_HEADER: "nope"}
    )
    assert response.status_code == 403


def test_two_people_acking_at_once_cannot_both_get_the_case(
    app, line, phone, settings, crew, transport
):
    intake(phone)
    tick(line, transport)
    ref = the_case(line).ref
    barrier = threading.Barrier(2)
    replies: dict[str, str] = {}

    def ack(number: str) -> None:
        worker = staff(app, settings, number)
        barrier.wait()
        replies[number] = worker.reply(f"ACK {ref}")

    threads = [threading.Thread(target=ack, args=(n,)) for n in (ANA, BEN)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [n for n, r in replies.items() if "is yours" in r]
    assert len(winners) == 1
    loser = ({ANA, BEN} - set(winners)).pop()
    assert "already taken" in replies[loser]


def test_pressing_1_texts_the_details_and_a_finished_case_is_not_taken(
    app, line, phone, fake, transport
):
    add(line, "Ana", ANA, by="call")
    intake(phone)
    tick(line, transport)
    [call] = fake.calls
    answer = call["url"].removeprefix(BASE_URL).replace("/alert?", "/alert/answer?")
    signed_post(app, answer, {"CallSid": call["sid"], "Digits": "1"})
    tick(line, transport)
    assert phone.number in texts_to(fake, ANA)[-1]  # the callback number, by text
    phone.text("FOUND")
    again = signed_post(app, answer, {"CallSid": call["sid"], "Digits": "1"})
    assert "already found" in again.get_data(as_text=True)


def test_a_bare_ack_takes_the_alert_still_waiting_not_a_finished_one(
    app, line, settings, crew, transport
):
    first, second = Phone(app, settings, "+12125550161"), Phone(app, settings, "+12125550162")
    intake(first)
    intake(second)
    tick(line, transport)
    second.text("FOUND")  # Ana's newest alert is over; the first child is still missing
    reply = staff(app, settings, ANA).reply("ACK")
    with line.db.sessions() as s:
        waiting = s.scalars(select(Case).where(Case.status == "open")).one()
    assert waiting.ref in reply and "is yours" in reply


def test_the_fallback_number_is_not_asked_to_ack(line, phone, crew, fake, transport):
    intake(phone)
    start = line.clock.now()
    for n in range(1, 8):
        tick(line, transport, start + timedelta(minutes=5 * n - 4))
    [fallback] = texts_to(fake, FALLBACK)
    assert "URGENT" in fallback and not asks_for_ack(fallback)


def test_an_intake_left_half_done_wakes_someone(line, phone, crew, fake, transport):
    phone.text("my son is missing")
    phone.text("Leo")
    start = line.clock.now()
    tick_all(line, transport, start + timedelta(minutes=9))
    assert texts_to(fake, ANA) == []
    tick_all(line, transport, start + timedelta(minutes=11))
    [alert] = texts_to(fake, ANA)
    assert "went quiet mid-intake" in alert and the_case(line).ref in alert
    tick_all(line, transport, start + timedelta(minutes=12))
    assert len(texts_to(fake, ANA)) == 1  # one alert per stalled intake, not one a tick


def tick_all(line, transport, at):
    """The worker's whole tick at `at` (the clock moved there): stalled intakes,
    escalations, sending."""
    oncall.alert_stalled(line, line.clock.set(at))
    tick(line, transport)


def test_found_after_an_ack_tells_the_worker_who_has_the_case(
    app, line, phone, settings, crew, fake, transport
):
    intake(phone)
    tick(line, transport)
    staff(app, settings, ANA).reply("ACK")
    phone.text("FOUND")
    tick(line, transport)
    assert "has been found" in texts_to(fake, ANA)[-1]
    assert sum("has been found" in t for t in texts_to(fake, ANA)) == 1


def test_found_before_the_alert_went_out_wakes_nobody_with_news_of_it(
    app, line, phone, settings, crew, fake, transport
):
    """The caregiver finds the child seconds after the intake, before the worker sent the
    alert: the alert is cancelled, and nobody is woken to hear of a case they never had."""
    intake(phone)
    phone.text("FOUND")
    phone.text("yes")
    tick(line, transport)
    assert texts_to(fake, ANA) == [] and texts_to(fake, BEN) == []
    assert the_alert(line).status == "stood_down"
