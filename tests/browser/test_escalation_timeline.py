"""The case page's escalation timeline in Debian's chromium: a signed-in worker reads each
step the line took to wake someone (texted Dana, called Dana, no answer, texted Sam) at
the office's times, by name, with no roster number anywhere on the page; and the same
for a case paged before the log was kept (migration 0019 writes its log from its pages)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from alembic import command
from playwright.sync_api import expect
from sqlalchemy import create_engine, select

from intake.core.models import Case, Outbound
from intake.domain.escalation_plan import parse_plan
from intake.infra import crypto
from intake.infra.migrate import alembic_config, upgrade
from intake.oncall import escalation as oncall
from intake.oncall import paging, roster
from tests.browser.conftest import shoot
from tests.browser.test_dashboard import sign_in
from tests.dashboard_helpers import WORKER, make_account, seed
from tests.test_migrations import stored_before_0019

DANA, SAM = "+12125550142", "+12125550187"
PLAN = "on_call by text, wait 5m; on_call by call, wait 5m; next by text, wait 5m; fallback"


@pytest.fixture
def live_settings_overrides() -> dict:
    return {"escalation_plan": parse_plan(PLAN), "timezone": "America/New_York"}


def at(minute: int) -> datetime:
    """02:mm on a December night in New York (07:mm UTC)."""
    return datetime(2026, 12, 7, 7, minute, tzinfo=UTC)


def a_night_of_paging(line) -> str:
    """Dana texted at 02:14, called at 02:19 and not answering, Sam texted at 02:24: the
    line's own escalator walking the plan, and Twilio's word on the call."""
    with line.db.transaction() as s:
        roster.add(s, "Dana", DANA)
        roster.add(s, "Sam", SAM)
    ref = seed(line, "open", hours_ago=1)
    with line.db.transaction() as s:
        case = s.scalars(select(Case).where(Case.ref == ref)).one()
        case.created_at = at(10)  # the intake that night, finished at 02:14
        oncall.start_alert(s, line, case, "intake", at(14))
    oncall.check_due(line, at(19))
    with line.db.transaction() as s:
        call = s.scalars(select(Outbound).where(Outbound.kind == "alert_call")).one()
        call.delivery_status = "no-answer"
        paging.page_failed(s, call, at(20))
    oncall.check_due(line, at(24))
    return ref


def test_a_worker_reads_who_was_woken_and_when_on_the_case_page(live, page):
    make_account(live.line, WORKER)
    ref = a_night_of_paging(live.line)
    sign_in(page, live)
    page.goto(f"{live.url}/dashboard/cases/{ref}")
    expect(page.get_by_role("heading", name=f"Case {ref}")).to_be_visible()
    steps = page.locator(".timeline li")
    expect(steps).to_have_text(
        [
            re.compile(r"2026-12-07 02:10 EST\s+Line: Case opened$"),
            re.compile(r"2026-12-07 02:14 EST\s+Line: alert started \(intake\)"),
            re.compile(r"2026-12-07 02:14 EST\s+Line: texted Dana$"),
            re.compile(r"2026-12-07 02:19 EST\s+Line: called Dana$"),
            re.compile(r"2026-12-07 02:20 EST\s+Line: called Dana, no answer$"),
            re.compile(r"2026-12-07 02:24 EST\s+Line: texted Sam$"),
        ]
    )
    shoot(page, "case-escalation-timeline")
    html = page.content()
    for number in (DANA, SAM):
        digits = number[2:]  # 2125550142: also as (212) 555-0142, 212-555-0142
        for shown in (number, digits, f"{digits[3:6]}-{digits[6:]}"):
            assert shown not in html, shown


def test_a_case_paged_before_the_log_keeps_its_history_on_the_page(live, page, db_url):
    """An alert paged before migration 0019 has only its pages: 0019 writes its log from
    them, and the page shows it as it shows a new case's."""
    make_account(live.line, WORKER)
    command.downgrade(alembic_config(db_url), "0018")
    engine = create_engine(db_url)
    with engine.begin() as conn:
        ring = live.line.db.engine.dialect.intake_data_keys
        stored_before_0019(conn, crypto.encrypt(ring, "{}"))
    engine.dispose()
    upgrade(db_url)
    sign_in(page, live)
    page.goto(f"{live.url}/dashboard/cases/K7Q2M9")
    expect(page.locator(".timeline li.escalation")).to_have_text(
        [
            re.compile(r"02:10 EST\s+Line: alert started \(intake\)$"),
            re.compile(r"02:14 EST\s+Line: texted Dana$"),
            re.compile(r"02:19 EST\s+Line: called Dana$"),
            re.compile(r"02:19 EST\s+Line: called Dana, no answer$"),
            re.compile(r"02:24 EST\s+Line: texted Sam$"),
            re.compile(r"02:29 EST\s+Line: texted the fallback number$"),
            re.compile(r"02:31 EST\s+Sam: Sam took it$"),
        ]
    )
    shoot(page, "case-escalation-timeline-before-0019")
    html = page.content()
    for number in ("+15550100001", "+15550100002", "+15550100009", "555-0100"):
        assert number not in html, number
