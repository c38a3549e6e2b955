"""Voice webhooks: a caller's call (the intake by phone) and the on-call alert call.

Signed like every webhook (403). A call without a CallSid of Twilio's shape, of another
account, to another number (a caller's call) or without From is refused (400). Any
failure on a caller's call still speaks the safety words, from memory.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, request

from intake.channels import fallbacks
from intake.channels import voice as calls
from intake.core import webhooks
from intake.core.line import current_line
from intake.domain.enums import Medium
from intake.infra import sids
from intake.infra.deadline import TooLate
from intake.infra.logs import event as log_event
from intake.staff import alert_call as alert_calls
from intake.web import metrics
from intake.web.twilio import (
    CALL_META_FIELDS,
    normalise_sender,
    request_meta,
    twilio_webhook,
)
from intake.web.values import form_value, whole_number

bp = Blueprint("voice", __name__, url_prefix=webhooks.VOICE_PATH)

# A caller's call to the line's number (To and Called are the line's), and a call the line
# placed to someone on call (To is theirs): every one names its CallSid.
caller_call = twilio_webhook("CallSid", line_fields=("To", "Called"))
staff_call = twilio_webhook("CallSid")

VOICE = "Polly.Joanna"
MAX_SPEECH = 1000  # characters of one spoken answer kept


def _caller() -> str:
    """The calling number (E.164), after checking the call has one (400 if not)."""
    phone = normalise_sender(form_value("From", ""))
    if not phone:
        abort(400)
    return phone


def _move() -> calls.Move:
    """What the caller did at the last Gather."""
    try:
        confidence = float(form_value("Confidence", "1") or 1)
    except ValueError:
        confidence = 0.0
    return calls.Move(
        digits=form_value("Digits", "").strip()[:20],
        speech=form_value("SpeechResult", "").strip()[:MAX_SPEECH],
        confidence=confidence,
        finished_on_key=form_value("FinishedOnKey", "").strip()[:1],
    )


def _number(name: str) -> int:
    try:
        value = int(request.args.get(name, "0"))
    except ValueError:
        abort(400)
    if not 0 <= value < 1000:
        abort(400)
    return value


def _on_move(handle) -> Response:
    """A step that answers what the caller did at the last Gather."""
    move = _move()
    return _call_turn(lambda s, line, phone, now: handle(s, line, phone, move, now))


def _call_turn(handle) -> Response:
    """Run one step of a caller's call against the deadline; on any failure, the fallback."""
    phone = _caller()
    line = current_line()
    now = line.clock.now()
    try:
        twiml = line.turns.run(lambda session: handle(session, line, phone, now))
    except Exception as error:  # noqa: BLE001 - whatever broke, the caller still hears what to do
        late = isinstance(error, TooLate)  # the deadline, not a fault: no traceback
        log_event("voice.fallback", level=40, exc_info=not late, path=request.path, late=late)
        metrics.FALLBACK_ANSWERS.labels(channel=Medium.VOICE).inc()
        twiml = calls.fallback(line)
        sid = form_value("CallSid", "").strip()
        if sids.is_sid(sids.CALL, sid):  # on disk before the answer; once per call
            fallbacks.call_answered_from_memory(line, sid, phone, now)
    return Response(twiml, mimetype="text/xml")


@bp.post("")
@caller_call
def incoming():
    """A call to the line: the safety words first, then the menu."""
    return _call_turn(calls.answer)


@bp.post("/office")
@caller_call
def office():
    """The office's Dial ended: answered, or on to the after-hours line."""
    status = form_value("DialCallStatus", "").strip().lower()[:20]
    return _call_turn(lambda s, line, phone, now: calls.office_done(s, line, phone, status, now))


@bp.post("/menu")
@caller_call
def menu():
    return _on_move(calls.menu)


@bp.post("/turn")
@caller_call
def turn():
    move, progress = _move(), calls.Progress(silent=_number("silent"))
    return _call_turn(lambda s, line, phone, now: calls.turn(s, line, phone, move, progress, now))


