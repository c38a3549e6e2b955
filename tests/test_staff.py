"""Staff at night: nothing falls through the cracks.

An alert always leads to a caller; a finished case says so; a worker who leaves the roster
or texts STOP hands their part back; a case can be taken over; an alert says what the
worker needs before calling. Every step goes through signed webhooks, the real twilio
client and the local fake Twilio, with an injected clock.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from intake.app import create_app
from intake.cases import lifecycle as cases
from intake.core.models import Alert, Case, Message, OnCallPerson, Outbound
from intake.infra.config import Settings
from intake.oncall import roster
from intake.simulator import phone as simulator
from intake.staff.commands import leave_roster
from tests import test_oncall
from tests.conftest import BASE_URL, Phone, signed_post
from tests.test_cli import run_intake
from tests.test_oncall import (
    ANA,
    BEN,
    FALLBACK,
    add,
    asks_for_ack,
    staff,
    texts_to,
    tick,
    tick_all,
)
from tests.test_sms_webhook import intake

pytestmark = pytest.mark.usefixtures("clock")  # time moves when the test moves it

# the on-call tests' fixtures: a line with Twilio and a fallback number, Ana and Ben
settings, crew = test_oncall.settings, test_oncall.crew


def cases_by_id(line) -> list[Case]:
    with line.db.sessions() as s:
        return list(s.scalars(select(Case).order_by(Case.id)))


def alerts(line) -> list[Alert]:
    with line.db.sessions() as s:
        return list(s.scalars(select(Alert).order_by(Alert.id)))


def asked_then_restarted(phone) -> None:
    """A caregiver asks for a person partway, then starts again from the top."""
    phone.text("my son is missing")
    phone.text("Leo")
    phone.text("HELP")
    phone.text("RESTART")


# --- 1. an alert that still pages always leads to a caller ----------------------------------


def test_ack_after_a_restart_takes_the_callers_new_case_and_ends_the_paging(
    app, line, phone, settings, crew, fake, transport
):
    asked_then_restarted(phone)
    start = line.clock.now()
    tick(line, transport, start)
    old, new = cases_by_id(line)
    assert old.status == "abandoned" and new.status == "intake"
    reply = staff(app, settings, ANA).reply("ACK")
    assert f"Case {new.ref} is yours" in reply and phone.number in reply
    assert [a.status for a in alerts(line)] == ["acked"]
    with line.db.sessions() as s:
        assert s.get(Case, new.id).assigned_person.name == "Ana"
    for minutes in (6, 12, 30):
        tick(line, transport, start + timedelta(minutes=minutes))
    assert texts_to(fake, BEN) == [] and len(texts_to(fake, ANA)) == 1


def test_ack_naming_the_abandoned_case_also_leads_to_the_caller(
    app, line, phone, settings, crew, fake, transport
):
    asked_then_restarted(phone)
    start = line.clock.now()
    tick(line, transport, start)
    tick(line, transport, start + timedelta(minutes=6))  # Ben is paged too
    old, new = cases_by_id(line)
    reply = staff(app, settings, BEN).reply(f"ACK {old.ref}")
    assert f"Case {new.ref} is yours" in reply and phone.number in reply
    assert "nothing to do" not in reply.lower()
    tick(line, transport, start + timedelta(minutes=7))
    assert "taken by Ben" in texts_to(fake, ANA)[-1]


def test_pressing_1_after_a_restart_takes_the_new_case(app, line, phone, fake, transport):
    add(line, "Ana", ANA, by="call")
    asked_then_restarted(phone)
    tick(line, transport)
    [call] = fake.calls
    answer = call["url"].removeprefix(BASE_URL).replace("/alert?", "/alert/answer?")
    spoken = signed_post(app, answer, {"CallSid": call["sid"], "Digits": "1"})
    _, new = cases_by_id(line)
    assert "is yours" in spoken.get_data(as_text=True)
    assert alerts(line)[0].status == "acked"
    tick(line, transport)
    [details] = texts_to(fake, ANA)
    assert new.ref in details and phone.number in details


# --- 2. a finished case says so ---------------------------------------------------------------


def test_a_text_to_a_found_childs_caregiver_is_not_relayed(
    app, line, phone, settings, crew, fake, transport
):
    intake(phone)
    tick(line, transport)
    ana = staff(app, settings, ANA)
    ana.reply("ACK")
    phone.text("FOUND")
    ref = cases_by_id(line)[0].ref
    reply = ana.reply(f"R {ref} glad to hear it")
    assert f"Case {ref} is found, so your text was not sent" in reply and phone.number in reply
    other = staff(app, settings, BEN).reply(f"R {ref} hello")
    assert "not sent" in other and phone.number not in other
    with line.db.sessions() as s:
        relays = s.scalars(select(Outbound).where(Outbound.to_phone == phone.number)).all()
    assert all(r.kind != "relay" for r in relays)
    again = ana.reply(f"ACK {ref}")
    assert "already found" in again and phone.number in again
    assert phone.number not in staff(app, settings, BEN).reply(f"TAKE {ref}")


def test_a_text_to_a_closed_case_is_not_relayed(app, line, phone, settings, crew, transport):
    intake(phone)
    tick(line, transport)
    ana = staff(app, settings, ANA)
    ana.reply("ACK")
    with line.db.transaction() as s:
        cases.close(s, s.scalars(select(Case)).one(), line.clock.now())
    ref = cases_by_id(line)[0].ref
    assert "is closed, so your text was not sent" in ana.reply(f"R {ref} are you there?")


# --- 3. a worker who leaves the roster hands their cases back --------------------------------


def test_removing_a_worker_alerts_their_cases_again_and_the_texts_follow(
    app, line, phone, settings, crew, fake, transport
):
    intake(phone)
    tick(line, transport)
    staff(app, settings, ANA).reply("ACK")
    ref = cases_by_id(line)[0].ref
    with line.db.transaction() as s:
        leave_roster(s, line, "Ana", line.clock.now())
    assert cases_by_id(line)[0].assigned_person_id is None
    phone.text("is anyone there?")
    tick(line, transport)
    [alert] = texts_to(fake, BEN)
    assert f"MISSING CHILD {ref} (handed back)" in alert
    assert alerts(line)[-1].reason == "handed_back"
    reply = staff(app, settings, BEN).reply("ACK")
    assert f"Case {ref} is yours" in reply and phone.number in reply
    phone.text("she may be at the library")
    tick(line, transport)
    assert texts_to(fake, BEN)[-1] == f"[{ref}] Caregiver: she may be at the library"
    assert not any("library" in t or "anyone there" in t for t in texts_to(fake, ANA))


# --- 4. STOP from a roster phone ---------------------------------------------------------------


def test_a_worker_who_texts_stop_hands_their_cases_back_and_the_caregiver_is_heard(
    app, line, phone, settings, crew, fake, transport
):
    intake(phone)
    tick(line, transport)
    staff(app, settings, ANA).reply("ACK")
    ref = cases_by_id(line)[0].ref
    assert staff(app, settings, ANA).text("STOP") == []
    assert cases_by_id(line)[0].assigned_person_id is None
    tick(line, transport)
    assert f"MISSING CHILD {ref}" in texts_to(fake, BEN)[-1]
    assert ref in texts_to(fake, FALLBACK)[-1] and "STOP" in texts_to(fake, FALLBACK)[-1]
    staff(app, settings, BEN).reply("ACK")
    phone.text("any news? she may be at the library")
    tick(line, transport)
    assert "library" in texts_to(fake, BEN)[-1]
    assert not any("library" in t for t in texts_to(fake, ANA))


def worker_has_the_case(app, line, phone, settings, transport) -> str:
    """A caregiver's intake, paged to Ana, who ACKs it: the case is hers."""
    intake(phone)
    tick(line, transport)
    staff(app, settings, ANA).reply("ACK")
    [case] = cases_by_id(line)
    assert case.assigned_person_id is not None
    return case.ref


