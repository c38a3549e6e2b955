"""The worker at 3 a.m. (issue 19), on a 360 x 740 phone in the dark scheme: the alert's
link, signing in, taking the case, calling and texting the caregiver, marking it found;
and the cases list, ordered so that an alert nobody has taken is never below the fold
while another case is above it. Screenshots: tests/browser/screenshots/night-*.png."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from intake.core.models import Outbound
from intake.delivery import dispatcher
from intake.infra.transport import LocalTransport
from tests.browser.conftest import (
    SCREENSHOTS,
    assert_on_one_line,
    scroll_regions_reachable,
    shoot,
)
from tests.browser.test_dashboard import CAREGIVER, PHONE, sign_in, whole_intake, worker
from tests.dashboard_helpers import ADMIN, ANA, add_to_roster, make_account, seed
from tests.test_sms_webhook import ANSWERS

__all__ = ["worker"]  # the fixture, shared with test_dashboard.py


@pytest.fixture
def night(browser):
    """A phone at night: 360 x 740, dark scheme."""
    context = browser.new_context(viewport=PHONE, color_scheme="dark")
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def alert_link(live, ref: str) -> str:
    """The link in the text that woke Ana, as the line sent it."""
    dispatcher.dispatch(
        live.line, LocalTransport(), now=live.line.clock.now() + timedelta(seconds=5)
    )
    with live.line.db.sessions() as s:
        bodies = s.scalars(select(Outbound.body).where(Outbound.to_phone == ANA))
        alert = next(b for b in bodies if b and f"MISSING CHILD {ref}" in b)
    return re.search(r"https?://\S+", alert)[0]


def test_from_the_alert_to_found_on_a_phone_at_night(live, worker, night):
    answers = [*ANSWERS]
    answers[3] = "around 9pm"  # not "2 hours ago": the page says when it was said
    ref = whole_intake(live, answers)
    night.goto(alert_link(live, ref))
    expect(night.get_by_role("heading", name="Sign in")).to_be_visible()
    snap(night, "night-1-sign-in")
    sign_in(night, live, path=night.url.removeprefix(live.url))
    expect(night.get_by_role("heading", name=f"Case {ref}")).to_be_visible()
    snap(night, "night-2-case")
    scroll_regions_reachable(night)
    take = night.get_by_role("button", name="Take this case")
    found = night.get_by_role("button", name="Mark found")
    assert style(take) != style(found)  # the everyday action and the final one differ
    take.click()
    expect(night.get_by_role("status")).to_contain_text(f"Case {ref} is yours")
    call = night.get_by_role("link", name="(212) 555-1234", exact=True)
    expect(call).to_have_attribute("href", f"tel:{CAREGIVER}")
    top = night.get_by_role("link", name="Call the caregiver: (212) 555-1234")
    expect(top).to_have_attribute("href", f"tel:{CAREGIVER}")
    expect(top).to_be_in_viewport()  # no scrolling to find the number at night
    expect(night.locator(".answers")).to_contain_text(
        re.compile(r"told at \d\d:\d\d \w+, around 9pm")
    )
    snap(night, "night-3-taken")
    first_reply = night.locator(".transcript li.out").first
    for number in ("1-800-THE-LOST", "(1-800-843-5678)"):  # not "1-" and "800-THE-LOST"
        assert_on_one_line(first_reply.locator(".whole", has_text=number))
    night.get_by_label("Text the caregiver (from the line's number)").fill(
        "This is Ana from Bright Path. I will call you in two minutes."
    )
    night.get_by_role("button", name="Send text").click()
    expect(night.get_by_role("status")).to_contain_text("Sent to the caregiver")
    snap(night, "night-4-texted")
    night.once("dialog", lambda dialog: dialog.accept())
    found.click()
    expect(night.locator("#case-status")).to_have_text("found")
    snap(night, "night-5-found")


def snap(page, name: str, screens: int = 3) -> None:
    """The whole page, and its first screens as a phone shows them, one by one."""
    shoot(page, name)
    height = page.evaluate("document.documentElement.scrollHeight")
    for screen in range(min(screens, -(-height // PHONE["height"]))):
        page.evaluate(f"window.scrollTo(0, {screen * PHONE['height']})")
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{screen + 1}.png"))
    page.evaluate("window.scrollTo(0, 0)")


def style(button) -> tuple:
    return button.evaluate(
        "b => { const s = getComputedStyle(b); return [s.backgroundColor, s.color]; }"
    )


# --- the cases list ----------------------------------------------------------------------


def shown_refs(page) -> list[str]:
    return page.locator("#case-rows tr[data-ref]").evaluate_all(
        "rows => rows.map(r => r.dataset.ref)"
    )


def test_alerts_nobody_took_come_first_and_above_the_fold(live, night):
    make_account(live.line, ADMIN, admin=True)
    old_open = seed(live.line, "open", 30, alert="acked")
    new_open = seed(live.line, "open", 2, alert="acked")
    found = seed(live.line, "found", 40, alert="acked")
    stopped = seed(live.line, "abandoned", 5)
    under_way = seed(live.line, "intake", 0.2)
    waiting_old = seed(live.line, "open", 3, alert="open")
    waiting_intake = seed(live.line, "intake", 1, alert="open")  # stalled: paged mid-intake
    sign_in(night, live, email=ADMIN)
    order = [waiting_old, waiting_intake, old_open, new_open, under_way, stopped, found]
    expect(night.locator("#case-rows tr[data-ref]")).to_have_count(len(order))
    assert shown_refs(night) == order
    headings = night.locator("#case-rows h2").all_inner_texts()
    assert [h.split(" (")[0] for h in headings] == [
        "Alert not acknowledged",
        "Open, longest first",
        "Intake under way",
        "Stopped part-way",
        "Found or closed, latest first",
    ]
    assert_untaken_on_top(night)
    snap(night, "night-list")
    night.set_viewport_size({"width": 1280, "height": 900})
    night.emulate_media(color_scheme="light")
    shoot(night, "dashboard-cases-sections")  # docs/screenshots/dashboard-cases.png
    night.set_viewport_size(PHONE)
    night.emulate_media(color_scheme="dark")

    newest = seed(live.line, "open", 0, alert="open")  # arrives while the page is open
    rows = night.locator("#case-rows tr[data-ref]")
    expect(rows).to_have_count(len(order) + 1)  # the 3-second refresh, same rule
    assert shown_refs(night) == [waiting_old, waiting_intake, newest, *order[2:]]
    assert_untaken_on_top(night)


def assert_untaken_on_top(page) -> None:
    """Every case above an untaken alert is an untaken alert too; the first is in view."""
    waiting = page.locator("#case-rows tr[data-ref]").evaluate_all(
        "rows => rows.map(r => r.classList.contains('waiting'))"
    )
    assert waiting == sorted(waiting, reverse=True)
    first = page.locator("#case-rows tr.waiting").first.bounding_box()
    assert first["y"] + first["height"] <= PHONE["height"]


def test_removing_someone_from_the_roster_asks_first(live, night):
    page = night
    add_to_roster(live.line, "Ben Ortiz", "+12125550112")
    make_account(live.line, ADMIN, admin=True)
    sign_in(page, live, email=ADMIN, path="/dashboard/roster")
    snap(page, "night-roster", screens=1)
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.get_by_role("button", name="Remove Ben Ortiz").click()
    expect(page.get_by_role("heading", name="1. Ben Ortiz")).to_be_visible()  # still there
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    page.get_by_role("button", name="Remove Ben Ortiz").click()
    expect(page.get_by_role("status")).to_contain_text("Removed Ben Ortiz")
    expect(page.get_by_role("heading", name="1. Ben Ortiz")).to_have_count(0)
    message = "Remove Ben Ortiz from the on-call roster? Their open cases are alerted again."
    assert asked == [message, message]
