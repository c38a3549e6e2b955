"""What follows a text answered from memory (intake/deadline.py), once the database
answers again: the caller is never left behind, and their words are never lost silently.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from intake import cases, delivery, outbox, simulator
from intake import sms as sms_adapter
from intake.line import Line
from intake.logs import event as log_event
from intake.models import Message
from intake.sms import InboundSms

LATE_REPLY = "late_reply"  # an outbox kind: a turn's answer the caller never saw


def settle(session: Session, line: Line, sms: InboundSms, answered: str, now: datetime) -> None:
    """After a text was answered from memory at `now` (intake/deadline.py), once the
    database answers again: a turn that committed after all gets its reply sent, so no
    conversation moves on unseen; otherwise the words are kept, unanswered by the flow,
    so nobody loses what a caregiver wrote and a retry of the text gets the same answer.
    """
    sender = sms_adapter.lock_sender(session, sms.sender, now)
    person, caller = sender.person, sender.caller
    earlier = session.scalar(select(Message).where(Message.twilio_sid == sms.sid))
    if earlier is not None:
        # the turn that missed its deadline committed after all; a Twilio retry answered
        # later (created after the fallback) was seen by the caller and needs nothing
        if earlier.created_at <= now and earlier.reply_twiml not in (None, answered):
            _send_late_reply(session, sms.sender, earlier, now)
        return
    if sms_adapter.is_stop(line, sms.body):  # a STOP sent while the database hung still stops
        delivery.opt_out(session, sms.sender, now)
    case = cases.current_case(session, caller) if caller else None
    session.add(
        Message(
            caller_id=caller.id if caller else None,
            person_id=person.id if person else None,
            case_id=case.id if case else None,
            direction="in",
            twilio_sid=sms.sid,
            body=sms.body,
            num_media=len(sms.media),
            reply_twiml=answered,
            meta=(sms.meta or None) if person else None,
            created_at=now,
        )
    )
    log_event("sms.kept_unanswered", sid=sms.sid)


def _send_late_reply(session: Session, to: str, earlier: Message, now: datetime) -> None:
    """The reply of a turn whose COMMIT finished after the caller heard the fallback."""
    body = "\n\n".join(simulator.message_bodies(earlier.reply_twiml or ""))
    if body:
        outbox.enqueue(
            session,
            kind=LATE_REPLY,
            to=to,
            send_at=now,
            body=body,
            case_id=earlier.case_id,
            caller_id=earlier.caller_id,
            dedupe_key=f"{LATE_REPLY}:{earlier.twilio_sid}",
        )
    log_event("sms.late_reply", sid=earlier.twilio_sid, queued=bool(body))
