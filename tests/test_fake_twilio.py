"""The fake Twilio REST API, driven by the real `twilio` library over real HTTP."""

from __future__ import annotations

import base64
import http.client
import json
import threading

import pytest
import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from intake.infra.transport import RedirectingHttpClient
from tests.fake_twilio import FakeTwilio, num_segments
from tests.test_outbox import wait_until

SID = "AC" + "1234567890abcdef" * 2
TOKEN = "fake-token-for-tests"
FROM = "+15005550006"
TO = "+12125551234"


@pytest.fixture
def fake():
    with FakeTwilio(account_sid=SID, auth_token=TOKEN) as fake:
        yield fake
        assert fake.internal_errors == []


def make_client(fake: FakeTwilio, token: str = TOKEN, timeout: float = 10.0) -> Client:
    """The real twilio client, through the service's own redirecting HTTP client."""
    return Client(SID, token, http_client=RedirectingHttpClient(fake.base_url, timeout))


@pytest.fixture
def client(fake) -> Client:
    return make_client(fake)


def test_base_url_is_local_and_ephemeral(fake):
    assert fake.base_url == f"http://127.0.0.1:{fake.port}"
    assert fake.port > 0


def test_message_create_returns_sid_and_is_recorded(fake, client):
    msg = client.messages.create(
        to=TO,
        from_=FROM,
        body="We got your message.",
        status_callback="https://line.example.org/twilio/status",
    )
    assert msg.sid.startswith("SM") and len(msg.sid) == 34
    int(msg.sid[2:], 16)
    assert msg.status == "queued"
    assert msg.to == TO and msg.from_ == FROM
    assert msg.account_sid == SID
    assert msg.body == "We got your message."
    assert msg.num_segments == "1"
    assert msg.direction == "outbound-api"
    assert msg.error_code is None and msg.price is None
    assert msg.api_version == "2010-04-01"
    assert msg.uri == f"/2010-04-01/Accounts/{SID}/Messages/{msg.sid}.json"
    assert msg.date_created is not None  # the library parsed the RFC 2822 date

    [rec] = fake.messages
    assert rec["sid"] == msg.sid
    assert rec["to"] == TO and rec["from_"] == FROM
    assert rec["body"] == "We got your message."
    assert rec["media_urls"] == []
    assert rec["status_callback"] == "https://line.example.org/twilio/status"
    assert rec["messaging_service_sid"] is None
    assert rec["received_at"] is not None
    assert fake.requests_count == 1


def test_message_with_media_and_messaging_service(fake, client):
    service = "MG" + "ab" * 16
    media = ["https://line.example.org/a.png", "https://line.example.org/b.jpg"]
    msg = client.messages.create(to=TO, messaging_service_sid=service, media_url=media)
    assert msg.sid.startswith("MM")  # Twilio's prefix for a message with media
    assert msg.messaging_service_sid == service
    assert msg.from_ is None
    assert msg.num_media == "2"
    [rec] = fake.messages
    assert rec["media_urls"] == media
    assert rec["messaging_service_sid"] == service
    assert rec["from_"] is None
    assert rec["body"] == ""


def test_missing_fields_give_twilio_codes(fake, client):
    with pytest.raises(TwilioRestException) as exc:
        client.messages.create(to=TO, body="hi")
    assert (exc.value.status, exc.value.code) == (400, 21603)
    with pytest.raises(TwilioRestException) as exc:
        client.messages.create(to=TO, from_=FROM)
    assert (exc.value.status, exc.value.code) == (400, 21602)
    with pytest.raises(TwilioRestException) as exc:
        client.messages.create(to=TO, from_=FROM, body="x" * 1601)
    assert (exc.value.status, exc.value.code) == (400, 21617)
    assert fake.messages == []
    assert [r["code"] for r in fake.rejected] == [21603, 21602, 21617]


def test_missing_to_gives_21604(fake):
    # The library itself requires `to`, so post the form by hand.
    auth = base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    response = requests.post(
        f"{fake.base_url}/2010-04-01/Accounts/{SID}/Messages.json",
        data={"From": FROM, "Body": "hi"},
        headers={"Authorization": f"Basic {auth}"},
        timeout=5,
    )
    assert response.status_code == 400
    assert response.json() == {
        "code": 21604,
        "message": "A 'To' phone number is required.",
        "more_info": "https://www.twilio.com/docs/errors/21604",
        "status": 400,
    }


