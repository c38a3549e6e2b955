"""Two-step sign-in in Debian's chromium: an admin without it is sent to set it up, the
QR code shows under the page's CSP (an SVG image, no script), the first code turns it on
and the recovery codes are shown once; the next sign-in asks for a code."""

from __future__ import annotations

import pyotp
from playwright.sync_api import expect

from intake.staff import accounts, twostep
from tests.browser.conftest import shoot
from tests.dashboard_helpers import ADMIN, PASSWORD, app_code


def test_an_admin_sets_up_two_step_sign_in_and_signs_in_with_a_code(live, page):
    with live.line.db.transaction() as s:
        accounts.add(s, ADMIN, "Admin", PASSWORD, admin=True)
    refused = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security" in m.text else 0)
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(live.url + "/dashboard/roster")
    page.get_by_label("Email address").fill(ADMIN)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Set up two-step sign-in")).to_be_visible()
    qr = page.get_by_alt_text("QR code for your authenticator app")
    expect(qr).to_be_visible()
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0")  # drawn, not blocked
    shoot(page, "two-step-set-up")
    secret = page.locator("code.secret").inner_text().replace(" ", "")
    page.get_by_label("Code from the app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on two-step sign-in").click()
    expect(page.get_by_role("heading", name="Two-step sign-in is on")).to_be_visible()
    expect(page.locator(".codes li")).to_have_count(twostep.RECOVERY_CODES)
    page.get_by_role("link", name="I have kept them").click()
    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("Email address").fill(ADMIN)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("The 6-digit code").fill(app_code(live.line, ADMIN))
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("link", name="Staff accounts")).to_be_visible()
    page.get_by_role("link", name="Staff accounts").click()
    expect(page.get_by_role("heading", name="Staff accounts")).to_be_visible()
    expect(page.locator("main")).to_contain_text("two-step sign-in on")
    assert refused == []
