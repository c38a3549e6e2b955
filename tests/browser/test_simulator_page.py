"""The phone simulator in chromium: a whole SMS intake typed on the page, the alert on a
staff phone, ACK and a relayed text back to the caregiver; a call with key presses."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from intake import scheduler
from intake.oncall import roster
from tests.browser.conftest import (
    SCREENSHOTS,
    assert_on_one_line,
    scroll_regions_reachable,
    shoot,
)
from tests.conftest import Phone
from tests.test_sms_webhook import ANSWERS, intake

DANA = "+12125550181"
SAM = "+12125550182"


@pytest.fixture
def live_settings_overrides() -> dict:
    return {"dispatch_interval": timedelta(seconds=1)}


@pytest.fixture
def clock(live):
    """The clock `intake run` keeps: due texts go out (locally) every second."""
    running = scheduler.start_background(live.line)
    yield
    running.shutdown(wait=True)


@pytest.fixture
def dana(live):
    with live.line.db.transaction() as session:
        roster.add(session, "Dana Reyes", DANA)


def text(page: Page, body: str) -> str:
    """Type a text, send it, and return the line's reply once it shows."""
    answers = page.locator("#thread .msg.line")
    before = answers.count()
    page.get_by_label("Text message").fill(body)
    page.get_by_label("Text message").press("Enter")
    expect(answers).to_have_count(before + 1)
    return answers.nth(before).inner_text()


def test_a_whole_sms_intake_then_ack_on_a_staff_phone(live, dana, clock, page):
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(f"{live.url}/simulator/")
    first = text(page, "my daughter is missing")
    assert "Call police at 911 now" in first and "1-800-THE-LOST" in first
    assert "child's name" in text(page, ANSWERS[0])
    for answer in ANSWERS[1:]:
        text(page, answer)
    assert "photo" in page.locator("#thread .msg.line").last.inner_text()
    text(page, "SKIP")
    summary = text(page, "SAME")
    ref = re.search(r"case number is (\w+)", summary)[1]
    no_sideways_scroll(page)
    shoot(page, "simulator-caregiver")
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(SCREENSHOTS / "simulator-caregiver-top.png"))
    for number in ("1-800-THE-LOST", "(1-800-843-5678)"):  # not "1-" and "800-THE-LOST"
        assert_on_one_line(page.locator("#thread .whole", has_text=number).last)
    # the compose box, whole, on the phone's first screen after a long thread
    expect(page.get_by_label("Text message")).to_be_in_viewport(ratio=1)
    expect(page.get_by_role("button", name="Send", exact=True)).to_be_in_viewport(ratio=1)

    page.get_by_label("Phone", exact=True).select_option(DANA)
    thread = page.locator("#thread")
    expect(thread).to_contain_text(f"MISSING CHILD {ref}")  # the clock sent the alert
    assert f"Case {ref} is yours" in text(page, "ACK")
    text(page, f"R {ref} This is Dana Reyes, I am calling you now.")
    shoot(page, "simulator-staff-phone")

    page.get_by_label("Phone", exact=True).select_option("caregiver")
    expect(thread).to_contain_text("This is Dana Reyes, I am calling you now.")
    page.emulate_media(color_scheme="dark")
    shoot(page, "simulator-caregiver-dark")


def test_an_alert_call_rings_the_staff_phone_and_is_answered_with_1(live, clock, page):
    with live.line.db.transaction() as session:
        roster.add(session, "Sam Ortiz", SAM, "call")
    caregiver = Phone(live.app, live.line.settings, number="+12125550148")
    intake(caregiver, photo=False)  # typed elsewhere: the page only plays the staff phone
    page.goto(f"{live.url}/simulator/")
    page.get_by_label("Phone", exact=True).select_option(SAM)
    page.get_by_role("button", name="Answer this call").click()
    spoken = page.locator("#spoken")
    expect(spoken).to_contain_text("Press 1")
    page.get_by_role("button", name="1", exact=True).click()
    expect(spoken).to_contain_text("is yours")
    expect(page.locator("#call-waits")).to_have_text("The call has ended.")


STRICT_CSP = "default-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"


