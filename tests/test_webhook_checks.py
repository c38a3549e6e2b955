"""Signed requests that Twilio would never send for this line: 400, and nothing stored.

Each is signed with the line's token through the real RequestValidator, so only the checks
after the signature stand between it and the line.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict

from intake.core.models import Caller, Message
from intake.infra import signing
from intake.simulator import phone as simulator
from tests.conftest import ACCOUNT, BASE_URL, CALLER, LINE_NUMBER, TOKEN, signed_post
from tests.conftest import twilio_settings as line_settings

SID = "SM" + "e32a" * 6 + "51b0e37c"  # 32 hex digits
OTHER_ACCOUNT = "AC" + "8" * 32
CALL = "CA" + "5" * 32

CALLER_ROUTES = [
    "/twilio/voice",
    "/twilio/voice/office",
    "/twilio/voice/menu",
    "/twilio/voice/turn?silent=0",
    "/twilio/voice/confirm",
    "/twilio/voice/end",
    "/twilio/voice/person/done?n=0",
    "/twilio/voice/voicemail",
    "/twilio/voice/status",
    "/twilio/voice/fallback/person",
]
STAFF_ROUTES = [
    "/twilio/voice/whisper?case=1",
    "/twilio/voice/whisper/answer?case=1",
    "/twilio/voice/alert?page=1",
    "/twilio/voice/alert/answer?page=1",
]
VOICE_ROUTES = CALLER_ROUTES + STAFF_ROUTES  # all 14


@pytest.fixture
def settings(db_url, tmp_path, fake):
    """A line with Twilio's credentials: its account and its one number."""
    return line_settings(db_url, tmp_path, fake)


def text(**fields: str) -> dict[str, str]:
    """A text to the line as Twilio sends it; `fields` change or add fields."""
    params = {
        "MessageSid": SID,
        "AccountSid": ACCOUNT,
        "From": CALLER,
        "To": LINE_NUMBER,
        "Body": "my daughter is missing",
        "NumMedia": "0",
    }
    return params | fields


def call(**fields: str) -> dict[str, str]:
    """A caller's call to the line as Twilio sends it."""
    params = simulator.call_params(CALLER, CALL, To=LINE_NUMBER, AccountSid=ACCOUNT)
    return params | fields


def stored(line) -> tuple[int, int]:
    """How many messages and callers the line keeps."""
    with line.db.sessions() as s:
        messages = s.scalar(select(func.count()).select_from(Message))
        callers = s.scalar(select(func.count()).select_from(Caller))
    return messages, callers


def test_a_text_replayed_with_moved_boundaries_is_refused(app, line):
    """`MessageSid=SM…7c&NumMedia=0` re-sent as `MessageSid=SM…7cNumMedia0`: the same
    signature, a new MessageSid to the de-duplication; only its shape gives it away."""
    original = text()
    assert signed_post(app, "/twilio/sms", original, bare=True).status_code == 200
    kept = stored(line)
    moved = dict(original)
    moved["MessageSid"] = SID + "NumMedia" + moved.pop("NumMedia")
    url = BASE_URL + "/twilio/sms"
    signature = signing.sign(TOKEN, url, original)
    assert signing.is_valid(TOKEN, url, moved, signature)  # the validator cannot tell
    for _ in range(3):
        response = app.test_client().post(
            "/twilio/sms", data=moved, headers={signing.SIGNATURE_HEADER: signature}
        )
        assert response.status_code == 400
    assert stored(line) == kept


@pytest.mark.parametrize(
    "field, value",
    [
        ("MessageSid", "SM" + "a" * 31),  # too short
        ("MessageSid", "SM" + "a" * 33),  # too long
        ("MessageSid", "CA" + "a" * 32),  # a call's
        ("MessageSid", "SM" + "g" * 32),  # not hex
        ("MessageSid", " " + SID),
        ("MessageSid", ""),
        ("SmsSid", SID + "x"),
        ("MessagingServiceSid", "MG1"),
        ("AccountSid", "AC" + "7" * 31),
    ],
)
def test_a_text_with_a_sid_not_of_twilio_shape_is_refused(app, line, field, value):
    assert signed_post(app, "/twilio/sms", text(**{field: value}), bare=True).status_code == 400
    assert stored(line) == (0, 0)


def test_a_text_with_the_message_sid_twice_is_refused(app, line):
    client = app.test_client()
    params = list(text().items()) + [("MessageSid", "SM" + "f" * 32)]
    url = BASE_URL + "/twilio/sms"
    signature = RequestValidator(TOKEN).compute_signature(url, MultiDict(params))
    response = client.post(
        "/twilio/sms", data=MultiDict(params), headers={signing.SIGNATURE_HEADER: signature}
    )
    assert response.status_code == 400
    assert stored(line) == (0, 0)


@pytest.mark.parametrize("account", [OTHER_ACCOUNT, None])
def test_a_text_of_another_account_or_none_is_refused(app, line, account):
    params = text(AccountSid=account) if account else text()
    if account is None:
        params.pop("AccountSid")
    assert signed_post(app, "/twilio/sms", params, bare=True).status_code == 400
    assert stored(line) == (0, 0)


