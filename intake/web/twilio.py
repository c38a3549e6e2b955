"""Twilio's webhooks. Every request is signed; anything else gets 403 and changes nothing.
A signed request that Twilio would not send for this line (a SID of the wrong shape, another
account, another number, a body over 1,600 characters) gets 400 and changes nothing."""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, Response, abort, request

from flows.engine import Media
from intake.channels import fallbacks
from intake.channels import sms as sms_adapter
from intake.core import webhooks
from intake.core.line import current_line
from intake.core.models import Outbound
from intake.delivery import receipts as delivery
from intake.domain.enums import Medium, OutboxStatus
from intake.infra import phones, sids, signing
from intake.infra.deadline import TooLate
from intake.infra.logs import event as log_event
from intake.oncall import paging
from intake.web import metrics
from intake.web.values import form_value, whole_number

bp = Blueprint("twilio", __name__)  # its paths: intake/core/webhooks.py

MAX_MEDIA = 10  # Twilio sends at most 10 media items with one message
MAX_SENDER = 40
STATUS_LENGTH = Outbound.delivery_status.type.length
MAX_BODY = 1600  # Twilio's limit for one text: a longer Body is none of Twilio's


def twilio_webhook(sid: str, line_fields: tuple[str, ...] = ()):
    """A route of Twilio's: refuse (403) a request whose X-Twilio-Signature does not match,
    then (400, nothing stored) one that Twilio would not send (see `refusal`).

    `sid` names the field that identifies the message or call (required); `line_fields`
    the fields that must be one of the line's numbers (`To` of what reaches the line).
    """

    def decorate(view):
        @wraps(view)
        def checked(*args, **kwargs):
            settings = current_line().settings
            _check_signature(settings)
            reason = refusal(settings, twilio_fields(), sid, line_fields)
            if reason:
                _log_refusal(reason)
                abort(400)
            with metrics.WEBHOOK_SECONDS.labels(route=request.endpoint or "-").time():
                return view(*args, **kwargs)

        return checked

    return decorate


def _check_signature(settings) -> None:
    """403 unless X-Twilio-Signature is Twilio's for PUBLIC_BASE_URL + path + query."""
    url = signing.public_url(settings.public_base_url, request.path, request.query_string.decode())
    signature = request.headers.get(signing.SIGNATURE_HEADER)
    if not signing.is_valid(settings.twilio_auth_token, url, request.form, signature):
        log_event("webhook.forbidden", path=request.path)
        abort(403)


def _log_refusal(reason: str) -> None:
    """Another account or number may be a setting left out (a second number, a new
    account) rather than a forgery, and callers would hear nothing: an error, not a warning."""
    settings_problem = reason == "account" or reason.startswith("number:")
    log_event(
        "webhook.refused", level=40 if settings_problem else 30, path=request.path, reason=reason
    )


def twilio_fields():
    """Twilio's fields of this request: the form, or the query of a GET (a Redirect)."""
    return request.form if request.method == "POST" else request.args


def refusal(settings, fields, sid: str, line_fields: tuple[str, ...]) -> str | None:
    """Why a signed request is still none of Twilio's for this line, or None.

    Every SID field must have its kind's shape (intake/infra/sids.py), `sid` must be there, the
    AccountSid must be the line's (any account's shape without Twilio: local mode has no
    account), the `line_fields` must be the line's numbers, and a Body at most 1,600
    characters. The reason names fields, never their values.
    """
    bad = sids.bad_fields(fields)
    if bad:
        return "sid:" + ",".join(bad)
    if not fields.get(sid):
        return "missing:" + sid
    account = fields.get("AccountSid")
    if not account or (settings.uses_twilio and account != settings.twilio_account_sid):
        return "account"
    for name in line_fields:
        number = fields.get(name)
        if (name == "To" or number is not None) and not _is_line_number(settings, number):
            return "number:" + name
    if len(fields.get("Body", "")) > MAX_BODY:
        return "body"
    return None


def _is_line_number(settings, value: str | None) -> bool:
    region = settings.default_region
    return phones.possible((value or "").strip(), region) in settings.line_numbers


# What reaches the line (a text to its number) and what Twilio reports about what it sent.
inbound_text = twilio_webhook("MessageSid", line_fields=("To",))
message_report = twilio_webhook("MessageSid")
call_report = twilio_webhook("CallSid")


@bp.post(webhooks.SMS_PATH)
@inbound_text
def sms():
    sid = twilio_sid("MessageSid")
    sender = normalise_sender(form_value("From", ""))
    if not sid or not sender:
        abort(400)
    body = form_value("Body", "")
    inbound = sms_adapter.InboundSms(
        sid=sid, sender=sender, body=body, media=read_media(), meta=request_meta()
    )
    line = current_line()
    now = line.clock.now()
    try:
        twiml = line.turns.run(lambda session: sms_adapter.handle_sms(session, line, inbound, now))
    except Exception as error:  # noqa: BLE001 - whatever broke, the caller still hears what to do
        late = isinstance(error, TooLate)  # the deadline, not a fault: no traceback
        log_event("sms.fallback", level=40, exc_info=not late, sid=sid, late=late)
        metrics.FALLBACK_ANSWERS.labels(channel=Medium.SMS).inc()
        twiml = sms_adapter.fallback_twiml(line, body)
        fallbacks.answered_from_memory(line, inbound, twiml, now)  # on disk before the answer
    return Response(twiml, mimetype="text/xml")


