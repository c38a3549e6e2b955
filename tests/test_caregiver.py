"""The caregiver knows what happened: who has the case (one text, however it was taken),
that staff marked it found or closed it, and, on a call, when the first text really comes.

Signed webhooks, the real twilio client and the fake Twilio; what is asserted is what the
caregiver's phone receives.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from intake.app import create_app
from intake.cases import lifecycle as cases
from intake.core.models import Caller, Case, Outbound
from intake.delivery import dispatcher
from intake.infra.transport import LocalTransport
from intake.simulator import phone as simulator
from tests import test_oncall
from tests.conftest import BASE_URL, CALLER, Phone, make_settings, signed_post
from tests.dashboard_helpers import add_to_roster, make_account, post, sign_in
from tests.test_oncall import ANA, BEN, add, staff, texts_to, tick
from tests.test_sms_webhook import intake
from tests.test_voice_call import answer_everything, spoken

pytestmark = pytest.mark.usefixtures("clock")  # time moves when the test moves it

settings, crew = test_oncall.settings, test_oncall.crew
ANA_SHOWN, BEN_SHOWN = "(212) 555-0111", "(212) 555-0122"


@pytest.fixture
def local_app(db_url, tmp_path):
    """A line without Twilio: the dashboard's tests sign in over plain http."""
    app = create_app(make_settings(db_url, tmp_path / "local"))
    yield app
    app.extensions["intake"].db.dispose()


@pytest.fixture
def local_line(local_app):
    return local_app.extensions["intake"]


def the_case(line, caller: str | None = None) -> Case:
    with line.db.sessions() as s:
        query = select(Case)
        if caller is not None:
            query = query.join(Case.caller).where(Caller.phone == caller)
        return s.scalars(query).one()


def told_taken(fake) -> list[str]:
    """The texts that told the caregiver who has their case."""
    return [t for t in texts_to(fake, CALLER) if "has your case" in t or "tiene su caso" in t]


# --- who has the case -------------------------------------------------------------------------


def test_ack_tells_the_caregiver_once_who_has_the_case_and_their_number(
    app, line, phone, settings, crew, fake, transport
):
    intake(phone)
    tick(line, transport)
    ana = staff(app, settings, ANA)
    ana.reply("ACK")
    ana.reply("ACK")  # sent twice
    ana.reply(f"TAKE {the_case(line).ref}")  # and taken again: still hers
    tick(line, transport)
    [text] = told_taken(fake)
    ref = the_case(line).ref
    assert text == (
        f"Bright Path Family Services: Ana has your case {ref}. "
        f"Expect a call from {ANA_SHOWN}. You can also text back here."
    )