@pytest.mark.parametrize("to", ["+12125550199", "", "12345"])
def test_a_text_to_a_number_not_the_lines_is_refused(app, line, to):
    assert signed_post(app, "/twilio/sms", text(To=to), bare=True).status_code == 400
    assert stored(line) == (0, 0)


def test_a_text_to_the_line_without_to_is_refused(app, line):
    params = text()
    params.pop("To")
    assert signed_post(app, "/twilio/sms", params, bare=True).status_code == 400
    assert stored(line) == (0, 0)


def test_a_body_over_1600_characters_is_refused_and_1600_kept(app, line):
    over = text(Body="x" * 1601)
    assert signed_post(app, "/twilio/sms", over, bare=True).status_code == 400
    assert stored(line) == (0, 0)
    at_most = text(Body="my son is missing " + "x" * (1600 - 18))
    assert signed_post(app, "/twilio/sms", at_most, bare=True).status_code == 200
    assert stored(line)[0] >= 1


@pytest.mark.parametrize("path", VOICE_ROUTES)
@pytest.mark.parametrize(
    "call_sid", ["CA" + "a" * 2000, "SM" + "a" * 32, "CA" + "a" * 31, "CA" + "a" * 32 + "\n"]
)
def test_every_voice_route_refuses_a_callsid_not_of_twilio_shape(app, line, path, call_sid):
    assert signed_post(app, path, call(CallSid=call_sid), bare=True).status_code == 400
    assert stored(line) == (0, 0)


@pytest.mark.parametrize("path", VOICE_ROUTES)
def test_every_voice_route_refuses_another_account_and_a_missing_callsid(app, line, path):
    assert signed_post(app, path, call(AccountSid=OTHER_ACCOUNT), bare=True).status_code == 400
    params = call()
    params.pop("CallSid")
    assert signed_post(app, path, params, bare=True).status_code == 400
    assert stored(line) == (0, 0)


@pytest.mark.parametrize("path", CALLER_ROUTES)
@pytest.mark.parametrize("field", ["To", "Called"])
def test_a_call_to_a_number_not_the_lines_is_refused(app, line, path, field):
    params = call(**{field: "+12125550199"})
    assert signed_post(app, path, params, bare=True).status_code == 400
    assert stored(line) == (0, 0)


@pytest.mark.parametrize(
    "field, value",
    [("ParentCallSid", "CA1"), ("DialCallSid", "x"), ("RecordingSid", "RE" + "0" * 40)],
)
def test_a_call_with_another_sid_field_not_of_its_shape_is_refused(app, line, field, value):
    params = call(**{field: value})
    assert signed_post(app, "/twilio/voice", params, bare=True).status_code == 400
    assert stored(line) == (0, 0)


def test_a_call_of_twilio_shape_to_the_line_is_answered(app, line):
    params = call(ParentCallSid="CA" + "6" * 32, RecordingSid="RE" + "ab" * 16)
    assert signed_post(app, "/twilio/voice", params, bare=True).status_code == 200


@pytest.mark.parametrize(
    "path, params",
    [
        ("/twilio/status", {"MessageSid": "SM1", "MessageStatus": "delivered"}),
        ("/twilio/status", {"MessageSid": "SM" + "1" * 32, "MessageStatus": "delivered"}),
        ("/twilio/call-status", {"CallSid": "CA" + "a" * 2000, "CallStatus": "completed"}),
        ("/twilio/call-status", {"CallSid": "CA" + "1" * 32, "CallStatus": "completed"}),
    ],
)
def test_a_report_with_a_bad_sid_or_another_account_is_refused(app, path, params):
    bad_sid = len(next(iter(params.values()))) != 34
    account = ACCOUNT if bad_sid else OTHER_ACCOUNT
    response = signed_post(app, path, params | {"AccountSid": account}, bare=True)
    assert response.status_code == 400


class TestLocalMode:
    """Without Twilio's credentials there is no account to compare: an AccountSid of
    Twilio's shape is still required, and the line's numbers are its own and the
    simulator's."""

    @pytest.fixture
    def settings(self, db_url, tmp_path):
        from tests.conftest import make_settings

        return make_settings(db_url, tmp_path)

    def test_any_account_of_twilio_shape_is_taken(self, app, line):
        params = text(AccountSid=OTHER_ACCOUNT, To=simulator.LINE_NUMBER)
        assert signed_post(app, "/twilio/sms", params, bare=True).status_code == 200

    def test_no_account_or_another_number_is_refused(self, app, line):
        params = text(To=simulator.LINE_NUMBER)
        params.pop("AccountSid")
        assert signed_post(app, "/twilio/sms", params, bare=True).status_code == 400
        params = text(To="+12125550199")
        assert signed_post(app, "/twilio/sms", params, bare=True).status_code == 400
        assert stored(line) == (0, 0)
