"""Follow-up texts: the recovery checklist, a little at a time, until FOUND or STOP."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from intake.core import outbox
from intake.core.models import Caller, Case, Outbound
from intake.domain.enums import CaseStatus, Medium, OutboxStatus
from intake.infra import phones

KIND = outbox.FOLLOWUP
FIRST_DAY = timedelta(hours=24)
PAUSED_REASON = "paused by staff"
TEEN_MONTHS = 12 * 12


def send_times(start: datetime, offsets: tuple[timedelta, ...], zone: ZoneInfo) -> list[datetime]:
    """When each follow-up goes out: from the first day on, never in quiet hours."""
    times = []
    for offset in offsets:
        at = start + offset
        times.append(outbox.after_quiet_hours(at, zone) if offset >= FIRST_DAY else at)
    return times


def planned(settings, caller: Caller) -> bool:
    """Whether this caller gets the follow-up plan (the summary announces it)."""
    return bool(settings.followup_schedule) and can_take_texts(caller)


def first_wait_minutes(settings) -> int:
    """How long after the intake the first follow-up goes, in whole minutes (what a call
    tells the caller who asks for the checklist)."""
    return int(settings.followup_schedule[0].total_seconds() // 60)


def can_take_texts(caller: Caller) -> bool:
    """Whether the line may text this caller on its own: not after STOP, not to a short
    code, not to a number Twilio said cannot take texts (a landline)."""
    if caller.opted_out_at is not None:
        return False
    return _textable(caller.phone) and not caller.cannot_take_texts


def runaway_early(case: Case) -> bool:
    """Teenagers and children in care hear of the runaway line in the first texts."""
    in_care = case.relationship_to_child in ("foster", "caseworker")
    return in_care or (case.age_months is not None and case.age_months >= TEEN_MONTHS)


def schedule(session: Session, settings, case: Case, caller: Caller, now: datetime) -> int:
    """Queue the follow-up plan for a case that just finished its intake."""
    if not planned(settings, caller):
        return 0
    offsets = settings.followup_schedule
    times = send_times(now, offsets, settings.zone)
    rows = [
        Outbound(
            kind=KIND,
            to_phone=caller.phone,
            send_at=at,
            template=f"followup_{n}",
            params={
                "ref": case.ref,
                "runaway_early": runaway_early(case),
                outbox.DAYTIME_ONLY: offset >= FIRST_DAY,
            },
            lang=caller.lang,
            case_id=case.id,
            caller_id=caller.id,
            dedupe_key=f"followup:{case.id}:{n}",
            channel=Medium.SMS,
        )
        for n, (offset, at) in enumerate(zip(offsets, times, strict=True), 1)
    ]
    return outbox.enqueue_many(session, rows)


def resume(session: Session, case: Case, now: datetime) -> int:
    """After START: follow-ups that STOP cancelled and that are still ahead go out again."""
    return _uncancel(session, case, outbox.OPTED_OUT_REASON, now)


def pause(session: Session, case: Case) -> int:
    """Staff hold the follow-ups of a case (the family asked for quiet, say); `unpause`
    sends those still ahead. A STOP or START from the caregiver does not undo a pause."""
    return cancel(session, case, PAUSED_REASON)


def unpause(session: Session, case: Case, now: datetime) -> int:
    """The follow-ups staff paused that are still ahead go out again, at their times."""
    if not CaseStatus(case.status).is_open or case.caller.opted_out_at is not None:
        return 0
    return _uncancel(session, case, PAUSED_REASON, now)


def paused(session: Session, case: Case, now: datetime) -> bool:
    """Whether staff paused follow-ups of this case that are still ahead."""
    query = select(Outbound.id).where(
        Outbound.case_id == case.id,
        Outbound.kind == KIND,
        Outbound.status == OutboxStatus.CANCELLED,
        Outbound.last_error == PAUSED_REASON,
        Outbound.send_at > now,
    )
    return session.scalar(query.limit(1)) is not None


def pending(session: Session, case: Case) -> int:
    """How many follow-ups of this case are still to go out."""
    query = select(func.count(Outbound.id)).where(
        Outbound.case_id == case.id, Outbound.kind == KIND, Outbound.status == OutboxStatus.PENDING
    )
    return session.scalar(query) or 0


def _uncancel(session: Session, case: Case, reason: str, now: datetime) -> int:
    """Follow-ups cancelled for this reason that are still ahead become pending again."""
    result = session.execute(
        update(Outbound)
        .where(
            Outbound.case_id == case.id,
            Outbound.kind == KIND,
            Outbound.status == OutboxStatus.CANCELLED,
            Outbound.last_error == reason,
            Outbound.send_at > now,
        )
        .values(status=OutboxStatus.PENDING, last_error=None)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def cancel(session: Session, case: Case, reason: str) -> int:
    return outbox.cancel_pending(session, reason, case_id=case.id, kinds=(KIND,))


def _textable(phone: str) -> bool:
    """Only phone numbers get follow-ups (not short codes or alphanumeric senders)."""
    return phones.possible(phone, None) is not None
