"""Values no column can hold, in signed requests: a 4xx or a clipped value, never a 500;
a report on a message the line knows is recorded whatever else is odd in it."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from intake.core.models import Message, Outbound
from tests.conftest import CALLER, signed_post

BIG = str(2**31)
KNOWN = "SM" + "a" * 32
CALL = "CA" + "1" * 32


@pytest.fixture
def sent(line) -> int:
    """A text the line sent, Twilio's sid on it: the id of its outbox row."""
    with line.db.transaction() as s:
        row = Outbound(
            kind="followup", channel="sms", to_phone=CALLER, body="hi", send_at=line.clock.now()
        )
        row.status, row.twilio_sid, row.sent_at = "sent", KNOWN, line.clock.now()
        s.add(row)
        s.flush()
        return row.id


def outbound(line, row_id: int) -> Outbound:
    with line.db.sessions() as s:
        return s.get(Outbound, row_id)


def test_a_sid_longer_than_any_of_twilio_is_refused(app, line):
    long_sid = "SM" + "x" * 63
    text = {"MessageSid": long_sid, "From": CALLER, "Body": "help", "NumMedia": "0"}
    assert signed_post(app, "/twilio/sms", text).status_code == 400
    report = {"MessageSid": long_sid, "MessageStatus": "delivered"}
    assert signed_post(app, "/twilio/status", report).status_code == 400
    call = {"CallSid": "CA" + "x" * 63, "CallStatus": "completed"}
    assert signed_post(app, "/twilio/call-status?outbox=1", call).status_code == 400
    with line.db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Message)) == 0


def test_a_sid_of_twilio_shape_is_kept(app, line):
    sid = "SM" + "7c" * 16
    text = {"MessageSid": sid, "From": CALLER, "Body": "help", "NumMedia": "0"}
    assert signed_post(app, "/twilio/sms", text).status_code == 200
    with line.db.sessions() as s:
        assert s.scalar(select(Message.twilio_sid).where(Message.twilio_sid == sid)) == sid


def test_a_known_message_with_a_huge_error_code_is_recorded(app, line, sent):
    report = {"MessageSid": KNOWN, "MessageStatus": "undelivered", "ErrorCode": BIG}
    assert signed_post(app, f"/twilio/status?outbox={BIG}", report).status_code == 204
    row = outbound(line, sent)
    assert (row.delivery_status, row.status, row.error_code) == ("undelivered", "failed", None)
    assert row.last_error == "undelivered"


@pytest.mark.parametrize("code", ["-1", "99999999999999999999", "30003abc", " "])
def test_a_known_message_with_an_odd_error_code_is_still_delivered(app, line, sent, code):
    report = {"MessageSid": KNOWN, "MessageStatus": "delivered", "ErrorCode": code}
    assert signed_post(app, "/twilio/status", report).status_code == 204
    assert outbound(line, sent).delivery_status == "delivered"


def test_a_status_longer_than_its_column_is_kept_clipped(app, line, sent):
    odd = "delivered-" + "z" * 40
    report = {"MessageSid": KNOWN, "MessageStatus": odd}
    assert signed_post(app, "/twilio/status", report).status_code == 204
    assert outbound(line, sent).delivery_status == odd[:20]


def test_a_call_status_longer_than_its_column_is_kept_clipped(app, line, sent):
    odd = "ringing-" + "q" * 40
    with line.db.transaction() as s:
        s.get(Outbound, sent).twilio_sid = CALL
    report = {"CallSid": CALL, "CallStatus": odd}
    assert signed_post(app, f"/twilio/call-status?outbox={BIG}", report).status_code == 204
    assert outbound(line, sent).delivery_status == odd[:20]


def test_an_outbox_id_no_row_can_have_finds_nothing(app, line):
    report = {"MessageSid": "SM" + "b" * 32, "MessageStatus": "delivered"}
    for outbox in (BIG, str(2**70), "-5"):
        assert signed_post(app, f"/twilio/status?outbox={outbox}", report).status_code == 204


@pytest.mark.parametrize("path", ["/twilio/voice/alert", "/twilio/voice/alert/answer"])
@pytest.mark.parametrize("page", [BIG, str(2**70), "-1", "x"])
def test_an_alert_page_no_row_can_have_is_refused(app, path, page):
    form = {"CallSid": CALL, "From": "+12125550199", "To": "+12125550100", "Digits": "1"}
    assert signed_post(app, f"{path}?page={page}", form).status_code == 400


@pytest.mark.parametrize(
    "path",
    [
        f"/twilio/voice/turn?silent={BIG}",
        "/twilio/voice/turn?silent=1000",
        f"/twilio/voice/person/done?n={BIG}",
        f"/twilio/voice/whisper?case={BIG}",
        f"/twilio/voice/whisper/answer?case={2**70}",
    ],
)
def test_a_voice_route_number_out_of_range_is_refused(app, path):
    form = {"CallSid": CALL, "From": CALLER, "To": "+12125550100", "Digits": "1"}
    assert signed_post(app, path, form).status_code == 400