def test_two_workers_acking_at_once_tell_the_caregiver_once(
    app, line, phone, settings, crew, fake, transport
):
    intake(phone)
    tick(line, transport)
    ref = the_case(line).ref
    barrier = threading.Barrier(2)

    def ack(number: str) -> None:
        worker = staff(app, settings, number)
        barrier.wait()
        worker.reply(f"ACK {ref}")

    threads = [threading.Thread(target=ack, args=(n,)) for n in (ANA, BEN)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    tick(line, transport)
    [text] = told_taken(fake)
    with line.db.sessions() as s:
        winner = s.scalars(select(Case)).one().assigned_person.name
    assert f"{winner} has your case {ref}" in text


def test_a_spanish_caregiver_is_told_in_spanish_and_again_when_someone_takes_over(
    app, line, settings, crew, fake, transport
):
    phone = Phone(app, settings)
    phone.text("mi hija esta desaparecida")
    phone.text("ESPANOL")
    for answer in ("si", "Sofia", "7", "hace 2 horas", "el parque", "pelo negro", "SALTAR"):
        phone.text(answer)
    phone.text("1")
    phone.text("SALTAR")
    phone.text("MISMO")
    tick(line, transport)
    ref = the_case(line).ref
    staff(app, settings, ANA).reply("ACK")
    staff(app, settings, BEN).reply(f"TAKE {ref}")
    tick(line, transport)
    assert told_taken(fake) == [
        f"Bright Path Family Services: Ana tiene su caso {ref}. Espere una llamada del "
        f"{ANA_SHOWN}. También puede responder a este mensaje.",
        f"Bright Path Family Services: Ben tiene su caso {ref}. Espere una llamada del "
        f"{BEN_SHOWN}. También puede responder a este mensaje.",
    ]


def test_pressing_1_on_an_alert_call_tells_the_caregiver(app, line, phone, fake, transport):
    add(line, "Ana", ANA, by="call")
    intake(phone)
    tick(line, transport)
    [call] = fake.calls
    answer = call["url"].removeprefix(BASE_URL).replace("/alert?", "/alert/answer?")
    signed_post(app, answer, {"CallSid": call["sid"], "Digits": "1"})
    signed_post(app, answer, {"CallSid": call["sid"], "Digits": "1"})  # a retried webhook
    tick(line, transport)
    [text] = told_taken(fake)
    assert f"Ana has your case {the_case(line).ref}" in text and ANA_SHOWN in text


def test_a_worker_taking_a_whispered_call_is_named_to_the_caller_by_text(
    app, line, settings, fake, transport
):
    add(line, "Ben", BEN)
    caller = simulator.Call.start(
        simulator.app_post(app),
        settings,
        CALLER,
        callee=simulator.callees({BEN: simulator.answers("1")}),
    )
    caller.silence()
    caller.press("0")
    tick(line, transport)
    [text] = told_taken(fake)
    assert f"Ben has your case {the_case(line).ref}" in text and BEN_SHOWN in text


def test_a_caregiver_who_texted_stop_is_not_told(app, line, phone, settings, crew, fake, transport):
    stopped = Phone(app, settings, "+13055551234")
    intake(phone)
    intake(stopped)
    stopped.text("STOP")
    tick(line, transport)
    with line.db.sessions() as s:
        refs = list(s.scalars(select(Case.ref).order_by(Case.id)))
    ana = staff(app, settings, ANA)
    for ref in refs:
        ana.reply(f"ACK {ref}")
    tick(line, transport)
    assert [t for t in texts_to(fake, stopped.number) if "has your case" in t] == []
    [text] = told_taken(fake)
    assert f"Ana has your case {refs[0]}" in text


# --- the dashboard: take, found, close -------------------------------------------------------


def caregiver_texts(line) -> list[str]:
    """What the caregiver's phone got, in local mode: the outbox rows sent to it."""
    dispatcher.dispatch(line, LocalTransport(), now=line.clock.now())
    with line.db.sessions() as s:
        query = select(Outbound.body).where(Outbound.to_phone == CALLER, Outbound.status == "sent")
        return list(s.scalars(query.order_by(Outbound.id)))


def signed_in_worker(app, line):
    add_to_roster(line)
    make_account(line, "ana@example.org", phone=ANA)
    client = app.test_client()
    assert sign_in(client, "ana@example.org").status_code == 302
    return client


def test_the_dashboard_take_and_found_tell_the_caregiver_and_the_tips_stop(local_app, local_line):
    phone = Phone(local_app, local_line.settings)
    intake(phone)
    worker = signed_in_worker(local_app, local_line)
    ref = the_case(local_line).ref
    page = f"/dashboard/cases/{ref}"
    post(worker, f"{page}/take", page)
    done = post(worker, f"{page}/found", page)
    assert "the caregiver is told by text" in worker.get(done.location).get_data(as_text=True)
    post(worker, f"{page}/found", page)  # pressed twice: told once
    texts = caregiver_texts(local_line)
    assert [t for t in texts if "has your case" in t] == [
        f"Bright Path Family Services: Ana has your case {ref}. "
        f"Expect a call from {ANA_SHOWN}. You can also text back here."
    ]
    [found] = [t for t in texts if "marked found" in t]
    assert ref in found and "1-800-843-5678" in found and "Tips will stop now." in found
    with local_line.db.sessions() as s:
        tips = s.scalars(select(Outbound.status).where(Outbound.kind == "followup")).all()
    assert tips and set(tips) == {"cancelled"}


def test_found_texted_by_the_caregiver_is_answered_once_staff_marking_it_is_told(
    local_app, local_line
):
    texted = Phone(local_app, local_line.settings, "+13055551234")
    intake(texted)
    assert "glad" in texted.reply("FOUND")
    marked = Phone(local_app, local_line.settings)
    intake(marked)
    worker = signed_in_worker(local_app, local_line)
    ref = the_case(local_line, marked.number).ref
    page = f"/dashboard/cases/{ref}"
    post(worker, f"{page}/found", page)
    dispatcher.dispatch(local_line, LocalTransport(), now=local_line.clock.now())
    with local_line.db.sessions() as s:
        told = s.scalars(select(Outbound).where(Outbound.template == "case_found")).all()
    assert [(row.to_phone, row.status) for row in told] == [(marked.number, "sent")]


def test_closing_on_the_dashboard_tells_the_caregiver_in_their_language(local_app, local_line):
    phone = Phone(local_app, local_line.settings)
    phone.text("mi hijo esta desaparecido")
    phone.text("ESPANOL")
    phone.text("si")
    phone.text("Leo")
    worker = signed_in_worker(local_app, local_line)
    ref = the_case(local_line).ref
    page = f"/dashboard/cases/{ref}"
    post(worker, f"{page}/close", page)
    [closed] = [t for t in caregiver_texts(local_line) if ref in t]
    assert closed.startswith(f"Bright Path Family Services: cerramos el caso {ref}.")
    assert "Ya no le mandaremos consejos." in closed


def test_closing_a_case_tells_the_caregiver_once(local_app, local_line):
    phone = Phone(local_app, local_line.settings)
    intake(phone)
    with local_line.db.transaction() as s:
        case = s.scalars(select(Case)).one()
        assert cases.close(s, case, local_line.clock.now())
    with local_line.db.transaction() as s:
        cases.tell_caregiver(
            s, s.scalars(select(Case)).one(), "case_closed", local_line.clock.now()
        )
    assert len([t for t in caregiver_texts(local_line) if "is closed" in t]) == 1


# --- a call says what is true ------------------------------------------------------------------


def test_a_call_says_when_the_first_tip_comes_not_that_a_text_is_sent_now(app, line, settings):
    phone = simulator.Call.start(simulator.app_post(app), settings, CALLER)
    answer_everything(phone)
    said = spoken(phone.press("1"))
    assert "sending you a text now" not in said
    assert "Your first text comes in about 15 minutes." in said
    with line.db.sessions() as s:
        first = s.scalars(
            select(Outbound).where(Outbound.kind == "followup").order_by(Outbound.send_at)
        ).first()
    assert round((first.send_at - line.clock.now()).total_seconds() / 60) == 15
    assert "sending you a text now" in spoken(phone.press("2"))  # the photo request: it is


def test_found_texted_by_staff_tells_the_caregiver_and_the_tips_stop(
    app, line, phone, settings, crew, fake, transport
):
    intake(phone)
    tick(line, transport)
    ana = staff(app, settings, ANA)
    ana.reply("ACK")
    ref = the_case(line).ref
    assert f"{ref} is marked found" in ana.reply(f"FOUND {ref}")
    tick(line, transport)
    with line.db.sessions() as s:
        told = s.scalars(select(Outbound).where(Outbound.template == "case_found")).all()
        tips = s.scalars(select(Outbound).where(Outbound.kind == "followup")).all()
    assert [(row.to_phone, row.status) for row in told] == [(phone.number, "sent")]
    assert {row.status for row in tips} == {"cancelled"}