def handed_back_to_ben(line, fake, transport, ref: str) -> None:
    """Ana's case went back to the chain: Ben is paged for it and the fallback told."""
    assert cases_by_id(line)[0].assigned_person_id is None
    tick(line, transport)
    assert f"MISSING CHILD {ref}" in texts_to(fake, BEN)[-1]
    assert ref in texts_to(fake, FALLBACK)[-1] and "STOP" in texts_to(fake, FALLBACK)[-1]


def test_a_worker_twilio_refuses_with_21610_hands_their_cases_back(
    app, line, phone, settings, crew, fake, transport
):
    ref = worker_has_the_case(app, line, phone, settings, transport)
    fake.fail_to(ANA, 21610)  # Ana texted STOP to the carrier: sends to her are refused
    phone.text("any news? she may be at the library")  # relayed to Ana: refused
    tick(line, transport)
    handed_back_to_ben(line, fake, transport, ref)
    with line.db.sessions() as s:
        assert roster.by_phone(s, ANA).opted_out_at is not None


def test_a_delivery_report_of_21610_to_a_worker_hands_their_cases_back(
    app, line, phone, settings, crew, fake, transport
):
    ref = worker_has_the_case(app, line, phone, settings, transport)
    phone.text("any news? she may be at the library")
    tick(line, transport)
    with line.db.sessions() as s:
        relay = s.scalars(select(Outbound).where(Outbound.to_phone == ANA)).all()[-1]
    report = {"MessageSid": relay.twilio_sid, "MessageStatus": "undelivered", "ErrorCode": "21610"}
    assert signed_post(app, f"/twilio/status?outbox={relay.id}", report).status_code == 204
    handed_back_to_ben(line, fake, transport, ref)


