"""A relay too long for one text is cut, and its reader knows it and where the rest is.

The caregiver reads a worker's `R` relay in their language; the worker reads a caregiver's
text with the case page to read it whole. Through signed webhooks, the dispatcher and the
real twilio client against the fake Twilio.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from intake.core.models import Case, Message
from tests import test_oncall
from tests.test_oncall import ANA, staff, texts_to, tick
from tests.test_sms_webhook import intake

pytestmark = pytest.mark.usefixtures("clock")  # time moves when the test moves it

settings, crew = test_oncall.settings, test_oncall.crew
MAX_TWILIO = 1600

# a worker's long text (Twilio delivers up to 1,600 characters) and a caregiver's
LONG_FROM_WORKER = " ".join(f"step{n} call the desk, ask for the detective" for n in range(40))[
    :1580
]
LONG_FROM_CAREGIVER = " ".join(f"he{n} wore a red coat" for n in range(90))[:MAX_TWILIO]


def assigned_case(app, line, phone, settings, transport) -> str:
    """An intake that Ana has ACKed: its ref."""
    intake(phone)
    tick(line, transport)
    staff(app, settings, ANA).reply("ACK")
    with line.db.sessions() as s:
        return s.scalars(select(Case.ref)).one()


def relayed_to(fake, number: str) -> str:
    return [body for body in texts_to(fake, number) if "Caregiver:" in body or "case" in body][-1]


def test_a_workers_long_relay_tells_the_caregiver_it_was_cut_in_english(
    app, line, phone, settings, crew, fake, transport
):
    assert 1500 < len(LONG_FROM_WORKER) <= MAX_TWILIO
    ref = assigned_case(app, line, phone, settings, transport)
    staff(app, settings, ANA).text(f"R {ref} {LONG_FROM_WORKER}")
    tick(line, transport)
    text = texts_to(fake, phone.number)[-1]
    assert text.startswith(f"Bright Path Family Services, case {ref}: step0 call the desk,")
    assert "... [Cut short. The rest is with the worker on case" in text and ref in text
    assert "reply to ask for it" in text and len(text) <= MAX_TWILIO


def test_a_workers_long_relay_tells_a_spanish_caregiver_in_spanish(
    app, line, phone, settings, crew, fake, transport
):
    ref = assigned_case(app, line, phone, settings, transport)
    phone.text("ESPAÑOL")  # after the intake: English answers would switch it back
    staff(app, settings, ANA).text(f"R {ref} {LONG_FROM_WORKER}")
    tick(line, transport)
    text = texts_to(fake, phone.number)[-1]
    assert text.startswith(f"Bright Path Family Services, caso {ref}: step0")
    assert "[Mensaje cortado. El resto lo tiene la persona que lleva el caso" in text
    assert "responda para pedirlo" in text and len(text) <= MAX_TWILIO


def test_a_short_relay_goes_whole_and_unmarked(app, line, phone, settings, crew, fake, transport):
    ref = assigned_case(app, line, phone, settings, transport)
    staff(app, settings, ANA).text(f"R {ref} I am calling you in two minutes.")
    tick(line, transport)
    text = texts_to(fake, phone.number)[-1]
    assert text.endswith(f"case {ref}: I am calling you in two minutes.")


def test_a_caregivers_long_text_tells_the_worker_where_to_read_it_whole(
    app, line, phone, settings, crew, fake, transport
):
    ref = assigned_case(app, line, phone, settings, transport)
    phone.text(LONG_FROM_CAREGIVER)
    tick(line, transport)
    text = [body for body in texts_to(fake, ANA) if body.startswith(f"[{ref}] Caregiver:")][-1]
    assert text.endswith(f"... [Cut short. Read it all on the case page for {ref}.]")
    assert len(text) <= MAX_TWILIO
    with line.db.sessions() as s:  # the whole text is on the case page
        bodies = s.scalars(select(Message.body).where(Message.direction == "in")).all()
    assert LONG_FROM_CAREGIVER in bodies
