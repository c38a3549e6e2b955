"""A phone in the terminal: texts go through the same signed webhook as Twilio's."""

from __future__ import annotations

import threading
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable

import requests

from intake import signing
from intake.config import Settings

SMS_PATH = "/twilio/sms"
LINE_NUMBER = "+15005550006"  # Twilio's documented magic test number

Post = Callable[[str, dict[str, str], dict[str, str]], tuple[int, str]]


def sms_params(sender: str, body: str, media_urls: list[str] | None = None) -> dict[str, str]:
    """The form fields Twilio sends for an incoming text."""
    sid = "SM" + uuid.uuid4().hex
    params = {
        "MessageSid": sid,
        "SmsSid": sid,
        "SmsMessageSid": sid,
        "AccountSid": "AC" + "0" * 32,
        "From": sender,
        "To": LINE_NUMBER,
        "Body": body,
        "NumMedia": str(len(media_urls or [])),
        "SmsStatus": "received",
        "ApiVersion": "2010-04-01",
    }
    for i, url in enumerate(media_urls or []):
        params[f"MediaUrl{i}"] = url
        params[f"MediaContentType{i}"] = "image/jpeg"
    return params


def signed_headers(settings: Settings, path: str, params: dict[str, str]) -> dict[str, str]:
    url = signing.public_url(settings.public_base_url, path)
    return {signing.SIGNATURE_HEADER: signing.sign(settings.twilio_auth_token, url, params)}


def message_bodies(twiml: str) -> list[str]:
    """The texts a TwiML answer would send (reading XML is fine; writing it is the library's)."""
    if not twiml.strip():
        return []
    return [m.text or "" for m in ET.fromstring(twiml).iter("Message")]


def unreachable(base_url: str) -> str | None:
    """A plain sentence when nothing answers at a running line's address, else None."""
    try:
        requests.get(base_url.rstrip("/") + "/healthz", timeout=10)
    except requests.RequestException:
        return f"Nothing answers at {base_url}: start the line with `intake run`, or fix --url."
    return None


def http_post(base_url: str) -> Post:
    def post(path: str, params: dict[str, str], headers: dict[str, str]) -> tuple[int, str]:
        response = requests.post(
            base_url.rstrip("/") + path, data=params, headers=headers, timeout=20
        )
        return response.status_code, response.text

    return post


def app_post(app) -> Post:
    client = app.test_client()

    def post(path: str, params: dict[str, str], headers: dict[str, str]) -> tuple[int, str]:
        response = client.post(path, data=params, headers=headers)
        return response.status_code, response.get_data(as_text=True)

    return post


def text_line(settings: Settings, post: Post, sender: str, line: str) -> list[str]:
    """Send one typed line ('photo: URL' sends an MMS) and return the replies."""
    media = []
    if line.lower().startswith("photo:"):
        media, line = [line.split(":", 1)[1].strip()], ""
    params = sms_params(sender, line, media)
    status, text = post(SMS_PATH, params, signed_headers(settings, SMS_PATH, params))
    if status != 200:
        return [f"[the line answered HTTP {status}]"]
    return message_bodies(text)


class Inbox:
    """Texts the line sent this phone on its own (follow-ups), read from the local outbox."""

    def __init__(self, settings: Settings, phone: str):
        from intake.db import Database

        self.db = Database(settings.database_url)
        self.phone = phone
        self.seen = self._sent_ids()

    def _sent_ids(self) -> set[int]:
        from sqlalchemy import select

        from intake.models import Outbound

        query = select(Outbound.id).where(
            Outbound.to_phone == self.phone, Outbound.status == "sent"
        )
        with self.db.sessions() as session:
            return set(session.scalars(query))

    def new_texts(self) -> list[str]:
        from intake.models import Outbound

        fresh = sorted(self._sent_ids() - self.seen)
        self.seen.update(fresh)
        with self.db.sessions() as session:
            return [session.get(Outbound, i).body or "" for i in fresh]


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
