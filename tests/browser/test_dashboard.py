"""The dashboard in Debian's chromium: sign in, watch a case arrive by a signed webhook
without reloading, work it, read hostile input as text, and use it on a 360 px phone.

Screenshots of the main pages are saved under tests/browser/screenshots/ (git-ignored);
docs/screenshots/ keeps two of them for the README.
"""

from __future__ import annotations

import pytest
import requests
from playwright.sync_api import expect

from intake.simulator import phone as simulator
from tests.browser.conftest import SCREENSHOTS, shoot
from tests.dashboard_helpers import (
    ANA,
    PASSWORD,
    WORKER,
    add_to_roster,
    app_code,
    case_ref,
    make_account,
)
from tests.test_sms_webhook import ANSWERS

CAREGIVER = "+12125551234"
PHONE = {"width": 360, "height": 740}


@pytest.fixture
def worker(live):
    """Ana: on the roster and linked to a dashboard account."""
    add_to_roster(live.line)
    make_account(live.line, WORKER, phone=ANA)
    return WORKER


def text_the_line(live, body: str, sender: str = CAREGIVER) -> None:
    """A text, posted to the running line the way Twilio posts it: signed."""
    params = simulator.sms_params(sender, body, settings=live.line.settings)
    headers = simulator.signed_headers(live.line.settings, simulator.SMS_PATH, params)
    answer = requests.post(live.url + simulator.SMS_PATH, data=params, headers=headers, timeout=10)
    assert answer.status_code == 200


def whole_intake(live, answers=ANSWERS) -> str:
    text_the_line(live, "my daughter is missing")
    for answer in [*answers, "SKIP", "SAME"]:
        text_the_line(live, answer)
    return case_ref(live.line)


def sign_in(page, live, email: str = WORKER, path: str = "/dashboard/") -> None:
    page.goto(live.url + path)
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    signed_in = page.get_by_role("button", name="Sign out")
    code = page.get_by_label("The 6-digit code")
    expect(signed_in.or_(code)).to_be_visible()
    if code.is_visible():  # an admin: two-step sign-in
        code.fill(app_code(live.line, email))
        page.get_by_role("button", name="Sign in").click()
    expect(signed_in).to_be_visible()


def test_a_case_arrives_without_a_reload_and_is_worked(live, page, worker):
    sign_in(page, live)
    expect(page.locator("#case-rows")).to_contain_text("No cases yet")
    ref = whole_intake(live)  # through the signed webhook, while the page stays open
    row = page.locator(f'tr[data-ref="{ref}"]')
    expect(row).to_be_visible()  # the list refreshes itself: no reload
    expect(row).to_contain_text("Not acknowledged")
    shoot(page, "dashboard-cases")
    row.get_by_role("link", name=ref).click()
    expect(page.get_by_role("heading", name=f"Case {ref}")).to_be_visible()
    expect(page.locator(".answers")).to_contain_text("Mia Lopez")
    page.get_by_role("button", name="Take this case").click()
    expect(page.get_by_role("status")).to_contain_text(f"Case {ref} is yours")
    expect(page.locator("#case-worker")).to_have_text("Ana")
    page.get_by_label("Add a note (staff only)").fill("Called the caregiver; police on scene.")
    page.get_by_role("button", name="Add note").click()
    expect(page.locator(".timeline")).to_contain_text("police on scene")
    text_the_line(live, "She may be at her aunt's house")  # a new text appears by itself
    expect(page.locator(".transcript")).to_contain_text("her aunt's house")
    shoot(page, "dashboard-case")
    asked = []  # closing or marking found asks first; "Cancel" leaves the case as it was
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.get_by_role("button", name="Close case").click()
    expect(page.locator("#case-status")).to_have_text("open")
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    page.get_by_role("button", name="Mark found").click()
    expect(page.locator("#case-status")).to_have_text("found")
    assert asked == [
        f"Close case {ref}? The caregiver's follow-up texts stop.",
        f"Mark case {ref} found? The caregiver's follow-up texts stop.",
    ]
    expect(page.get_by_role("status")).to_contain_text("marked found")
    page.goto(live.url + "/dashboard/")
    expect(page.locator(f'tr[data-ref="{ref}"]')).to_contain_text("found")


def test_a_childs_name_that_is_a_script_shows_as_text(live, page, worker):
    hostile = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
    ref = whole_intake(live, [ANSWERS[0], hostile, *ANSWERS[2:]])
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    sign_in(page, live, path=f"/dashboard/cases/{ref}")
    expect(page.locator(".answers")).to_contain_text(hostile)
    expect(page.get_by_text(hostile).first).to_be_visible()
    assert page.locator(".answers img, .answers script").count() == 0
    page.wait_for_load_state("networkidle")
    assert dialogs == []


def no_sideways_scroll(page) -> bool:
    page.wait_for_load_state("load")  # the stylesheet applied: the page as it will be seen
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_on_a_360_px_phone_at_night_nothing_scrolls_sideways(live, browser, worker):
    ref = whole_intake(live)
    context = browser.new_context(viewport=PHONE, color_scheme="dark")
    page = context.new_page()
    try:
        sign_in(page, live)
        expect(page.locator(f'tr[data-ref="{ref}"]')).to_be_visible()
        assert no_sideways_scroll(page)
        shoot(page, "dashboard-cases-phone-dark")
        page.get_by_role("link", name=ref).click()
        expect(page.locator(".answers")).to_contain_text("Elm Park, Springfield")
        assert no_sideways_scroll(page)
        dark = "rgb(14, 17, 22)"  # the dark scheme follows the system
        expect(page.locator("body")).to_have_css("background-color", dark)
        shoot(page, "dashboard-case-phone-dark")
        page.screenshot(path=str(SCREENSHOTS / "dashboard-case-phone-dark-top.png"))
    finally:
        context.close()


def test_the_keyboard_reaches_the_actions(live, page, worker):
    ref = whole_intake(live)
    sign_in(page, live, path=f"/dashboard/cases/{ref}")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to the page")).to_be_focused()
    for _ in range(8):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == "Take this case":
            break
    expect(page.get_by_role("button", name="Take this case")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#case-worker")).to_have_text("Ana")
