"""Twilio's reports on what the line sent (status callbacks), and what a refusal means:
a number that opted out gets nothing more (intake/staff/optouts.py); a follow-up to a number
that cannot take texts cancels the rest of the plan and tells staff to call instead.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from intake.core.models import Caller, Case, Outbound
from intake.core.outbox import CANNOT_TEXT_REASON, CARD, FOLLOWUP, cancel_pending
from intake.domain.enums import OutboxStatus
from intake.infra.logs import event as log_event
from intake.infra.transport import CANNOT_TEXT, OPTED_OUT
from intake.staff import optouts

if TYPE_CHECKING:
    from intake.core.line import Line

FAILED_CALL = ("busy", "no-answer", "failed", "canceled")
FAILED_TEXT = ("failed", "undelivered")  # Twilio's words for a text that did not arrive
DELIVERY_ORDER = {
    "accepted": 0,
    "queued": 1,
    "sending": 2,
    "sent": 3,
    "receiving": 3,
    "received": 3,
    "delivered": 4,
    "undelivered": 4,
    "failed": 4,
    "read": 5,
}


def cannot_text(session: Session, row: Outbound, code: int | None, now: datetime) -> int:
    """A follow-up or the card refused because its number cannot receive texts (21614,
    21612: a landline): cancel every follow-up still pending to that number and mark the
    cases of the caller at that number (`cannot_text_at`) so staff call instead. Returns
    how many were cancelled. Other codes, and other kinds of rows (pages to staff), change
    nothing.
    """
    if row.kind not in (FOLLOWUP, CARD) or code not in CANNOT_TEXT:
        return 0
    callers = select(Caller.id).where(Caller.phone == row.to_phone)
    session.execute(
        update(Case)
        .where(Case.caller_id.in_(callers), Case.cannot_text_at.is_(None))
        .values(cannot_text_at=now)
        .execution_options(synchronize_session=False)
    )
    cancelled = cancel_pending(session, CANNOT_TEXT_REASON, to=row.to_phone, kinds=(FOLLOWUP,))
    log_event("outbox.cannot_text", id=row.id, code=code, cancelled=cancelled)
    return cancelled


def _row_for(session: Session, sid: str, outbox_id: int | None, now: datetime) -> Outbound | None:
    """The row a callback speaks of; a row whose commit was lost is marked sent now."""
    row = session.scalar(select(Outbound).where(Outbound.twilio_sid == sid).with_for_update())
    if row is None and outbox_id is not None:
        row = session.get(Outbound, outbox_id, with_for_update=True)
        if row is not None and row.twilio_sid not in (None, sid):
            return None
    if row is not None and row.twilio_sid is None:  # Twilio took it; our commit was lost
        row.twilio_sid, row.status, row.lease_until = sid, OutboxStatus.SENT, None
        row.sent_at = row.sent_at or now
    return row


def record_delivery(
    session: Session,
    line: Line,
    sid: str,
    status: str,
    error_code: int | None,
    outbox_id: int | None,
    now: datetime,
) -> Outbound | None:
    """Apply a Twilio status callback to its row; out-of-order callbacks never go back."""
    row = _row_for(session, sid, outbox_id, now)
    if row is None:
        return None
    if DELIVERY_ORDER.get(status, -1) >= DELIVERY_ORDER.get(row.delivery_status or "", -1):
        row.delivery_status = status
        if error_code:
            row.error_code = error_code
    if status in FAILED_TEXT:
        row.status = OutboxStatus.FAILED
        row.last_error = f"delivery {status} ({error_code})" if error_code else status
        if error_code == OPTED_OUT:
            optouts.opt_out(session, line, row.to_phone, now)
        else:
            cannot_text(session, row, error_code, now)
    return row


def record_call_status(
    session: Session, sid: str, status: str, outbox_id: int | None, now: datetime
) -> Outbound | None:
    """Apply a call's status callback; a call nobody picked up counts as failed."""
    row = _row_for(session, sid, outbox_id, now)
    if row is None:
        return None
    row.delivery_status = status
    if status in FAILED_CALL:
        row.status, row.last_error = OutboxStatus.FAILED, f"call {status}"
    return row