def test_a_call_from_the_page_presses_keys_and_shows_what_is_spoken(live, dana, page):
    live.app.after_request(strict_csp)  # what the dashboard's policy will allow, at most
    refused = []
    page.on("console", lambda msg: refused.append(msg.text) if "Security Policy" in msg.text else 0)
    page.goto(f"{live.url}/simulator/")
    page.get_by_role("button", name="Call the line").click()
    spoken = page.locator("#spoken")
    expect(spoken).to_contain_text("Call your police now")
    expect(page.locator("#call-waits")).to_have_text("The line waits for you to press keys.")
    page.get_by_role("button", name="0", exact=True).click()
    expect(spoken).to_contain_text("calling the person on call")
    expect(page.locator("#call-waits")).to_contain_text("recording")
    page.get_by_label("Speech (what you say aloud)").fill("My son Leo is missing, call me back")
    page.get_by_role("button", name="Say it").click()
    expect(page.locator("#call-waits")).to_have_text("The call has ended.")  # message left
    expect(page.get_by_role("button", name="Hang up")).to_be_disabled()
    shoot(page, "simulator-call")
    page.get_by_label("Caregiver's number").fill("12")
    page.get_by_label("Text message").fill("hello")
    page.get_by_label("Text message").press("Enter")
    expect(page.get_by_role("alert")).to_have_text("That is not a phone number (try +12125550147).")
    expect(page.locator("#thread")).to_contain_text("Not sent.")
    assert refused == []  # no inline script or style: the page works under a strict policy


def strict_csp(response):
    response.headers["Content-Security-Policy"] = STRICT_CSP
    return response


def no_sideways_scroll(page: Page) -> None:
    page.wait_for_load_state("load")  # the stylesheet applied: the page as it will be seen
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"]


def say(page: Page, words: str) -> None:
    page.get_by_label("Speech (what you say aloud)").fill(words)
    page.get_by_role("button", name="Say it").click()


def test_a_call_to_the_callback_question_where_1_goes_at_once(live, page):
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(f"{live.url}/simulator/")
    page.get_by_role("button", name="Call the line").click()
    spoken, waits = page.locator("#spoken"), page.locator("#call-waits")
    speech = page.get_by_label("Speech (what you say aloud)")
    expect(waits).to_have_text("The line waits for you to press keys.")
    expect(speech).to_be_disabled()  # the menu's Gather takes keys only
    expect(page.get_by_role("button", name="Say it")).to_be_disabled()
    page.get_by_role("button", name="Stay silent").click()  # past the language menu
    expect(spoken).to_contain_text("Have you called the police?")
    page.get_by_role("button", name="1", exact=True).click()  # yes: one key, sent at once
    expect(spoken).to_contain_text("What is the child's name?")
    expect(speech).to_be_enabled()
    answers = ["Mia Lopez", "seven", "about 2 hours ago", "Elm Park", "red coat"]
    questions = ["How old", "When was", "Where was", "What does", "Which police"]
    for words, question in zip(answers, questions, strict=True):
        say(page, words)
        expect(spoken.locator("li").last).to_contain_text(question)
    page.get_by_role("button", name="1", exact=True).click()  # no report yet: one key
    expect(spoken.locator("li").last).to_contain_text("How are you related")
    page.get_by_role("button", name="1", exact=True).click()  # parent
    expect(spoken.locator("li").last).to_contain_text("To use the number you are calling from")
    page.get_by_role("button", name="1", exact=True).click()  # one key: sent at once
    expect(spoken.locator("li").last).not_to_contain_text("To use the number", timeout=2_000)
    page.emulate_media(color_scheme="dark")
    page.locator("#call-panel").screenshot(path=str(SCREENSHOTS / "simulator-call-keys.png"))
    lines = spoken.locator("li").all_inner_texts()
    asked = max(i for i, line in enumerate(lines) if "To use the number" in line)
    assert "You: [you press 1]" in lines[asked + 1]  # the 1 went, on its own
    assert spoken.locator("li").count() >= 10
    assert_markers_fit(page, spoken)
    assert_scroll_regions_focusable(page)
    shoot(page, "simulator-call-phone-dark")


def assert_markers_fit(page: Page, listing) -> None:
    """Each item's number (10., 11., ... in bold for the caller's lines) fits the room
    the list leaves for it on the left: none is clipped by the scroll box."""
    fits = listing.evaluate(
        """ol => [...ol.children].every((li, i) => {
            const probe = document.createElement("span");
            probe.textContent = (i + 1) + ". ";
            probe.style.font = getComputedStyle(li).font;
            probe.style.position = "absolute";
            document.body.append(probe);
            const wide = probe.getBoundingClientRect().width;
            probe.remove();
            return wide <= parseFloat(getComputedStyle(ol).paddingLeft);
        })"""
    )
    assert fits


def assert_scroll_regions_focusable(page: Page) -> None:
    boxes = scroll_regions_reachable(page)
    assert {box[0] for box in boxes} >= {"thread", "spoken"}
