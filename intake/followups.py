"""Follow-up texts: the recovery checklist, a little at a time, until FOUND or STOP."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from flows.parse import parse_phone
from intake import outbox
from intake.models import Caller, Case

KIND = "followup"
QUIET_STARTS = time(21, 0)
QUIET_ENDS = time(8, 0)
FIRST_DAY = timedelta(hours=24)


def send_times(start: datetime, offsets: tuple[timedelta, ...], zone: ZoneInfo) -> list[datetime]:
    """When each follow-up goes out: after the first day, never in quiet hours."""
    times = []
    for offset in offsets:
        at = start + offset
        times.append(after_quiet_hours(at, zone) if offset >= FIRST_DAY else at)
    return times


def after_quiet_hours(at: datetime, zone: ZoneInfo) -> datetime:
    """Move a time between 21:00 and 08:00 local to the next 08:00 local."""
    local = at.astimezone(zone)
    if QUIET_ENDS <= local.time() < QUIET_STARTS:
        return at
    day = local.date() if local.time() < QUIET_ENDS else local.date() + timedelta(days=1)
    return datetime.combine(day, QUIET_ENDS, tzinfo=zone).astimezone(at.tzinfo)


def schedule(session: Session, settings, case: Case, caller: Caller, now: datetime) -> int:
    """Queue the follow-up plan for a case that just finished its intake."""
    if caller.opted_out_at is not None or not _textable(caller.phone):
        return 0
    count = 0
    for n, at in enumerate(send_times(now, settings.followup_schedule, settings.zone), 1):
        row = outbox.enqueue(
            session,
            kind=KIND,
            to=caller.phone,
            send_at=at,
            template=f"followup_{n}",
            params={"ref": case.ref},
            lang=caller.lang,
            case_id=case.id,
            caller_id=caller.id,
            dedupe_key=f"followup:{case.id}:{n}",
        )
        count += row is not None
    return count


def cancel(session: Session, case: Case, reason: str) -> int:
    return outbox.cancel_pending(session, reason, case_id=case.id, kinds=(KIND,))


def _textable(phone: str) -> bool:
    """Only phone numbers get follow-ups (not short codes or alphanumeric senders)."""
    return parse_phone(phone, None, strict=False) is not None