def test_call_create(fake, client):
    call = client.calls.create(
        to=TO,
        from_=FROM,
        url="https://line.example.org/twilio/voice",
        status_callback="https://line.example.org/twilio/call-status",
    )
    assert call.sid.startswith("CA") and len(call.sid) == 34
    assert call.status == "queued"
    assert call.to == TO and call._from == FROM
    [rec] = fake.calls
    assert rec["sid"] == call.sid
    assert rec["url"] == "https://line.example.org/twilio/voice"
    assert rec["status_callback"] == "https://line.example.org/twilio/call-status"

    call = client.calls.create(to=TO, from_=FROM, twiml="<Response><Say>Hi</Say></Response>")
    assert fake.calls[1]["twiml"] == "<Response><Say>Hi</Say></Response>"
    assert fake.messages == []


def test_fail_to_opted_out(fake, client):
    fake.fail_to(TO, 21610)
    with pytest.raises(TwilioRestException) as exc:
        client.messages.create(to=TO, from_=FROM, body="hello")
    assert exc.value.code == 21610
    assert exc.value.status == 400
    assert "unsubscribed" in exc.value.msg
    assert fake.messages == []
    other = client.messages.create(to="+12125550000", from_=FROM, body="hello")
    assert other.status == "queued"
    fake.clear_failures()
    assert client.messages.create(to=TO, from_=FROM, body="hello").sid


@pytest.mark.parametrize("code", [21211, 21614, 21408])
def test_fail_to_permanent_codes(fake, client, code):
    fake.fail_to(TO, code)
    with pytest.raises(TwilioRestException) as exc:
        client.messages.create(to=TO, from_=FROM, body="hello")
    assert (exc.value.status, exc.value.code) == (400, code)


def test_fail_next_500_then_success(fake, client):
    fake.fail_next(1, 500)
    with pytest.raises(TwilioRestException) as exc:
        client.messages.create(to=TO, from_=FROM, body="hello")
    assert exc.value.status == 500
    assert exc.value.code == 20500
    msg = client.messages.create(to=TO, from_=FROM, body="hello")
    assert msg.status == "queued"
    assert len(fake.messages) == 1
    assert fake.requests_count == 2


def test_fail_next_queues_and_counts(fake, client):
    fake.fail_next(2, 503)
    fake.fail_next(1, 500, code=12345)
    seen = []
    for _ in range(4):
        try:
            client.messages.create(to=TO, from_=FROM, body="hello")
            seen.append("ok")
        except TwilioRestException as exc:
            seen.append((exc.status, exc.code))
    assert seen == [(503, 20503), (503, 20503), (500, 12345), "ok"]


def test_429(fake, client):
    fake.fail_next(1, 429)
    with pytest.raises(TwilioRestException) as exc:
        client.messages.create(to=TO, from_=FROM, body="hello")
    assert (exc.value.status, exc.value.code) == (429, 20429)
    assert client.messages.create(to=TO, from_=FROM, body="hello").sid


def test_wrong_auth_is_401(fake):
    client = make_client(fake, token="not-the-token")
    with pytest.raises(TwilioRestException) as exc:
        client.messages.create(to=TO, from_=FROM, body="hello")
    assert exc.value.status == 401
    assert exc.value.code == 20003
    assert fake.messages == []


def test_missing_auth_is_401(fake):
    response = requests.post(
        f"{fake.base_url}/2010-04-01/Accounts/{SID}/Messages.json",
        data={"To": TO, "From": FROM, "Body": "hi"},
        timeout=5,
    )
    assert response.status_code == 401
    assert response.json()["code"] == 20003
    assert response.headers["WWW-Authenticate"].startswith("Basic")


def test_api_key_auth(fake):
    key = "SK" + "0" * 32
    client = Client(key, TOKEN, SID, http_client=RedirectingHttpClient(fake.base_url))
    assert client.messages.create(to=TO, from_=FROM, body="hello").sid


