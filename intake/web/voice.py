"""Voice webhooks. For now: the on-call alert call, which asks the worker to press 1."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Blueprint, Response, abort, request
from twilio.twiml.voice_response import VoiceResponse

from intake import oncall, outbox, staff, words
from intake.line import current_line
from intake.logs import event as log_event
from intake.models import Page, utcnow
from intake.web.twilio import twilio_signed

if TYPE_CHECKING:
    from intake.line import Line

bp = Blueprint("voice", __name__, url_prefix="/twilio/voice")

VOICE = "Polly.Joanna"


def _say(response, template: str, **params) -> None:
    response.say(
        words.render(template, "en", channel="voice", **params), voice=VOICE, language="en-US"
    )


def _twiml(response: VoiceResponse) -> Response:
    return Response(str(response), mimetype="text/xml")


def _page_id() -> int:
    try:
        page_id = int(request.args.get("page", ""))
    except ValueError:
        abort(400)
    return page_id


@bp.route("/alert", methods=["GET", "POST"])
@twilio_signed
def alert_call():
    """Speak the alert and ask for 1 to take the case; silence repeats once, then ends."""
    page_id = _page_id()
    line = current_line()
    with line.db.transaction() as session:
        page = session.get(Page, page_id)
        if page is None:
            abort(404)
        params = oncall.alert_params(line, page.alert, utcnow())
    params["org"] = line.settings.org_name
    response = VoiceResponse()
    action = f"/twilio/voice/alert/answer?page={page_id}"
    gather = response.gather(input="dtmf", num_digits=1, timeout=8, action=action, method="POST")
    for _ in range(2):
        _say(gather, "oncall_alert", **params)
    _say(response, "oncall_no_key")
    response.hangup()
    return _twiml(response)


@bp.post("/alert/answer")
@twilio_signed
def alert_answer():
    """1 takes the case, as ACK does: the escalation stops and a text gives the details."""
    page_id = _page_id()
    digits = request.form.get("Digits", "").strip()
    line = current_line()
    response = VoiceResponse()
    with line.db.transaction() as session:
        page = session.get(Page, page_id)
        if page is None or page.person is None:
            abort(404)
        if digits != "1":
            _say(response, "oncall_no_key")
        else:
            _take(session, line, page, response)
    log_event("voice.alert_answer", page=page_id, digits=digits or "-")
    response.hangup()
    return _twiml(response)


def _take(session, line: Line, page: Page, response: VoiceResponse) -> None:
    """Take the case for the person called, as ACK does; say what came of it, and text
    the details."""
    now = utcnow()
    taken = staff.take(session, line, page.person, page.alert.case, now)
    outbox.enqueue(
        session,
        kind="staff_reply",
        to=page.person.phone,
        send_at=now,
        body=staff.take_text(line, taken),
        case_id=taken.case.id,
    )
    if taken.outcome == "over":
        _say(response, "oncall_over", status=staff.status_text(taken.case))
    elif taken.outcome == "taken_by_other":
        _say(response, "oncall_taken", who=taken.who)
    else:
        _say(response, "oncall_acked", ref=taken.case.ref)