# What Twilio says of a text besides its words, kept with a staff command (SECURITY.md).
META_FIELDS = (
    "AccountSid",
    "MessagingServiceSid",
    "From",
    "To",
    "FromCity",
    "FromState",
    "FromZip",
    "FromCountry",
    "NumSegments",
    "SmsStatus",
    "ApiVersion",
)
# ... and of a call (a key pressed by someone on call), kept the same way
CALL_META_FIELDS = (
    "AccountSid",
    "CallSid",
    "ParentCallSid",
    "From",
    "To",
    "Caller",
    "Called",
    "CallerName",
    "CallerCity",
    "CallerState",
    "CallerZip",
    "CallerCountry",
    "CalledCity",
    "CalledState",
    "CalledCountry",
    "ForwardedFrom",
    "Direction",
    "CallStatus",
    "ApiVersion",
)
MAX_META = 100  # characters of one metadata value kept


def request_meta(fields: tuple[str, ...] = META_FIELDS) -> dict[str, str]:
    """Twilio's metadata of this request, and where it came from (proxies included)."""
    values = {name: form_value(name) for name in fields}
    meta = {name: value[:MAX_META] for name, value in values.items() if value}
    meta["RemoteAddr"] = (request.remote_addr or "")[:MAX_META]
    forwarded = request.headers.get("X-Forwarded-For", "")
    if forwarded:
        meta["ForwardedFor"] = forwarded[:MAX_META]
    return meta


def normalise_sender(raw: str) -> str:
    """E.164 for a phone number; a short code or alphanumeric id is kept as sent.

    Twilio has already checked the sender exists, so a possible number is enough here.
    """
    raw = raw.strip()
    region = current_line().settings.default_region
    return phones.possible(raw, region) or raw[:MAX_SENDER]


def read_media() -> tuple[Media, ...]:
    """The MediaUrlN / MediaContentTypeN pairs of an MMS."""
    try:
        count = min(int(form_value("NumMedia", "0")), MAX_MEDIA)
    except ValueError:
        count = 0
    media = []
    for i in range(max(count, 0)):
        url = form_value(f"MediaUrl{i}", "").strip()
        if url:
            kind = form_value(f"MediaContentType{i}", "application/octet-stream")
            media.append(Media(url=url, content_type=kind.strip()[:100]))
    return tuple(media)


@bp.post(webhooks.STATUS_PATH)
@message_report
def status():
    """Twilio's delivery report for a text the line sent: recorded on its outbox row."""
    sid = twilio_sid("MessageSid")
    state = _status("MessageStatus")
    if not sid or not state:
        abort(400)
    error_code = whole_number(form_value("ErrorCode"))  # an odd one is left unsaid
    outbox_id = _outbox_id()

    line = current_line()
    now = line.clock.now()

    def record(session):
        row = delivery.record_delivery(session, line, sid, state, error_code, outbox_id, now)
        _escalate_if_failed(session, row, now)
        return row

    known = _record_report(record)
    log_event("status.received", sid=sid, status=state, known=known)
    return Response(status=204)


@bp.post(webhooks.CALL_STATUS_PATH)
@call_report
def call_status():
    """Twilio's report on a call the line placed (an on-call alert)."""
    sid = twilio_sid("CallSid")
    state = _status("CallStatus")
    if not sid or not state:
        abort(400)
    outbox_id = _outbox_id()

    now = current_line().clock.now()

    def record(session):
        row = delivery.record_call_status(session, sid, state, outbox_id, now)
        _escalate_if_failed(session, row, now)
        return row

    known = _record_report(record)
    log_event("call_status.received", sid=sid, status=state, known=known)
    return Response(status=204)


def _record_report(record) -> bool | None:
    """Record a report from Twilio within the deadline: whether its row is known. Past
    the deadline it is recorded once the database answers again (None): a report is not
    lost, and never holds a web worker that a caller's text needs."""
    line = current_line()
    try:
        return line.turns.run(record) is not None
    except TooLate as late:
        if late.rolled_back:
            line.turns.later("status", record)
        return None


def _escalate_if_failed(session, row, now) -> None:
    if row is not None and row.status == OutboxStatus.FAILED:
        paging.page_failed(session, row, now)


def twilio_sid(name: str) -> str:
    """A message or call sid from the form (its shape checked by `twilio_webhook`)."""
    return form_value(name, "")


def _status(name: str) -> str:
    """A delivery or call status, clipped to what the column keeps: an odd one is still
    recorded on a known message, never lost to an error."""
    return form_value(name, "").strip().lower()[:STATUS_LENGTH]


def _outbox_id() -> int | None:
    """The outbox row a callback names; a number no row can have is as good as none."""
    return whole_number(request.args.get("outbox"))
