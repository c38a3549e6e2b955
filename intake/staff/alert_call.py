"""The on-call alert call as a service: what the call says, and 1 taking the case as ACK does.

The views in intake/web/voice.py parse the request and return this TwiML; the
transaction and the staff logic live here.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from twilio.twiml.voice_response import VoiceResponse

from intake.core import outbox, words
from intake.core.models import Page
from intake.core.webhooks import VOICE_ALERT_ANSWER_PATH
from intake.domain.enums import Medium, OutboxKind
from intake.infra.logs import event as log_event
from intake.oncall.alertwords import alert_params
from intake.staff import commands as staff

if TYPE_CHECKING:
    from intake.core.line import Line

VOICE = "Polly.Joanna"
TAKE_KEY = "1"


class NoSuchPage(LookupError):
    """The call names a page the line never placed (or one with nobody to take it)."""


def speak_alert(line: Line, page_id: int, now: datetime) -> str:
    """The call's TwiML: the alert twice, asking for 1 to take the case; silence is
    answered by the answer URL (told how to take it by text)."""
    with line.db.transaction() as session:
        page = session.get(Page, page_id)
        if page is None:
            raise NoSuchPage(page_id)
        params = alert_params(line, page.alert, now)
    params["org"] = line.settings.org_name
    response = VoiceResponse()
    action = f"{VOICE_ALERT_ANSWER_PATH}?page={page_id}"
    gather = response.gather(input="dtmf", num_digits=1, timeout=8, action=action, method="POST")
    for _ in range(2):
        _say(gather, "oncall_alert", **params)
    response.redirect(action, method="POST")
    return str(response)


def answer(line: Line, page_id: int, digits: str, meta: dict, now: datetime) -> str:
    """What the person pressed: 1 takes the case, as ACK does (the escalation stops and a
    text gives the details); anything else is told how to take it by text. The TwiML."""
    response = VoiceResponse()
    with line.db.transaction() as session:
        page = session.get(Page, page_id)
        if page is None or page.person is None:
            raise NoSuchPage(page_id)
        if digits != TAKE_KEY:
            _say(response, "oncall_no_key")
        else:
            _take(session, line, page, response, meta, now)
    log_event("voice.alert_answer", page=page_id, digits=digits or "-")
    response.hangup()
    return str(response)


def _take(session, line: Line, page: Page, response: VoiceResponse, meta: dict, now) -> None:
    """Take the case for the person called, as ACK does; say what came of it, text the
    details, and keep the key press with the call's metadata (caller ID can be forged)."""
    taken = staff.take(session, line, page.person, page.alert.case, now)
    outbox.enqueue(
        session,
        kind=OutboxKind.STAFF_REPLY,
        to=page.person.phone,
        send_at=now,
        body=staff.take_text(line, taken),
        case_id=taken.case.id,
        channel=Medium.SMS,
    )
    if taken.outcome == "over":
        _say(response, "oncall_over", status=staff.status_text(taken.case))
    elif taken.outcome == "taken_by_other":
        _say(response, "oncall_taken", who=taken.who)
    else:
        _say(response, "oncall_acked", ref=taken.case.ref)
    staff.keep_command(session, page.person, taken.case, TAKE_KEY, str(response), meta, now)


def _say(response, template: str, **params) -> None:
    response.say(
        words.render(template, "en", channel=Medium.VOICE, **params), voice=VOICE, language="en-US"
    )
