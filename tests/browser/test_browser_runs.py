"""The browser harness itself: chromium opens a page the line serves."""

from tests.browser.conftest import shoot


def test_alert_link_opens_in_a_real_browser(live, page):
    page.goto(f"{live.url}/cases/ABCD2345")
    assert page.locator("body").inner_text().strip() != ""
    assert shoot(page, "alert-link").exists()
