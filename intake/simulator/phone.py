"""The browser phone's machinery (/simulator): texts and calls go through the same signed
webhooks as Twilio's, in-process, and the calls a browser plays are held between its requests.

The terminal phone (`intake simulate`) is a dev tool: intake/devtools/simulate.py.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from intake.cases.simulated import is_fictitious  # noqa: F401  (the simulator's numbers)
from intake.channels.twiml_read import (  # noqa: F401  (a call's parts, for the page and the tests)
    BUSY,
    FAILED,
    NO_ANSWER,
    CallEnded,
    CallError,
    Gather,
    Listener,
    Pickup,
    Record,
    Spoken,
    answers,
    callees,
    message_bodies,
    nobody_answers,
)
from intake.core.webhooks import SMS_PATH, VOICE_PATH, VOICE_STATUS_PATH  # noqa: F401
from intake.domain.enums import Medium, OutboxStatus
from intake.infra.config import Settings
from intake.simulator.twilio_requests import (  # noqa: F401  (what the simulator's users sign with)
    ACCOUNT_SID,
    LINE_NUMBER,
    Post,
    account_sid,
    app_post,
    call_params,
    line_number,
    signed_headers,
    sms_params,
)
from intake.simulator.twiml_call import Call  # noqa: F401


def send_text(
    settings: Settings, post: Post, sender: str, body: str, media: list[str] | None = None
) -> list[str]:
    """Text the line as `sender` through the signed SMS webhook; returns the replies."""
    params = sms_params(sender, body, media, settings)
    status, text = post(SMS_PATH, params, signed_headers(settings, SMS_PATH, params))
    if status != 200:
        return [f"[the line answered HTTP {status}]"]
    return message_bodies(text)


@dataclass(frozen=True)
class LineText:
    """A text (or call) the line sent a number on its own: one outbox row."""

    id: int
    kind: str
    channel: str  # sms | call
    body: str
    status: str  # sent | failed
    sent_at: datetime | None
    call_url: str | None = None  # for a call: where its TwiML is fetched


def line_texts(
    session, phone: str, statuses: tuple[str, ...] = (OutboxStatus.SENT,)
) -> list[LineText]:
    """What the line sent `phone` from the outbox, in the order it went out."""
    from sqlalchemy import select

    from intake.core.models import Outbound

    query = (
        select(Outbound)
        .where(Outbound.to_phone == phone, Outbound.status.in_(statuses))
        .order_by(Outbound.sent_at, Outbound.id)
    )
    return [
        LineText(
            id=row.id,
            kind=row.kind,
            channel=row.channel,
            body=row.body or "",
            status=row.status,
            sent_at=row.sent_at,
            call_url=(row.params or {}).get("call_url") if row.channel == Medium.VOICE else None,
        )
        for row in session.scalars(query)
    ]


# --- calls kept for the browser phone (/simulator) -----------------------------------------

CALL_IDLE_SECONDS = 15 * 60  # a call nobody moved on for this long is forgotten
MAX_HELD_CALLS = 100


@dataclass
class HeldCall:
    """A call the browser phone plays, kept between its requests, with every line heard
    on it: (who, line), who being "" for the phone's own person or a dialled number."""

    phone: str
    call: Call | None = None
    heard: list[tuple[str, Spoken]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    used: float = 0.0

    def hear(self, who: str, said: Spoken) -> None:
        self.heard.append((who, said))


class HeldCalls:
    """Calls kept in this process's memory by a random id; idle ones expire."""

    def __init__(self, idle: float = CALL_IDLE_SECONDS, most: int = MAX_HELD_CALLS, clock=None):
        self.idle, self.most = idle, most
        self.clock = clock or time.monotonic
        self.calls: dict[str, HeldCall] = {}
        self.lock = threading.Lock()

    def start(self, phone: str, begin: Callable[[Listener], Call]) -> tuple[str, HeldCall]:
        """Begin a call (`begin` is given the listener to pass on) and keep it."""
        held = HeldCall(phone, used=self.clock())
        with held.lock:
            held.call = begin(held.hear)
        call_id = secrets.token_urlsafe(18)
        with self.lock:
            self._forget_idle(room=1)
            self.calls[call_id] = held
        return call_id, held

    def get(self, call_id: str) -> HeldCall | None:
        """A kept call, marked as used now; None when unknown or expired."""
        with self.lock:
            self._forget_idle()
            held = self.calls.get(call_id)
            if held is not None:
                held.used = self.clock()
            return held

    def _forget_idle(self, room: int = 0) -> None:
        """Drop idle calls, then the least recently used until `room` more fit."""
        cutoff = self.clock() - self.idle
        for call_id, held in list(self.calls.items()):
            if held.used < cutoff:
                del self.calls[call_id]
        excess = len(self.calls) - self.most + room
        for call_id in sorted(self.calls, key=lambda k: self.calls[k].used)[: max(excess, 0)]:
            del self.calls[call_id]
