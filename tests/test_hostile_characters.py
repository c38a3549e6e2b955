"""Characters PostgreSQL will not store, in signed webhooks: the text is kept, cleaned."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from intake.core.models import Caller, Case, CaseMedia, Message
from intake.simulator import phone as simulator
from intake.web.values import clean
from tests.conftest import CALLER, LINE_NUMBER, Phone, twilio_settings

PHOTO = "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1"


@pytest.fixture
def settings(db_url, tmp_path, fake):
    return twilio_settings(db_url, tmp_path, fake)


def inbound_bodies(line) -> list[str]:
    with line.db.sessions() as s:
        query = select(Message.body).where(Message.direction == "in").order_by(Message.id)
        return list(s.scalars(query))


def test_nul_bytes_in_every_field_of_a_text_are_taken_out_and_the_text_kept(app, line, settings):
    phone = Phone(app, settings, number="+1212555\x001234")
    replies = phone.text(
        "my son\x00 is missing",
        MessageSid="SM" + "c" * 32,
        NumMedia="1\x00",
        MediaUrl0=PHOTO + "\x00",
        MediaContentType0="image/\x00jpeg",
    )
    assert replies  # answered, not the "could not be saved" fallback alone
    assert inbound_bodies(line) == ["my son is missing"]
    with line.db.sessions() as s:
        assert s.scalar(select(Caller.phone)) == CALLER
        sids = s.scalars(select(Message.twilio_sid).where(Message.direction == "in"))
        assert list(sids) == ["SM" + "c" * 32]
        media = s.scalars(select(CaseMedia)).one()
        assert (media.url, media.content_type) == (PHOTO, "image/jpeg")


def test_a_later_answer_with_a_nul_byte_is_stored_and_the_intake_goes_on(app, line, phone):
    phone.text("my son is missing")
    phone.text("yes")
    phone.text("Mia\x00 Lopez")
    assert inbound_bodies(line)[-1] == "Mia Lopez"
    with line.db.sessions() as s:
        assert s.scalar(select(Case.child_name)) == "Mia Lopez"


def test_a_call_with_nul_bytes_in_speech_digits_and_number_goes_on(app, line, settings):
    post = simulator.app_post(app)
    call = simulator.Call.start(post, settings, "+1212555\x001234", to=LINE_NUMBER)
    call.silence()  # past the menu
    call.press("1")  # police called
    call.say("Mia\x00 Lopez")
    with line.db.sessions() as s:
        case = s.scalars(select(Case)).one()
        assert case.child_name == "Mia Lopez" and case.channel == "voice"
        assert s.scalar(select(Caller.phone)) == CALLER


def test_a_key_press_with_a_nul_byte_is_read_as_the_key(app, line, settings):
    post = simulator.app_post(app)
    call = simulator.Call.start(post, settings, CALLER, to=LINE_NUMBER)
    call.silence()
    call.press("1")
    call.say("Mia Lopez")
    account = simulator.account_sid(settings)
    params = simulator.call_params(CALLER, call.sid, To=LINE_NUMBER, AccountSid=account)
    params["Digits"] = "7\x00#"
    status, _ = post(
        "/twilio/voice/turn",
        params,
        simulator.signed_headers(settings, "/twilio/voice/turn", params),
    )
    assert status == 200
    with line.db.sessions() as s:
        assert s.scalar(select(Case.age_months)) == 84


def test_clean_keeps_everything_but_nul_and_lone_surrogates():
    assert clean("a\x00b") == "ab"
    assert clean("ok \ud83d then") == "ok \ufffd then"
    assert clean("línea\n\t😀 \u200b") == "línea\n\t😀 \u200b"
