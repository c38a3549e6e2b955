"""With Twilio credentials and the simulator both on, a simulated intake is a test case: it
is labelled so on the dashboard, and nothing about it reaches a real phone (no page to real
staff, no text to the fictitious caregiver through Twilio). Real cases beside it page as ever.

The simulator's own endpoints (signed in as an admin), the signed webhooks, the real twilio
client and the fake Twilio.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from intake.app import create_app
from intake.core.models import Case, Outbound
from intake.infra.transport import TwilioTransport
from intake.oncall import roster
from tests.conftest import Phone, twilio_settings
from tests.dashboard_helpers import PASSWORD, csrf, make_account
from tests.test_oncall import texts_to, tick
from tests.test_simulator_page import Browser
from tests.test_sms_webhook import intake

pytestmark = pytest.mark.usefixtures("clock")  # time moves when the test moves it

ANA = "+13125557788"  # a real-looking number: the simulator must never reach it
FALLBACK = "+13125557799"
SIMULATED = "+12125550147"  # 555-0100..0199: the simulator's caregiver


def drill_app(db_url, tmp_path, fake, simulator: bool, clock):
    settings = twilio_settings(
        db_url, tmp_path, fake, simulator=simulator, fallback_alert_number=FALLBACK
    )
    app = create_app(settings, clock)
    with app.extensions["intake"].db.transaction() as s:
        roster.add(s, "Ana", ANA)
    return app


@pytest.fixture
def drill(db_url, tmp_path, fake, monkeypatch, clock):
    from intake.web import simulator as page

    monkeypatch.setattr(page, "signed_in_admin", lambda: True)  # the dashboard's sign-in
    app = drill_app(db_url, tmp_path, fake, simulator=True, clock=clock)
    yield app
    app.extensions["intake"].db.dispose()


def by_ref(line) -> dict[str, Case]:
    with line.db.sessions() as s:
        return {c.ref: c for c in s.scalars(select(Case))}


def test_a_simulated_intake_never_pages_real_staff_and_a_real_one_still_does(drill, fake):
    line = drill.extensions["intake"]
    transport = TwilioTransport(line.settings, timeout=2.0)
    real = Phone(drill, line.settings)
    intake(real)
    test_ref = Browser(drill).intake(SIMULATED)
    start = line.clock.now()
    tick(line, transport, start)
    assert by_ref(line)[test_ref].is_test
    real_ref = next(ref for ref, case in by_ref(line).items() if not case.is_test)
    [page] = texts_to(fake, ANA)  # one text, the real case alone: never combined
    assert real_ref in page and test_ref not in page
    for minutes in range(5, 70, 5):  # the test alert escalates to everyone and the fallback
        tick(line, transport, start + timedelta(minutes=minutes))
    everything = [m["body"] for m in fake.messages] + [c["to"] for c in fake.calls]
    assert not any(test_ref in body for body in everything)
    assert not [m for m in fake.messages if m["to"] == SIMULATED]
    with line.db.sessions() as s:
        test_case = by_ref(line)[test_ref]
        local = s.scalars(select(Outbound).where(Outbound.case_id == test_case.id)).all()
    sent = [row for row in local if row.status == "sent"]
    assert {row.to_phone for row in sent} >= {ANA, FALLBACK, SIMULATED}  # kept, shown locally
    assert all(row.twilio_sid.startswith("LOCAL") for row in sent)


def test_ack_from_real_staff_never_takes_a_test_case(drill, fake):
    line = drill.extensions["intake"]
    transport = TwilioTransport(line.settings, timeout=2.0)
    intake(Phone(drill, line.settings))
    Browser(drill).intake(SIMULATED)  # the newest alert to Ana is the test one
    tick(line, transport)
    reply = Phone(drill, line.settings, ANA).reply("ACK")
    real_ref = next(ref for ref, case in by_ref(line).items() if not case.is_test)
    assert f"Case {real_ref} is yours" in reply
    everything = Phone(drill, line.settings, ANA).reply("ACK ALL")
    assert "no alert to acknowledge" in everything  # the test alert is not hers to take
    with line.db.sessions() as s:
        test_case = s.scalars(select(Case).where(Case.is_test)).one()
        assert test_case.assigned_person_id is None


def test_the_dashboard_labels_a_test_case(drill):
    line = drill.extensions["intake"]
    test_ref = Browser(drill).intake(SIMULATED)
    intake(Phone(drill, line.settings))
    make_account(line, "ana@example.org")  # a worker: no second step to sign in
    drill.config["PREFERRED_URL_SCHEME"] = "https"
    client = drill.test_client()
    form = {"email": "ana@example.org", "password": PASSWORD, "csrf_token": csrf(client)}
    referrer = {"Referer": "https://localhost/dashboard/sign-in"}
    assert client.post("/dashboard/sign-in", data=form, headers=referrer).status_code == 302
    rows = client.get("/dashboard/cases/rows").get_data(as_text=True)
    labelled = [row for row in rows.split("</tr>") if ">Test</span>" in row]
    assert len(labelled) == 1 and test_ref in labelled[0]
    page = client.get(f"/dashboard/cases/{test_ref}").get_data(as_text=True)
    assert ">Test</span>" in page


def test_with_the_simulator_off_a_fictitious_number_is_a_real_caller(db_url, tmp_path, fake, clock):
    app = drill_app(db_url, tmp_path, fake, simulator=False, clock=clock)
    line = app.extensions["intake"]
    intake(Phone(app, line.settings, SIMULATED))
    tick(line, TwilioTransport(line.settings, timeout=2.0))
    [case] = by_ref(line).values()
    assert not case.is_test
    assert case.ref in texts_to(fake, ANA)[0]  # an emergency line never drops a page on a guess
    line.db.dispose()
