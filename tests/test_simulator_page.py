"""The phone simulator's endpoints (/simulator) through Flask's test client, and its gate."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from intake import scheduler
from intake.app import create_app
from intake.cli.main import addresses
from intake.core.models import Message
from intake.core.words import facts
from intake.infra.config import ConfigError, Settings
from intake.infra.transport import LocalTransport
from intake.oncall import roster
from intake.simulator import phone as simulator
from tests.conftest import ACCOUNT, LINE_NUMBER, make_settings
from tests.test_sms_webhook import ANSWERS

CAREGIVER = "+12125550147"
DANA = "+12125550181"
NCMEC = facts()["ncmec_digits"]
HELLO = {"phone": CAREGIVER, "body": "hi"}


class Browser:
    """What the page's script does: JSON requests carrying the page's CSRF token."""

    def __init__(self, app):
        self.client = app.test_client()
        self.page = self.client.get("/simulator/")
        found = re.search(r'name="csrf-token" content="([^"]+)"', self.page.get_data(as_text=True))
        self.token = found[1] if found else ""

    def post(self, path: str, data, token: bool = True):
        headers = {"X-CSRFToken": self.token} if token else {}
        return self.client.post("/simulator" + path, json=data, headers=headers)

    def text(self, body: str, phone: str = CAREGIVER, photo: bool = False) -> list[str]:
        answer = self.post("/text", {"phone": phone, "body": body, "photo": photo})
        assert answer.status_code == 200, answer.get_json()
        return answer.get_json()["replies"]

    def inbox(self, *phones: str) -> dict[str, list[dict]]:
        answer = self.post("/inbox", {"phones": list(phones)})
        assert answer.status_code == 200, answer.get_json()
        return answer.get_json()["texts"]

    def call(self, path: str, data) -> dict:
        answer = self.post(path, data)
        assert answer.status_code == 200, answer.get_json()
        return answer.get_json()

    def intake(self, phone: str = CAREGIVER) -> str:
        """A whole intake typed on the simulated phone; returns the case reference."""
        self.text("my daughter is missing", phone)
        for answer in [*ANSWERS, "SKIP"]:
            self.text(answer, phone)
        [summary] = self.text("SAME", phone)
        return re.search(r"case number is (\w+)", summary)[1]


@pytest.fixture
def browser(app) -> Browser:
    return Browser(app)


def add(line, name: str, phone: str, by: str = "sms") -> None:
    with line.db.transaction() as session:
        roster.add(session, name, phone, by)


def send_due(line) -> None:
    """One tick of the clock `intake run` keeps: due texts go out (locally)."""
    scheduler.dispatch_job(line, LocalTransport())


# --- the page ---------------------------------------------------------------------------------


def test_the_page_offers_the_caregiver_and_every_staff_phone(app, line):
    add(line, "Dana Reyes", DANA)
    page = Browser(app).page
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert CAREGIVER in html and f'value="{DANA}"' in html and "Dana Reyes" in html
    assert "<script>" not in html and "style=" not in html  # the CSP allows neither
    assert "/simulator/static/simulator.js" in html


def test_the_script_and_the_sample_photo_are_served(client):
    assert client.get("/simulator/static/simulator.js").status_code == 200
    photo = client.get("/simulator/static/sample-photo.jpg")
    assert photo.status_code == 200 and photo.mimetype == "image/jpeg"


# --- texts ------------------------------------------------------------------------------------


def test_a_text_goes_through_the_signed_webhook_and_the_reply_comes_back(app, line, browser):
    [reply] = browser.text("please help my son is missing")
    assert "911" in reply and NCMEC in reply
    with line.db.sessions() as session:  # the line kept it as it keeps Twilio's
        kept = session.scalar(select(func.count()).select_from(Message))
    assert kept >= 1


def test_a_whole_intake_in_the_simulator_alerts_the_staff_phone(app, line, browser):
    add(line, "Dana Reyes", DANA)
    ref = browser.intake()
    assert browser.inbox(DANA)[DANA] == []  # not sent yet: the clock has not ticked
    send_due(line)
    [alert] = browser.inbox(DANA)[DANA]
    assert alert["kind"] == "alert" and ref in alert["body"] and alert["status"] == "sent"
    [card] = browser.inbox(CAREGIVER)[CAREGIVER]  # follow-ups wait for their time
    assert card["kind"] == "card" and ref in card["body"]


def test_a_staff_phone_answers_ack_and_relays_to_the_caregiver(app, line, browser):
    add(line, "Dana Reyes", DANA)
    ref = browser.intake()
    send_due(line)
    [taken] = browser.text("ACK", DANA)
    assert f"Case {ref} is yours" in taken and CAREGIVER in taken
    browser.text(f"R {ref} This is Dana Reyes, I am calling you now.", DANA)
    send_due(line)
    card, told, relayed = browser.inbox(CAREGIVER)[CAREGIVER]
    assert card["kind"] == "card"
    assert told["kind"] == "caregiver_told" and "Dana Reyes has your case" in told["body"]
    assert relayed["kind"] == "relay" and "This is Dana Reyes" in relayed["body"]


def test_a_photo_is_sent_as_a_picture_message(app, line, browser):
    browser.text("my daughter is missing")
    for answer in ANSWERS:
        browser.text(answer)
    [asked] = browser.text("", photo=True)
    assert "best phone number" in asked  # the photo answered the photo question


@pytest.mark.parametrize(
    "data, why",
    [
        ({"phone": "not a number", "body": "hi"}, "not a phone number"),
        ({"phone": CAREGIVER, "body": "   "}, "Type a text"),
        ({"phone": CAREGIVER, "body": "x" * 1601}, "Type a text"),
        ({"phone": CAREGIVER}, "Type a text"),
        (["a list"], "JSON object"),
    ],
)
def test_bad_input_gets_a_plain_400_and_sends_nothing(app, line, browser, data, why):
    answer = browser.post("/text", data)
    assert answer.status_code == 400 and why in answer.get_json()["error"]
    with line.db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Message)) == 0


def test_a_post_without_the_pages_csrf_token_is_refused(app, line, browser):
    answer = browser.post("/text", {"phone": CAREGIVER, "body": "hi"}, token=False)
    assert answer.status_code == 400
    with line.db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Message)) == 0


@pytest.mark.parametrize("phones", [[CAREGIVER] * 31, [[CAREGIVER]], CAREGIVER, ["not a number"]])
def test_the_inbox_refuses_what_is_not_a_short_list_of_numbers(browser, phones):
    answer = browser.post("/inbox", {"phones": phones})
    assert answer.status_code == 400 and answer.get_json()["error"]


# --- calls ------------------------------------------------------------------------------------


def test_a_call_says_the_emergency_words_and_follows_key_presses(browser):
    call = browser.call("/calls", {"phone": CAREGIVER})
    said = " ".join(line["text"] for line in call["heard"])
    assert "Call your police now" in said and "NCMEC" in said
    assert call["waits"] == "dtmf" and call["digits"] == 1 and not call["ended"]
    assert call["timeout"] == 3  # the menu's Gather: keys typed go after 3 quiet seconds
    before = len(call["heard"])
    call = browser.call(f"/calls/{call['id']}", {"move": "keys", "value": "0"})
    assert call["heard"][before] == {"who": "you", "text": "[you press 0]", "lang": "en-US"}
    assert "calling the person on call" in " ".join(line["text"] for line in call["heard"][before:])
    call = browser.call(f"/calls/{call['id']}", {"move": "hangup"})
    assert call["ended"] and call["waits"] == ""


def test_a_dialled_person_who_answers_is_heard_on_the_call(app, line, browser):
    add(line, "Dana Reyes", DANA, by="call")
    call = browser.call("/calls", {"phone": CAREGIVER, "staff_answer": True})
    call = browser.call(f"/calls/{call['id']}", {"move": "keys", "value": "0"})
    assert any(line["who"] == DANA for line in call["heard"])  # the screening Dana hears


def test_an_alert_call_to_a_staff_phone_is_answered_in_the_simulator(app, line, browser):
    add(line, "Dana Reyes", DANA, by="call")
    ref = browser.intake()
    send_due(line)
    [placed] = browser.inbox(DANA)[DANA]
    assert placed["channel"] == "voice" and placed["kind"] == "alert_call"
    call = browser.call("/calls/answer", {"phone": DANA, "outbox": placed["id"]})
    assert any("Press 1" in line["text"] for line in call["heard"])
    call = browser.call(f"/calls/{call['id']}", {"move": "keys", "value": "1"})
    assert any("is yours" in line["text"] for line in call["heard"]) and call["ended"]
    assert ref


def test_answering_a_call_the_line_never_placed_is_refused(browser):
    answer = browser.post("/calls/answer", {"phone": DANA, "outbox": 12345})
    assert answer.status_code == 404


def test_a_move_on_an_unknown_call_or_of_an_unknown_kind_is_refused(browser):
    assert browser.post("/calls/nosuchcall", {"move": "keys", "value": "1"}).status_code == 404
    call = browser.call("/calls", {"phone": CAREGIVER})
    assert browser.post(f"/calls/{call['id']}", {"move": "dance"}).status_code == 400


def test_kept_calls_expire_when_idle_and_make_room_when_full():
    now = [0.0]
    calls = simulator.HeldCalls(idle=60, most=2, clock=lambda: now[0])
    first, _ = calls.start(CAREGIVER, lambda listener: None)
    now[0] = 30
    second, _ = calls.start(CAREGIVER, lambda listener: None)
    third, _ = calls.start(CAREGIVER, lambda listener: None)  # full: the oldest goes
    assert calls.get(first) is None and calls.get(second) is not None
    now[0] = 200
    assert calls.get(third) is None


# --- fictitious numbers and the gate -----------------------------------------------------------


@pytest.mark.parametrize(
    "number, fictitious",
    [
        ("+12125550100", True),
        ("+12125550199", True),
        ("+13125550147", True),
        ("+12125550200", False),
        ("+12125551234", False),
        ("+442075550147", False),
        ("555-0147", False),
    ],
)
def test_fictitious_numbers_are_555_0100_to_0199(number, fictitious):
    assert simulator.is_fictitious(number) is fictitious


def twilio_app(db_url, tmp_path, **overrides):
    settings = make_settings(
        db_url,
        tmp_path,
        twilio_account_sid=ACCOUNT,
        twilio_phone_number=LINE_NUMBER,
        **overrides,
    )
    return create_app(settings)


@pytest.fixture
def gated(db_url, tmp_path, request):
    app = twilio_app(db_url, tmp_path, **request.param)
    yield app
    app.extensions["intake"].db.dispose()


@pytest.mark.parametrize("gated", [{}], indirect=True)
def test_with_twilio_credentials_the_simulator_is_not_there(gated):
    client = gated.test_client()
    assert client.get("/simulator/").status_code == 404
    assert client.post("/simulator/text", json=HELLO).status_code == 404
    assert client.get("/simulator/static/simulator.js").status_code == 404


@pytest.mark.parametrize("gated", [{"simulator": True}], indirect=True)
def test_with_twilio_and_intake_simulator_on_it_needs_a_signed_in_admin(gated):
    client = gated.test_client()
    page = client.get("/simulator/")
    assert page.status_code == 403 and "admin" in page.get_json()["error"]
    assert client.post("/simulator/text", json=HELLO).status_code == 403
    with gated.extensions["intake"].db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Message)) == 0


@pytest.mark.parametrize("gated", [{"simulator": True}], indirect=True)
def test_with_twilio_an_admin_texts_only_as_a_fictitious_number(gated, monkeypatch):
    from intake.web import simulator as page

    monkeypatch.setattr(page, "signed_in_admin", lambda: True)  # the dashboard's sign-in
    add(gated.extensions["intake"], "Dana Reyes", DANA)
    browser = Browser(gated)
    assert browser.page.status_code == 200
    assert DANA not in browser.page.get_data(as_text=True)  # staff numbers are real ones
    real = browser.post("/text", {"phone": "+12125551234", "body": "hi"})
    assert real.status_code == 400 and "555-0100" in real.get_json()["error"]
    [reply] = browser.text("my son is missing")
    assert NCMEC in reply


def test_local_mode_has_the_simulator_on(client):
    assert client.get("/simulator/").status_code == 200
    bare = client.get("/simulator")  # the address as the issue writes it
    assert bare.status_code == 308 and bare.headers["Location"].endswith("/simulator/")


# --- intake run -------------------------------------------------------------------------------


def test_run_prints_the_simulator_the_dashboard_and_the_first_sign_in(tmp_path):
    local = make_settings("sqlite://", tmp_path)
    shown = "\n".join(addresses(local, "http://127.0.0.1:5000"))
    assert "http://127.0.0.1:5000/simulator/" in shown
    assert "http://127.0.0.1:5000/dashboard" in shown
    assert 'intake staff add --email you@example.org --name "Your Name" --admin' in shown
    live = make_settings("sqlite://", tmp_path, twilio_account_sid=ACCOUNT)
    assert "/simulator/" not in "\n".join(addresses(live, "http://127.0.0.1:5000"))
    drill = make_settings("sqlite://", tmp_path, twilio_account_sid=ACCOUNT, simulator=True)
    assert "admins" in "\n".join(addresses(drill, "http://127.0.0.1:5000"))


# --- INTAKE_SIMULATOR ---------------------------------------------------------------------------


@pytest.mark.parametrize("value, on", [("on", True), ("ON", True), ("off", False), ("", False)])
def test_intake_simulator_is_read_from_the_environment(tmp_path, value, on):
    env = {"INTAKE_INSTANCE_DIR": str(tmp_path), "INTAKE_SIMULATOR": value}
    assert Settings.from_env(env).simulator is on


def test_a_wrong_intake_simulator_value_is_named_at_start(tmp_path):
    env = {"INTAKE_INSTANCE_DIR": str(tmp_path), "INTAKE_SIMULATOR": "yes please"}
    with pytest.raises(ConfigError, match="INTAKE_SIMULATOR must be one of ON, OFF"):
        Settings.from_env(env)