def test_stop_from_a_roster_phone_takes_them_off_the_chain_and_start_puts_them_back(
    app, line, phone, settings, crew, fake, transport
):
    intake(phone)  # Ana's page is queued, not yet sent
    ana = staff(app, settings, ANA)
    assert ana.text("STOP") == []  # Twilio confirms; the line never answers STOP
    start = line.clock.now()
    tick(line, transport, start)
    assert texts_to(fake, ANA) == []  # the queued page was cancelled
    assert len(texts_to(fake, BEN)) == 1  # the alert moved on at once
    [notice] = texts_to(fake, FALLBACK)
    assert "Ana" in notice and "STOP" in notice and "START" in notice
    with line.db.sessions() as s:
        assert [p.name for p in roster.people(s)] == ["Ben"]
        assert s.scalar(select(OnCallPerson).where(OnCallPerson.phone == ANA)).active
    for n in range(2, 9):  # Ben's rounds: Ana is never paged again, however long
        tick(line, transport, start + timedelta(minutes=5 * n))
    assert texts_to(fake, ANA) == []
    assert "back on the on-call chain" in ana.reply("START")
    with line.db.sessions() as s:
        assert [p.name for p in roster.people(s)] == ["Ana", "Ben"]


def test_stop_from_the_only_person_on_call_reaches_the_fallback_at_once(
    app, line, phone, settings, fake, transport
):
    add(line, "Ana", ANA)
    intake(phone)
    tick(line, transport)
    staff(app, settings, ANA).text("stop texting me")
    tick(line, transport)
    waiting = alerts(line)[0]  # for whoever comes on call next
    assert waiting.status == "open" and waiting.next_check_at is None
    assert any("URGENT" in t for t in texts_to(fake, FALLBACK))
    assert len(texts_to(fake, ANA)) == 1  # only the first page, before the STOP


def test_the_roster_list_shows_who_stopped_texts(tmp_path):
    assert run_intake(["db", "upgrade"], tmp_path).returncode == 0
    for name, number in (("Ana", ANA), ("Ben", BEN)):
        run_intake(["oncall", "add", "--name", name, "--phone", number], tmp_path)
    env = Settings.from_env({"INTAKE_INSTANCE_DIR": str(tmp_path)})
    app = create_app(env)
    assert Phone(app, env, ANA).text("STOP") == []
    app.extensions["intake"].db.dispose()
    listed = run_intake(["oncall", "list"], tmp_path).stdout.splitlines()
    assert "Ana" in listed[0] and "stopped texts (STOP)" in listed[0]
    assert "Ben" in listed[1] and "STOP" not in listed[1]


# --- 5. taking a case over ---------------------------------------------------------------------


