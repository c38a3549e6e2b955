"""Browser tests: the real app served over HTTP, driven by Playwright in Debian's chromium.

Playwright is pointed at the system browser (`INTAKE_TEST_CHROMIUM`, default
/usr/bin/chromium; `.ci/run` installs it with apt): it never downloads one. Pages each
test visits can be saved with `shoot(page, name)` under tests/browser/screenshots/,
which git ignores.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from werkzeug.serving import make_server

from intake.app import create_app
from tests.conftest import make_settings

CHROMIUM = os.environ.get("INTAKE_TEST_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).parent / "screenshots"
# Without these, chromium reaches for Google's hosts, which this network refuses.
CHROMIUM_ARGS = [
    "--headless=new",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class LiveLine:
    """The line served on a local port: its address and the Flask app behind it."""

    url: str
    app: object

    @property
    def line(self):
        return self.app.extensions["intake"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def live_settings_overrides() -> dict:
    """Settings a test module may override (e.g. Twilio credentials) for `live`."""
    return {}


@pytest.fixture
def live(db_url, tmp_path, live_settings_overrides) -> Iterator[LiveLine]:
    """The app on a real HTTP port; PUBLIC_BASE_URL is that address, so signatures match."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = make_settings(db_url, tmp_path, public_base_url=url, **live_settings_overrides)
    app = create_app(settings)
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield LiveLine(url=url, app=app)
    server.shutdown()
    thread.join(timeout=5)
    app.extensions["intake"].db.dispose()


@pytest.fixture(scope="session")
def browser(tmp_path_factory) -> Iterator[Browser]:
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt install chromium)")
    args = CHROMIUM_ARGS + (["--no-sandbox"] if os.geteuid() == 0 else [])
    # Chromium keeps crash reports and dconf's cache under the home folder; each test
    # process gives its browser folders of its own, so two never share (or leave) them.
    home = tmp_path_factory.mktemp("chromium-home")
    env = {**os.environ, "XDG_CONFIG_HOME": str(home / "config"), "XDG_CACHE_HOME": str(home)}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=args, env=env)
        yield browser
        browser.close()


@pytest.fixture
def page(browser) -> Iterator[Page]:
    """A fresh browser context (no cookies) at a phone's width unless a test resizes it."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


def shoot(page: Page, name: str) -> Path:
    """Save a full-page screenshot under tests/browser/screenshots/ (ignored by git)."""
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def assert_on_one_line(element) -> None:
    """The element's text is not broken across lines (a phone number, a link)."""
    box = element.bounding_box()
    line = element.evaluate("e => parseFloat(getComputedStyle(e).lineHeight)")
    assert box["height"] < 1.5 * line, (element.inner_text(), box, line)


def scroll_regions_reachable(page) -> list:
    """axe's rule scrollable-region-focusable, checked directly (axe-core is not among
    the tests' tools): every box that scrolls (but form fields, which are focusable and
    labelled anyway) is in the tab order and has a name. Returns
    the boxes found, as [id, tabIndex, name]."""
    boxes = page.evaluate(
        """() => [...document.querySelectorAll("body *:not(textarea, select, input)")]
            .filter(el => ["auto", "scroll"].includes(getComputedStyle(el).overflowY))
            .map(el => [el.id, el.tabIndex, el.getAttribute("aria-label") || ""])"""
    )
    assert all(tab == 0 and name for _, tab, name in boxes), boxes
    return boxes
