"""The SMS adapter: what only texting knows, around one channel-neutral turn.

MessageSid de-duplication (Twilio retries), texts from the on-call roster (staff
commands), the carrier's own opt-out words (Twilio confirms those itself, so we leave our
confirmation unsaid), TwiML from MessagingResponse, and the emergency fallback.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from flows import engine
from flows.parse import detect_language, is_carrier_opt_out_word, keyword
from intake.cases import lifecycle as cases
from intake.channels import twiml as channels
from intake.conversation import turn as conversations
from intake.core.models import Caller, Case, Message, OnCallPerson
from intake.domain.enums import Medium
from intake.infra.logs import event as log_event
from intake.oncall import roster
from intake.staff import commands as staff

if TYPE_CHECKING:
    from intake.core.line import Line


@dataclass(frozen=True)
class InboundSms:
    """An incoming text as Twilio described it, already checked and normalised."""

    sid: str
    sender: str  # E.164, or the raw id of a short code or alphanumeric sender
    body: str
    media: tuple[engine.Media, ...] = ()
    meta: dict[str, str] = field(default_factory=dict)  # Twilio's other fields, for staff


# Built once (building a statement costs more CPU than running it).
# Whether this SID was handled before, and what we answered: asked alone for a new number,
# and with the current case for a caller who texted before.
_SAME_SID = Message.twilio_sid == bindparam("sid")
_SEEN = select(Message.id).where(_SAME_SID).exists().label("seen")
_REPLY = select(Message.reply_twiml).where(_SAME_SID).scalar_subquery().label("reply")
_ANSWER_TO_SID = select(_SEEN, _REPLY)
_CASE_AND_ANSWER = (
    select(Case, _SEEN, _REPLY)
    .select_from(Caller)
    .outerjoin(Case, Case.id == cases.current_case_id(Caller.id))
    .where(Caller.id == bindparam("caller_id"))
)


def handle_sms(session: Session, line: Line, sms: InboundSms, now: datetime) -> str:
    """Handle one text inside the caller's transaction; return the TwiML to answer."""
    sender = lock_sender(session, sms.sender, now, sms.sid)
    if sender.answered is not None:  # Twilio retried: answer the same, change nothing
        log_event("sms.duplicate", sid=sms.sid)
        return sender.answered or channels.sms_twiml([])
    if sender.person is not None:
        return handle_staff_sms(session, line, sender.person, sms, now)
    caller = sender.caller
    inbound = engine.Inbound(text=sms.body, media=sms.media, sender=sms.sender, channel=Medium.SMS)
    unsaid = frozenset({"opted_out"}) if is_carrier_opt_out_word(sms.body) else frozenset()
    turn = conversations.take_turn(session, line, caller, inbound, now, unsaid, sender.case)
    twiml = channels.sms_twiml(turn.texts or [])
    conversations.keep_messages(
        session, turn, sms.body, now, sid=sms.sid, num_media=len(sms.media), reply=twiml
    )
    log_event("sms.handled", sid=sms.sid, caller=caller.id)
    return twiml


@dataclass
class Sender:
    """Who sent a text, locked: a roster member or a caller (with their current case, if
    read), and our earlier answer if this text (its SID) was handled before."""

    person: OnCallPerson | None
    caller: Caller | None
    case: Case | None | conversations.Unread = conversations.UNREAD
    answered: str | None = None


def lock_sender(session: Session, phone: str, now: datetime, sid: str | None = None) -> Sender:
    """Who sent a text, locked for the transaction: a roster member, or else a caller
    (created if new), and what we answered if this SID (when given) was handled before.
    A known caller costs two round trips: the locked read, then their current case and
    the SID in one; a new one, four (the read, the roster, the INSERT, the SID)."""
    caller, maybe_staff = conversations.lock_known_caller(session, phone)
    if caller is not None and not maybe_staff:
        case, answered = _case_and_answer(session, caller, sid)
        return Sender(None, caller, case, answered)
    person = roster.by_phone(session, phone, lock=True) if maybe_staff else None
    answered = (
        None if sid is None else _answered(session.execute(_ANSWER_TO_SID, {"sid": sid}).one())
    )
    if person is None and caller is None:
        caller, inserted = conversations.new_caller(session, phone, now)
        if inserted:  # a caller inserted just now has no case yet
            return Sender(None, caller, None, answered)
    return Sender(person, caller, answered=answered)


def _case_and_answer(
    session: Session, caller: Caller, sid: str | None
) -> tuple[Case | None, str | None]:
    """A locked caller's current case, and our earlier answer to this SID (`_answered`)."""
    row = session.execute(_CASE_AND_ANSWER, {"caller_id": caller.id, "sid": sid}).one()
    return row.Case, _answered(row)


def _answered(row) -> str | None:
    """What we answered when this SID was handled before ("" for nothing), else None."""
    return (row.reply or "") if row.seen else None


def handle_staff_sms(
    session: Session, line: Line, person: OnCallPerson, sms: InboundSms, now: datetime
) -> str:
    """A text from someone on the roster: a command, answered and kept."""
    texts, case = staff.handle(session, line, person, sms.body, now)
    twiml = channels.sms_twiml(texts)
    staff.keep_command(session, person, case, sms.body, twiml, sms.meta, now, sid=sms.sid)
    log_event("staff.command", sid=sms.sid, person=person.id, case=case.ref if case else "-")
    return twiml


def is_stop(line: Line, body: str) -> bool:
    """Whether a text asks the line to stop texting (its own stop words and the carrier's)."""
    return keyword(line.flow.vocab, body) == "stop"


def fallback_twiml(line: Line, body: str) -> str:
    """The emergency message from memory, for when storage (or anything) fails."""
    if is_stop(line, body):
        return channels.sms_twiml([])
    lang = detect_language(line.flow.vocab, body) or "en"
    return channels.sms_twiml([line.fallback.get(lang, line.fallback["en"])])