def test_take_moves_a_case_to_the_sender_and_tells_who_had_it(
    app, line, phone, settings, crew, fake, transport
):
    intake(phone)
    tick(line, transport)
    ana, ben = staff(app, settings, ANA), staff(app, settings, BEN)
    ana.reply("ACK")
    ref = cases_by_id(line)[0].ref
    refused = ben.reply(f"R {ref} hello")
    assert f"text TAKE {ref}" in refused and not asks_for_ack(refused)
    assert f"text TAKE {ref}" in ben.reply(f"ACK {ref}")
    reply = ben.reply(f"TAKE {ref.lower()}")
    assert f"Case {ref} is yours" in reply and phone.number in reply
    tick(line, transport)
    assert f"case {ref} was taken over by Ben" in texts_to(fake, ANA)[-1]
    with line.db.sessions() as s:
        case = s.scalars(select(Case)).one()
        assert case.assigned_person.name == "Ben"
        # bodies are encrypted (a fresh token each time): found by reading, not by a WHERE
        [kept] = [m for m in s.scalars(select(Message)) if m.body == f"TAKE {ref.lower()}"]
        assert kept.case_id == case.id and kept.person_id is not None
    phone.text("any news?")
    tick(line, transport)
    assert texts_to(fake, BEN)[-1] == f"[{ref}] Caregiver: any news?"
    assert "any news?" not in texts_to(fake, ANA)[-1]
    assert "Which case?" in ben.reply("TAKE")


# --- 6. what an alert says -----------------------------------------------------------------


def test_a_stalled_spanish_intake_alert_says_what_is_known(line, phone, crew, fake, transport):
    phone.text("mi hija esta perdida")
    phone.text("Sofia")
    tick_all(line, transport, line.clock.now() + timedelta(minutes=11))
    [alert] = texts_to(fake, ANA)
    said = "Caller +1 212... (Spanish) went quiet mid-intake: a child is missing, "
    assert f"{said}no details yet.\nACK takes it:" in alert and "Sofia" not in alert


def test_a_called_alert_speaks_the_language_relationship_and_police(
    app, line, phone, fake, transport
):
    add(line, "Ana", ANA, by="call")
    intake(phone)
    tick(line, transport)
    [call] = fake.calls
    twiml = signed_post(app, call["url"].removeprefix(BASE_URL), {"CallSid": call["sid"]})
    spoken = twiml.get_data(as_text=True)
    assert "speaks English" in spoken and "parent or family" in spoken
    assert "Police called: yes." in spoken


# --- 7. the commands staff are told about ----------------------------------------------------


def test_help_names_every_command(app, settings, crew):
    reply = staff(app, settings, ANA).reply("HELP")
    for command in ("ACK ", "ACK case-number", "ACK ALL", "TAKE case-number", "STATUS", "R "):
        assert command in reply


# --- caller ID is not a password -------------------------------------------------------------


def test_a_forged_ack_is_seen_by_the_real_worker_who_hands_it_back_with_notme(
    app, line, phone, settings, crew, fake, transport
):
    intake(phone)
    tick(line, transport)
    forged = staff(app, settings, ANA).reply("ACK")  # someone spoofing Ana's number
    ref = cases_by_id(line)[0].ref
    assert f"NOTME {ref}" in forged  # the reply goes to Ana's real phone and says how
    back = staff(app, settings, ANA).reply("NOTME")  # the real Ana: "not me"
    assert ref in back and "no longer yours" in back
    assert cases_by_id(line)[0].assigned_person_id is None
    assert alerts(line)[-1].status == "open" and alerts(line)[-1].reason == "handed_back"
    # a page may wait 15 s to combine
    tick(line, transport, line.clock.now() + timedelta(seconds=20))
    assert any(ref in t for t in texts_to(fake, ANA)[1:] + texts_to(fake, BEN))
    assert "is yours" in staff(app, settings, BEN).reply(f"ACK {ref}")


def test_notme_with_nothing_to_hand_back_says_so(app, line, settings, crew):
    assert "no open case" in staff(app, settings, ANA).reply("NOTME")


def test_each_staff_command_is_kept_with_twilios_metadata(
    app, line, phone, settings, crew, transport
):
    intake(phone)
    tick(line, transport)
    worker = staff(app, settings, ANA)
    params = simulator.sms_params(ANA, "ACK", settings=settings)
    params |= {"FromCity": "SPRINGFIELD", "FromState": "IL", "FromCountry": "US"}
    response = worker.post(params)
    assert response.status_code == 200
    with line.db.sessions() as s:
        kept = s.scalars(select(Message).where(Message.person_id.is_not(None))).all()
    [ack] = [m for m in kept if m.body == "ACK"]
    assert ack.case_id is not None
    assert ack.meta["FromCity"] == "SPRINGFIELD" and ack.meta["From"] == ANA
    assert "Body" not in ack.meta and ack.meta["RemoteAddr"]
