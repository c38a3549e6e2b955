"""Voice webhooks. For now: the on-call alert call, which asks the worker to press 1."""

from __future__ import annotations

from flask import Blueprint, Response, abort, request
from twilio.twiml.voice_response import VoiceResponse

from intake import oncall, words
from intake.app import current_line
from intake.logs import event as log_event
from intake.models import Alert, Page, utcnow
from intake.web.twilio import twilio_signed

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
        params = oncall.alert_params(line, page.alert.case, utcnow())
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
    """1 acknowledges: the case is this worker's, the escalation stops."""
    page_id = _page_id()
    digits = request.form.get("Digits", "").strip()
    line = current_line()
    response = VoiceResponse()
    with line.db.transaction() as session:
        page = session.get(Page, page_id)
        if page is None or page.person is None:
            abort(404)
        alert = session.get(Alert, page.alert_id, with_for_update=True)
        case = alert.case
        if digits != "1":
            _say(response, "oncall_no_key")
        elif case.assigned_person_id not in (None, page.person_id):
            _say(response, "oncall_taken", who=case.assigned_person.name)
        else:
            if alert.status != "acked":
                oncall.acknowledge(session, line, alert, page.person, utcnow())
            case.assigned_person = page.person
            _say(response, "oncall_acked", ref=case.ref)
    log_event("voice.alert_answer", page=page_id, digits=digits or "-")
    response.hangup()
    return _twiml(response)
