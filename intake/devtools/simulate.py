"""The simulator driver's dev-only parts (`intake simulate`, the tests, the benches): a line
reached over HTTP, a typed line as a text or a caller's move, the texts the line sent a
number on its own (watched from the outbox), and the sample intake the benches play.
The running line never imports it; the browser phone's parts are intake/simulator/phone.py."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable

import requests

from intake.infra.config import Settings
from intake.simulator.phone import LineText, line_texts, send_text
from intake.simulator.twilio_requests import Post, app_post  # noqa: F401  (the driver's)
from intake.simulator.twiml_call import Call

# A whole intake as a caregiver might text it, from the first text to the final answer:
# what the benchmarks play.
SAMPLE_INTAKE = (
    "my daughter is missing",
    "yes",
    "Mia Lopez",
    "seven",
    "about 2 hours ago",
    "Elm Park, Springfield",
    "red coat, 4 feet tall, brown ponytail",
    "Springfield PD report 24-1187",
    "1",
    "SKIP",
    "SAME",  # the final answer: the case opens, follow-ups are queued, on-call is paged
)


def unreachable(base_url: str) -> str | None:
    """A plain sentence when nothing answers at a running line's address, else None."""
    try:
        requests.get(base_url.rstrip("/") + "/healthz", timeout=10)
    except requests.RequestException:
        return f"Nothing answers at {base_url}: start the line with `intake run`, or fix --url."
    return None


def http_post(base_url: str) -> Post:
    """Requests to a running line over HTTP."""

    def post(
        path: str, params: dict[str, str], headers: dict[str, str], method: str = "POST"
    ) -> tuple[int, str]:
        response = requests.request(
            method, base_url.rstrip("/") + path, data=params or None, headers=headers, timeout=20
        )
        return response.status_code, response.text

    return post


def text_line(settings: Settings, post: Post, sender: str, line: str) -> list[str]:
    """Send one typed line ('photo: URL' sends an MMS) and return the replies."""
    media = []
    if line.lower().startswith("photo:"):
        media, line = [line.split(":", 1)[1].strip()], ""
    return send_text(settings, post, sender, line, media)


class Inbox:
    """Texts the line sent this phone on its own (follow-ups), read from the local outbox."""

    def __init__(self, settings: Settings, phone: str):
        from intake.infra.db import Database

        self.db = Database(settings.database_url, settings.data_key_ring())
        self.phone = phone
        self.seen = {text.id for text in self._texts()}

    def _texts(self) -> list[LineText]:
        with self.db.sessions() as session:
            return line_texts(session, self.phone)

    def new_texts(self) -> list[str]:
        fresh = [text for text in self._texts() if text.id not in self.seen]
        self.seen.update(text.id for text in fresh)
        return [text.body for text in fresh]


def watch(inbox: Inbox, show: Callable[[str], None], every: float = 1.0) -> Callable[[], None]:
    """Show the line's own texts as they go out, from a background thread.

    Returns a function that stops the thread and shows anything still unseen.
    """
    stop = threading.Event()

    def poll() -> None:
        while not stop.wait(every):
            _show_new(inbox, show)

    thread = threading.Thread(target=poll, name="simulate-inbox", daemon=True)
    thread.start()

    def finish() -> None:
        stop.set()
        thread.join()
        _show_new(inbox, show)

    return finish


def _show_new(inbox: Inbox, show: Callable[[str], None]) -> None:
    for text in inbox.new_texts():
        show(text)


CALL_HELP = (
    "Digits (and # or *) press keys; an empty line stays silent; 'say: words' speaks "
    "('say@0.4: words' when the line should be unsure); 'hangup' hangs up."
)
SPEECH = re.compile(r"say(?:@(\d*\.?\d+))?:\s*(.*)", re.IGNORECASE)
KEYS = re.compile(r"[0-9*#]+")


def play_line(call: Call, typed: str) -> bool:
    """Apply one typed line to a call as a caller's move; False when it means nothing."""
    typed = typed.strip()
    speech = SPEECH.fullmatch(typed)
    if not typed:
        call.silence()
    elif typed.lower() == "hangup":
        call.hang_up()
    elif KEYS.fullmatch(typed):
        call.press(typed)
    elif speech and speech[2]:
        call.say(speech[2], confidence=float(speech[1] or 1.0))
    else:
        return False
    return True
