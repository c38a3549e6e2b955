"""Escalation as data: the plan the line walks (INTAKE_ESCALATION_PLAN, or today's from the
wait and rounds), and the escalation log the case page shows as a timeline.

Every line here runs on the test's settable clock (the `clock` fixture): time moves only
when a test moves it, so nothing sleeps and nothing reads the wall clock.
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from intake.app import create_app
from intake.core import audit
from intake.core.models import Outbound
from intake.domain.enums import EscalationAction, Medium
from intake.domain.escalation_plan import (
    EVERYONE,
    FALLBACK,
    NEXT,
    ON_CALL,
    Step,
    default_plan,
    describe,
    parse_plan,
)
from intake.infra.config import ConfigError, Settings
from intake.infra.timefmt import local_time
from intake.infra.transport import TwilioTransport
from tests.conftest import Phone, signed_post, twilio_settings
from tests.dashboard_helpers import WORKER, make_account, sign_in
from tests.test_oncall import ANA, BEN, add, staff, texts_to, the_alert, the_case, tick
from tests.test_oncall import FALLBACK as FALLBACK_NUMBER
from tests.test_sms_webhook import intake

# texted, then called, then the next person, then the fallback number
PLAN = "on_call by text, wait 5m; on_call by call, wait 5m; next, wait 5m; fallback"
OFFICE = ZoneInfo("America/Los_Angeles")  # not the default zone: the page uses the office's

pytestmark = pytest.mark.usefixtures("clock")


@pytest.fixture
def settings(db_url, tmp_path, fake):
    return twilio_settings(
        db_url,
        tmp_path,
        fake,
        fallback_alert_number=FALLBACK_NUMBER,
        escalation_plan=parse_plan(PLAN),
        timezone=OFFICE.key,
    )


def steps_taken(line) -> list[str]:
    """The escalation log of the case, as staff read it."""
    with line.db.sessions() as s:
        return [audit.escalation_words(e) for e in audit.escalation_log(s, the_case(line))]


# --- the plan as data ------------------------------------------------------------------------


def test_the_default_plan_is_todays_escalation(tmp_path):
    settings = Settings.from_env({"INTAKE_INSTANCE_DIR": str(tmp_path)})
    assert settings.plan == (
        Step(ON_CALL, wait=timedelta(minutes=5)),
        Step(NEXT, wait=timedelta(minutes=5), rounds=3),
        Step(EVERYONE),
        Step(FALLBACK),
    )
    env = {"INTAKE_INSTANCE_DIR": str(tmp_path), "INTAKE_ESCALATION_WAIT": "2m"}
    env["INTAKE_ESCALATION_ROUNDS"] = "1"
    assert Settings.from_env(env).plan == default_plan(timedelta(minutes=2), 1)


def test_the_staffs_plan_is_read_from_the_setting_and_said_back_the_same(tmp_path):
    env = {"INTAKE_INSTANCE_DIR": str(tmp_path), "INTAKE_ESCALATION_PLAN": PLAN}
    plan = Settings.from_env(env).plan
    assert plan == (
        Step(ON_CALL, by="text", wait=timedelta(minutes=5)),
        Step(ON_CALL, by="call", wait=timedelta(minutes=5)),
        Step(NEXT, wait=timedelta(minutes=5)),
        Step(FALLBACK),
    )
    assert describe(plan) == PLAN
    assert parse_plan(describe(default_plan(timedelta(minutes=5), 3))) == default_plan(
        timedelta(minutes=5), 3
    )


@pytest.mark.parametrize(
    "plan, complaint",
    [
        ("on_call, wait 5m; everybody", "step 2 ('everybody'): 'everybody' is not one of"),
        ("on_call by pigeon, wait 5m; fallback", "step 1"),
        ("on_call, wait five; fallback", "'five' is not a wait like 30s, 5m or 1h"),
        ("on_call; next; everyone", "no step waits: everyone would be woken at once"),
        ("fallback by call", "the fallback number is texted, never called"),
        ("everyone, 3 rounds", "only a 'next' step goes round the chain"),
        (" ; ", "the plan has no steps"),
    ],
)
def test_a_bad_plan_stops_the_line_at_start_saying_what_is_wrong(tmp_path, plan, complaint):
    env = {"INTAKE_INSTANCE_DIR": str(tmp_path), "INTAKE_ESCALATION_PLAN": plan}
    with pytest.raises(ConfigError) as error:
        Settings.from_env(env)
    assert "INTAKE_ESCALATION_PLAN: " in str(error.value) and complaint in str(error.value)


# --- the escalator walks the plan -----------------------------------------------------------


def test_a_custom_plan_texts_then_calls_then_the_next_person_then_the_fallback(
    line, phone, fake, transport
):
    add(line, "Ana", ANA)  # asked to be texted: the plan's second step calls her anyway
    add(line, "Ben", BEN)
    intake(phone)
    start = line.clock.now()
    tick(line, transport, start)
    assert len(texts_to(fake, ANA)) == 1 and fake.calls == []
    tick(line, transport, start + timedelta(minutes=4))
    assert fake.calls == []  # the wait is not over
    tick(line, transport, start + timedelta(minutes=5, seconds=1))
    assert [c["to"] for c in fake.calls] == [ANA] and texts_to(fake, BEN) == []
    tick(line, transport, start + timedelta(minutes=10, seconds=2))
    assert len(texts_to(fake, BEN)) == 1 and texts_to(fake, FALLBACK_NUMBER) == []
    tick(line, transport, start + timedelta(minutes=15, seconds=3))
    [fallback] = texts_to(fake, FALLBACK_NUMBER)
    assert the_case(line).ref in fallback
    assert the_alert(line).status == "exhausted"
    assert steps_taken(line) == [
        "alert started (intake)",
        "texted Ana",
        "called Ana",
        "texted Ben",
        "texted the fallback number",
        "the plan is over: nobody took it",
    ]
    staff_texts = [m for m in fake.messages if m["to"] != phone.number]
    tick(line, transport, start + timedelta(hours=2))
    assert [m for m in fake.messages if m["to"] != phone.number] == staff_texts
    assert len(fake.calls) == 1


def test_the_default_plan_goes_round_the_chain_then_wakes_everyone(db_url, tmp_path, fake, clock):
    settings = twilio_settings(
        db_url, tmp_path, fake, fallback_alert_number=FALLBACK_NUMBER, escalation_rounds=2
    )
    app = create_app(settings, clock)
    line, transport = app.extensions["intake"], TwilioTransport(settings, timeout=2.0)
    add(line, "Ana", ANA)
    add(line, "Ben", BEN)
    intake(Phone(app, settings))
    start = line.clock.now()
    for n in range(1, 6):
        tick(line, transport, start + timedelta(minutes=5 * n - 4))
    assert len(texts_to(fake, ANA)) == 3 and len(texts_to(fake, BEN)) == 3  # 2 rounds, then all
    assert "URGENT" in texts_to(fake, FALLBACK_NUMBER)[0]
    assert steps_taken(line)[1:] == [
        "texted Ana",
        "texted Ben",
        "texted Ana",
        "texted Ben",
        "texted Ana",
        "texted Ben",
        "texted the fallback number",
        "the plan is over: nobody took it",
    ]
    line.db.dispose()


def test_found_stands_the_escalation_down_and_the_log_says_so(line, phone, fake, transport):
    add(line, "Ana", ANA)
    intake(phone)
    start = line.clock.now()
    tick(line, transport, start)
    phone.text("FOUND")
    tick(line, transport, start + timedelta(minutes=30))
    assert fake.calls == [] and len(texts_to(fake, ANA)) == 2  # the alert, then "stood down"
    assert steps_taken(line) == ["alert started (intake)", "texted Ana", "stood down (found)"]


@pytest.mark.parametrize(
    "status, said", [("busy", "called Ana, busy"), ("failed", "could not reach Ana")]
)
def test_a_call_not_answered_is_logged_as_twilio_reported_it(
    app, line, phone, fake, transport, status, said
):
    add(line, "Ana", ANA, by="call")
    add(line, "Ben", BEN)
    intake(phone)  # the plan's first step texts Ana; 5 minutes on, its second calls her
    tick(line, transport, line.clock.now() + timedelta(minutes=5))
    [call] = fake.calls
    with line.db.sessions() as s:
        row = s.scalars(select(Outbound).where(Outbound.channel == Medium.VOICE)).one()
    params = {"CallSid": call["sid"], "CallStatus": status}
    assert signed_post(app, f"/twilio/call-status?outbox={row.id}", params).status_code == 204
    tick(line, transport)  # not reached: on to the next step at once
    assert steps_taken(line)[-3:] == ["called Ana", said, "texted Ben"]


# --- the escalation timeline on the case page -----------------------------------------------


def test_the_case_page_shows_each_step_with_staff_names_in_the_offices_time(
    app, line, client, phone, settings, fake, transport
):
    add(line, "Dana", ANA)
    add(line, "Sam", BEN)
    start = line.clock.now()
    intake(phone)  # the plan: text Dana; 5 minutes on, call her; 5 more, text the next
    tick(line, transport, start + timedelta(minutes=5))
    [call] = fake.calls
    with line.db.sessions() as s:
        row = s.scalars(select(Outbound).where(Outbound.channel == Medium.VOICE)).one()
    params = {"CallSid": call["sid"], "CallStatus": "no-answer"}
    assert signed_post(app, f"/twilio/call-status?outbox={row.id}", params).status_code == 204
    tick(line, transport, start + timedelta(minutes=10))
    assert len(texts_to(fake, BEN)) == 1
    line.clock.advance(minutes=1)
    assert "yours" in staff(app, settings, BEN).reply("ACK")

    make_account(line, WORKER, phone=ANA)
    assert sign_in(client, WORKER).status_code == 302
    page = client.get(f"/dashboard/cases/{the_case(line).ref}").get_data(as_text=True)
    timeline = page[page.index('id="timeline-h"') :]
    timeline = timeline[: timeline.index("</section>")]

    def shown(minutes: int, who: str, words: str) -> str:
        at = local_time(start + timedelta(minutes=minutes), OFFICE)  # e.g. 2026-12-07 02:14 PST
        return f'<time>{at}</time> <strong>{who}</strong>: <span class="body">{words}</span>'

    said = [
        shown(0, "Line", "alert started (intake)"),
        shown(0, "Line", "texted Dana"),
        shown(5, "Line", "called Dana"),
        shown(5, "Line", "called Dana, no answer"),
        shown(10, "Line", "texted Sam"),
        shown(11, "Sam", "Sam took it"),
    ]
    places = [timeline.index(step) for step in said]
    assert places == sorted(places)
    assert ANA not in timeline and BEN not in timeline  # names, never numbers
    assert local_time(start, OFFICE).endswith(("PST", "PDT"))


def test_every_step_the_log_can_keep_has_words_for_the_case_page():
    assert set(audit.ESCALATION_WORDS) == set(EscalationAction)
    with pytest.raises(ValueError):
        audit.escalation(None, None, "paged", None)  # not a step the log knows
