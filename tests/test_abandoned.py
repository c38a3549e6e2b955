"""Intakes left half done: a hang-up or a caller who stopped answering reads as one sentence
of what is known; after INTAKE_ABANDONED_AFTER_MINUTES the intake is marked "abandoned" and
whoever must act is told; a caller who comes back goes on where they stopped.

Signed webhooks, the real twilio client and the fake Twilio, with an injected clock.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from intake.core.models import Case
from intake.core.words import render
from intake.infra.config import ConfigError, Settings
from intake.oncall import escalation as oncall
from intake.simulator import phone as simulator
from tests import test_caregiver, test_oncall
from tests.conftest import CALLER, Phone
from tests.dashboard_helpers import post
from tests.test_caregiver import caregiver_texts, signed_in_worker
from tests.test_oncall import ANA, add, staff, texts_to, tick

pytestmark = pytest.mark.usefixtures("clock")  # time moves when the test moves it

settings, crew = test_oncall.settings, test_oncall.crew
local_app, local_line = test_caregiver.local_app, test_caregiver.local_line  # no Twilio


def worker_tick(line, transport, now) -> None:
    """The worker's whole tick at a chosen moment (scheduler.PARTS, with `now`)."""
    oncall.alert_stalled(line, now)
    oncall.mark_abandoned(line, now)
    tick(line, transport, now)


def cases_of(line) -> list[Case]:
    with line.db.sessions() as s:
        return list(s.scalars(select(Case).order_by(Case.id)))


def half_intake(phone: Phone) -> None:
    """Police called, the child named and aged, last seen, then silence."""
    for text in ("my daughter is missing", "yes", "Mia", "6", "about 2 hours ago", "the park"):
        phone.text(text)


def test_a_stalled_alert_is_one_sentence_and_the_worker_hears_when_it_is_abandoned(
    app, line, phone, settings, crew, fake, transport
):
    half_intake(phone)
    start = line.clock.now()
    worker_tick(line, transport, start + timedelta(minutes=11))
    [alert] = texts_to(fake, ANA)
    ref = cases_of(line)[0].ref
    said = "Caller +1 212... went quiet mid-intake: age 6, last seen about "
    assert f"MISSING CHILD {ref}. {said}" in alert
    assert "at the park; police called.\nACK takes it:" in alert
    assert "not given yet" not in alert and "Mia" not in alert and CALLER not in alert
    staff(app, settings, ANA).reply("ACK")
    worker_tick(line, transport, start + timedelta(minutes=29))
    assert cases_of(line)[0].status == "intake"
    worker_tick(line, transport, start + timedelta(minutes=31))
    worker_tick(line, transport, start + timedelta(minutes=32))  # once, not once a tick
    [case] = cases_of(line)
    assert case.status == "abandoned"
    [told] = [t for t in texts_to(fake, ANA) if "abandoned" in t]
    assert told.startswith(f"Bright Path Family Services: your case {ref} is marked abandoned.")
    assert "Caller +1 212... left the intake unfinished: age 6, last seen about " in told
    assert "at the park; police called. Please call them." in told


def test_an_abandoned_intake_nobody_took_alerts_on_call_with_what_was_given(
    app, line, settings, crew, fake, transport
):
    gave_a_little = Phone(app, settings, "+13055551234")
    gave_a_little.text("hello")
    gave_a_little.text("yes")  # police called: nothing that pages when stalled
    wrong_number = Phone(app, settings, "+13055554321")
    wrong_number.text("hello")
    start = line.clock.now()
    worker_tick(line, transport, start + timedelta(minutes=11))
    assert texts_to(fake, ANA) == []
    worker_tick(line, transport, start + timedelta(minutes=31))
    assert [c.status for c in cases_of(line)] == ["abandoned", "abandoned"]
    [alert] = texts_to(fake, ANA)
    ref = cases_of(line)[0].ref
    assert f"MISSING CHILD {ref}. Caller +1 305... left the intake unfinished: " in alert
    assert "left the intake unfinished: police called.\nACK takes it:" in alert
    assert cases_of(line)[1].ref not in alert  # a bare hello is for the dashboard


def test_a_caller_who_comes_back_goes_on_where_they_stopped(
    app, line, phone, settings, crew, fake, transport
):
    half_intake(phone)
    worker_tick(line, transport, line.clock.now() + timedelta(minutes=31))
    assert cases_of(line)[0].status == "abandoned"
    reply = phone.reply("red coat, brown ponytail")
    assert reply == render(
        "ask_police_report", "en", channel="sms"
    )  # the next question, not a new intake
    [case] = cases_of(line)
    assert case.status == "intake" and case.description == "red coat, brown ponytail"
    assert case.child_name == "Mia"


def test_a_worker_can_take_up_an_abandoned_intake(
    app, line, phone, settings, crew, fake, transport
):
    half_intake(phone)
    start = line.clock.now()
    worker_tick(line, transport, start + timedelta(minutes=11))
    staff(app, settings, ANA).reply("ACK")
    worker_tick(line, transport, start + timedelta(minutes=31))
    ref = cases_of(line)[0].ref
    reply = staff(app, settings, test_oncall.BEN).reply(f"TAKE {ref}")
    assert f"Case {ref} is yours" in reply and CALLER in reply


def test_a_hang_up_alert_reads_as_one_sentence(app, line, settings, fake, transport):
    add(line, "Ana", ANA)
    call = simulator.Call.start(simulator.app_post(app), settings, CALLER)
    call.silence()
    call.press("2")  # police not called yet
    call.press("2")
    call.say("Leo")
    call.press("4#")
    call.hang_up()
    tick(line, transport)
    [alert] = texts_to(fake, ANA)
    assert "Caller +1 212... hung up during intake: age 4; police not called.\n" in alert
    assert "not given yet" not in alert and "Leo" not in alert


@pytest.mark.parametrize(
    ("value", "problem"),
    [("0", "from 1 to 1440"), ("soon", "from 1 to 1440"), ("10", "longer than")],
)
def test_the_abandoned_setting_is_checked(tmp_path, value, problem):
    env = {"INTAKE_INSTANCE_DIR": str(tmp_path), "INTAKE_ABANDONED_AFTER_MINUTES": value}
    with pytest.raises(ConfigError, match=problem):
        Settings.from_env(env)
    env["INTAKE_ABANDONED_AFTER_MINUTES"] = "45"
    assert Settings.from_env(env).abandoned_after == timedelta(minutes=45)
    del env["INTAKE_ABANDONED_AFTER_MINUTES"]
    assert Settings.from_env(env).abandoned_after == timedelta(minutes=30)


def test_on_the_dashboard_an_abandoned_intake_can_be_taken_up_and_closed(local_app, local_line):
    phone = Phone(local_app, local_line.settings)
    half_intake(phone)
    oncall.mark_abandoned(local_line, local_line.clock.now() + timedelta(minutes=31))
    worker = signed_in_worker(local_app, local_line)
    ref = cases_of(local_line)[0].ref
    page = f"/dashboard/cases/{ref}"
    assert "Take this case" in worker.get(page).get_data(as_text=True)
    post(worker, f"{page}/take", page)
    post(worker, f"{page}/close", page)
    [case] = cases_of(local_line)
    assert case.status == "closed" and case.assigned_person_id is not None
    texts = caregiver_texts(local_line)
    assert any(f"Ana has your case {ref}" in t for t in texts)
    assert any(f"case {ref} is closed" in t for t in texts)