def test_other_account(fake):
    other = "AC" + "f" * 32
    client = Client(other, TOKEN, http_client=RedirectingHttpClient(fake.base_url))
    with pytest.raises(TwilioRestException) as exc:
        client.messages.create(to=TO, from_=FROM, body="hello")
    assert (exc.value.status, exc.value.code) == (401, 20003)
    key = "SK" + "0" * 32
    client = Client(key, TOKEN, other, http_client=RedirectingHttpClient(fake.base_url))
    with pytest.raises(TwilioRestException) as exc:
        client.messages.create(to=TO, from_=FROM, body="hello")
    assert (exc.value.status, exc.value.code) == (404, 20404)


def test_client_timeout_raises_requests_read_timeout(fake):
    client = make_client(fake, timeout=0.5)
    fake.delay_next(1, 2.0)
    with pytest.raises(requests.exceptions.ReadTimeout):
        client.messages.create(to=TO, from_=FROM, body="slow")
    # The next create is not delayed and works on the same client.
    assert client.messages.create(to=TO, from_=FROM, body="fast").status == "queued"


def test_reset_forgets_everything(fake, client):
    client.messages.create(to=TO, from_=FROM, body="hello")
    fake.fail_to(TO, 21610)
    fake.fail_next(3)
    fake.reset()
    assert fake.messages == [] and fake.calls == [] and fake.requests_count == 0
    assert client.messages.create(to=TO, from_=FROM, body="hello").sid


def test_keep_alive_and_content_length(fake):
    auth = base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    conn = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=5)
    try:
        for i in range(3):
            conn.request(
                "POST",
                f"/2010-04-01/Accounts/{SID}/Messages.json",
                body=f"To=%2B1212555000{i}&From=%2B15005550006&Body=hi",
                headers={
                    "Authorization": f"Basic {auth}",
                    "Content-Type": "application/x-www-form-urlencoded",
                },
            )
            response = conn.getresponse()
            payload = response.read()
            assert response.status == 201
            assert response.version == 11
            assert int(response.getheader("Content-Length")) == len(payload)
            assert json.loads(payload)["to"] == f"+1212555000{i}"
    finally:
        conn.close()
    assert len(fake.messages) == 3


def test_unknown_path_is_404(fake):
    url = f"{fake.base_url}/2010-04-01/Accounts/{SID}/Nope.json"
    assert requests.get(url, timeout=5).status_code == 401  # authentication comes first
    response = requests.get(url, auth=(SID, TOKEN), timeout=5)
    assert response.status_code == 404
    assert response.json()["code"] == 20404
    assert response.json()["more_info"] == "https://www.twilio.com/docs/errors/20404"


def test_num_segments():
    assert num_segments("a" * 160) == 1
    assert num_segments("a" * 161) == 2
    assert num_segments("a" * 306) == 2
    assert num_segments("\u201chi\u201d") == 1
    assert num_segments("\u201c" * 71) == 2
    assert num_segments("[" * 80) == 1
    assert num_segments("[" * 81) == 2


def test_200_sequential_creates(fake, client):
    sids = {client.messages.create(to=TO, from_=FROM, body=f"n{i}").sid for i in range(200)}
    assert len(sids) == 200
    assert [m["body"] for m in fake.messages] == [f"n{i}" for i in range(200)]
    assert fake.requests_count == 200


def test_concurrent_creates_are_all_recorded(fake):
    errors = []

    def send(worker: int):
        client = make_client(fake)
        try:
            for i in range(50):
                client.messages.create(to=TO, from_=FROM, body=f"{worker}-{i}")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(fake.messages) == 200
    assert len({m["sid"] for m in fake.messages}) == 200


def test_stop_is_idempotent_and_restartable():
    fake = FakeTwilio(account_sid=SID, auth_token=TOKEN)
    fake.start()
    client = make_client(fake)
    assert client.messages.create(to=TO, from_=FROM, body="one").sid
    fake.stop()
    fake.stop()
    with pytest.raises(RuntimeError):
        fake.base_url  # noqa: B018
    with fake:  # records survive a restart; the port is a new ephemeral one
        assert make_client(fake).messages.create(to=TO, from_=FROM, body="two").sid
        assert [m["body"] for m in fake.messages] == ["one", "two"]