@bp.post("/confirm")
@caller_call
def confirm():
    return _on_move(calls.confirm)


@bp.post("/end")
@caller_call
def end():
    return _on_move(calls.end)


@bp.post("/person/done")
@caller_call
def person_done():
    status = form_value("DialCallStatus", "").strip().lower()[:20]
    progress = calls.Progress(dialled=_number("n"))
    return _call_turn(
        lambda s, line, phone, now: calls.person_done(s, line, phone, status, progress, now)
    )


@bp.post("/voicemail")
@caller_call
def voicemail():
    url = form_value("RecordingUrl", "").strip()[:500]
    seconds = _seconds(form_value("RecordingDuration"))  # never lose a message to it
    return _call_turn(
        lambda s, line, phone, now: calls.voicemail(s, line, phone, url, seconds, now)
    )


@bp.post("/whisper")
@staff_call
def whisper():
    """Spoken to the person on call who answers: who is calling; 1 takes the call."""
    case_id = _number_of(request.args.get("case"))
    line = current_line()
    with line.db.transaction() as session:
        twiml = calls.whisper(session, line, case_id)
    return Response(twiml, mimetype="text/xml")


@bp.post("/whisper/answer")
@staff_call
def whisper_answer():
    case_id = _number_of(request.args.get("case"))
    worker = normalise_sender(form_value("To", ""))
    digits = form_value("Digits", "").strip()[:5]
    line = current_line()
    meta = request_meta(CALL_META_FIELDS)
    with line.db.transaction() as session:
        twiml = calls.whisper_answer(session, line, case_id, worker, digits, line.clock.now(), meta)
    return Response(twiml, mimetype="text/xml")


@bp.post("/status")
@caller_call
def call_status():
    """The number's call-status callback: a call that ends mid-intake wakes someone."""
    phone = _caller()
    state = form_value("CallStatus", "").strip().lower()
    if state in ("completed", "busy", "failed", "no-answer", "canceled"):
        line = current_line()
        with line.db.transaction() as session:
            calls.ended(session, line, phone, line.clock.now())
    return Response(status=204)


@bp.post("/fallback/person")
@caller_call
def fallback_person():
    """With the database down, 0 rings the fallback number."""
    digits = form_value("Digits", "").strip()[:5]
    return Response(calls.fallback_person(current_line(), digits), mimetype="text/xml")


def _number_of(value: str | None) -> int:
    """A number from a request (0 when absent); one no column can hold is refused (400)."""
    number = whole_number(value or "0")
    if number is None:
        abort(400)
    return number


def _page_id() -> int:
    page_id = whole_number(request.args.get("page"))
    if page_id is None:
        abort(400)
    return page_id


@bp.route("/alert", methods=["GET", "POST"])
@staff_call
def alert_call():
    """Speak the alert and ask for 1 to take the case; silence repeats once, then ends."""
    line = current_line()
    try:
        twiml = alert_calls.speak_alert(line, _page_id(), line.clock.now())
    except alert_calls.NoSuchPage:
        abort(404)
    return Response(twiml, mimetype="text/xml")


@bp.post("/alert/answer")
@staff_call
def alert_answer():
    """1 takes the case, as ACK does: the escalation stops and a text gives the details."""
    digits = form_value("Digits", "").strip()
    meta = request_meta(CALL_META_FIELDS)
    line = current_line()
    try:
        twiml = alert_calls.answer(line, _page_id(), digits, meta, line.clock.now())
    except alert_calls.NoSuchPage:
        abort(404)
    return Response(twiml, mimetype="text/xml")


def _seconds(value: str | None) -> int:
    """A duration as Twilio reports it, clipped; unreadable is 0 (only shown to staff)."""
    try:
        return min(max(int(value or 0), 0), 24 * 3600)
    except ValueError:
        return 0