def test_messages_list_filters_by_to_from_and_day_sent_newest_first(fake, client):
    from datetime import UTC, datetime, timedelta

    first = client.messages.create(to=TO, from_=FROM, body="one").sid
    client.messages.create(to="+12125550000", from_=FROM, body="elsewhere")
    client.messages.create(to=TO, from_="+15005550001", body="another sender")
    second = client.messages.create(to=TO, from_=FROM, body="two").sid
    today = datetime.now(UTC)
    found = client.messages.list(to=TO, from_=FROM, date_sent_after=today - timedelta(days=1))
    assert [m.sid for m in found] == [second, first]
    assert [m.body for m in found] == ["two", "one"] and found[0].date_sent is not None
    assert client.messages.list(to=TO, from_=FROM, date_sent_after=today + timedelta(days=1)) == []
    assert len(client.messages.list(to=TO)) == 3


def test_calls_list_filters_by_to_and_from(fake, client):
    sid = client.calls.create(to=TO, from_=FROM, url="https://example.org/x").sid
    client.calls.create(to="+12125550000", from_=FROM, url="https://example.org/x")
    assert [c.sid for c in client.calls.list(to=TO, from_=FROM)] == [sid]


def test_hang_next_accepts_then_answers_too_late(fake):
    fake.hang_next(1, 2.0)
    with pytest.raises(requests.exceptions.Timeout):
        make_client(fake, timeout=0.3).messages.create(to=TO, from_=FROM, body="took it")
    wait_until(lambda: fake.hung == 1)  # its server thread may lag on a loaded machine
    assert [m["body"] for m in fake.messages] == ["took it"]
    assert make_client(fake).messages.create(to=TO, from_=FROM, body="next").status == "queued"


def test_random_faults_fail_lists_too_and_repeat_with_their_seed(fake, client):
    fake.random_faults(seed=7, error_500=1.0)
    with pytest.raises(TwilioException, match="Unable to fetch page"):  # how lists fail
        client.messages.list(to=TO)
    fake.random_faults(seed=7, error_429=1.0)
    with pytest.raises(TwilioRestException) as error:
        client.messages.create(to=TO, from_=FROM, body="x")
    assert error.value.status == 429 and fake.messages == []
    fake.clear_failures()
    assert client.messages.create(to=TO, from_=FROM, body="x").sid


# --- deleting photos and recordings ---------------------------------------------------------


def _media_sids(url: str) -> tuple[str, str]:
    parts = url.rstrip("/").split("/")
    return parts[-3], parts[-1]  # .../Messages/{MM}/Media/{ME}


def test_a_stored_photo_is_deleted_once_then_is_not_found(fake, client):
    url = fake.add_media()
    message_sid, sid = _media_sids(url)
    assert url.startswith(f"https://api.twilio.com/2010-04-01/Accounts/{SID}/Messages/MM")
    assert client.messages(message_sid).media(sid).delete() is True
    assert fake.stored_media == []
    with pytest.raises(TwilioRestException) as error:
        client.messages(message_sid).media(sid).delete()
    assert (error.value.status, error.value.code) == (404, 20404)
    assert [d["status"] for d in fake.deletes] == [204, 404]


def test_a_stored_recording_is_deleted(fake, client):
    sid = fake.add_recording().rsplit("/", 1)[1]
    other = fake.add_recording().rsplit("/", 1)[1]
    assert client.recordings(sid).delete() is True
    assert fake.stored_recordings == [other]


def test_a_photo_named_under_another_message_is_not_found(fake, client):
    _, sid = _media_sids(fake.add_media())
    with pytest.raises(TwilioRestException) as error:
        client.messages("MM" + "0" * 32).media(sid).delete()
    assert error.value.status == 404 and len(fake.stored_media) == 1


def test_deletes_need_credentials_and_fail_when_told(fake, client):
    sid = fake.add_recording().rsplit("/", 1)[1]
    with pytest.raises(TwilioRestException) as error:
        make_client(fake, token="wrong").recordings(sid).delete()
    assert error.value.status == 401
    fake.fail_next_deletes(1, status=503)
    with pytest.raises(TwilioRestException) as error:
        client.recordings(sid).delete()
    assert (error.value.status, error.value.code) == (503, 20503)
    assert fake.stored_recordings == [sid]
    assert client.recordings(sid).delete() is True  # the failure was used up
    assert fake.messages == [] and fake.rejected == []  # creates are not touched
