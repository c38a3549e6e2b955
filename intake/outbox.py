"""Durable sending: every text the line sends on its own is a row first.

A dispatcher claims due rows (FOR UPDATE SKIP LOCKED on PostgreSQL; one BEGIN IMMEDIATE
transaction on SQLite), marks them `sending` with a lease, sends each through a
transport, and records the outcome in a short transaction of its own. A row whose lease
ran out (its worker died) is claimed again; see the README for what that means.
"""

from __future__ import annotations

import random
import time as clock
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, joinedload

from intake import signing, words
from intake.db import Database
from intake.logs import event as log_event
from intake.models import Caller, Case, OnCallPerson, Outbound, utcnow
from intake.transport import CANNOT_TEXT, OPTED_OUT, Outgoing, SendError, Transport

if TYPE_CHECKING:
    from intake.line import Line

MAX_ATTEMPTS = 8
BACKOFF_FIRST = timedelta(seconds=15)
BACKOFF_MOST = timedelta(minutes=30)
BATCH = 200
OPTED_OUT_REASON = "opted out"
CANNOT_TEXT_REASON = "cannot receive texts"
FOLLOWUP = "followup"  # the kind of the follow-up plan's rows (intake/followups.py)
QUIET_STARTS = time(21, 0)  # unprompted texts after the first day wait for daytime
QUIET_ENDS = time(8, 0)
DAYTIME_ONLY = "daytime_only"  # a row param: never send between QUIET_STARTS and QUIET_ENDS
STATUS_PATH = "/twilio/status"
CALL_STATUS_PATH = "/twilio/call-status"
FAILED_CALL = ("busy", "no-answer", "failed", "canceled")
FINAL_DELIVERY = ("delivered", "undelivered", "failed", "read")
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


@dataclass(frozen=True)
class Claimed:
    """A row taken for sending, with its words already rendered."""

    id: int
    kind: str
    to: str
    channel: str
    body: str
    call_url: str | None = None
    unsure: bool = False  # an earlier request may have reached Twilio: look it up first
    tried_at: datetime | None = None  # when the first request for it left (wall clock)


@dataclass
class Report:
    """What one dispatch did: counts, the rows it settled, every row's outcome."""

    sent: int = 0
    found: int = 0  # of `sent`: found at Twilio by a lookup, not sent again
    retried: int = 0
    failed: int = 0
    ids: list[int] = field(default_factory=list)
    outcomes: list[tuple[Claimed, str]] = field(default_factory=list)


def enqueue(
    session: Session,
    *,
    kind: str,
    to: str,
    send_at: datetime,
    template: str | None = None,
    params: dict[str, Any] | None = None,
    body: str | None = None,
    lang: str = "en",
    case_id: int | None = None,
    caller_id: int | None = None,
    dedupe_key: str | None = None,
    channel: str = "sms",
) -> Outbound | None:
    """Add one outbound text; a repeated dedupe_key adds nothing."""
    if dedupe_key and session.scalar(select(Outbound.id).where(Outbound.dedupe_key == dedupe_key)):
        return None
    row = Outbound(
        kind=kind,
        to_phone=to,
        send_at=send_at,
        template=template,
        params=params or {},
        body=body,
        lang=lang,
        case_id=case_id,
        caller_id=caller_id,
        dedupe_key=dedupe_key,
        channel=channel,
    )
    session.add(row)
    return row


def kinds_for_case(session: Session, case_id: int) -> set[str]:
    """The kinds of texts queued or sent for a case (follow-ups, a photo request...)."""
    query = select(Outbound.kind).where(Outbound.case_id == case_id).distinct()
    return set(session.scalars(query))


def cancel_pending(
    session: Session,
    reason: str,
    *,
    case_id: int | None = None,
    to: str | None = None,
    kinds: tuple[str, ...] | None = None,
) -> int:
    """Cancel rows not yet claimed; returns how many."""
    query = update(Outbound).where(Outbound.status == "pending")
    if case_id is not None:
        query = query.where(Outbound.case_id == case_id)
    if to is not None:
        query = query.where(Outbound.to_phone == to)
    if kinds:
        query = query.where(Outbound.kind.in_(kinds))
    result = session.execute(
        query.values(status="cancelled", last_error=reason).execution_options(
            synchronize_session=False
        )
    )
    return result.rowcount or 0


def claim(db: Database, line: Line, now: datetime, limit: int = BATCH) -> list[Claimed]:
    """Take due rows (and rows whose lease ran out) for this worker, in one transaction."""
    with db.transaction() as session:
        ids = _lock_ids(session, Outbound.status == "sending", Outbound.lease_until, now, limit)
        due = _lock_ids(
            session, Outbound.status == "pending", Outbound.send_at, now, limit - len(ids)
        )
        if ids:  # their worker died mid-send: Twilio may have taken them
            session.execute(
                update(Outbound)
                .where(Outbound.id.in_(ids))
                .values(unsure=True)
                .execution_options(synchronize_session=False)
            )
        ids += due
        if not ids:
            return []
        session.execute(
            update(Outbound)
            .where(Outbound.id.in_(ids))
            .values(
                status="sending",
                lease_until=now + line.settings.send_lease,
                attempts=Outbound.attempts + 1,
                tried_at=func.coalesce(Outbound.tried_at, utcnow()),
            )
            .execution_options(synchronize_session=False)
        )
        rows = session.scalars(
            select(Outbound).options(joinedload(Outbound.caller)).where(Outbound.id.in_(ids))
        ).all()
        return [
            c for row in sorted(rows, key=lambda r: r.send_at) if (c := _prepare(line, row, now))
        ]


def in_quiet_hours(at: datetime, zone: ZoneInfo) -> bool:
    return not QUIET_ENDS <= at.astimezone(zone).time() < QUIET_STARTS


def after_quiet_hours(at: datetime, zone: ZoneInfo) -> datetime:
    """Move a time between 21:00 and 08:00 local to the next 08:00 local."""
    if not in_quiet_hours(at, zone):
        return at
    local = at.astimezone(zone)
    day = local.date() if local.time() < QUIET_ENDS else local.date() + timedelta(days=1)
    return datetime.combine(day, QUIET_ENDS, tzinfo=zone).astimezone(at.tzinfo)


def claim_query(status, column, now: datetime, limit: int):
    """The SELECT that takes rows for one worker: oldest first, skipping locked rows."""
    return (
        select(Outbound.id)
        .where(status, column <= now)
        .order_by(column)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )


def _lock_ids(session: Session, status, column, now: datetime, limit: int) -> list[int]:
    if limit <= 0:
        return []
    return list(session.scalars(claim_query(status, column, now, limit)))


def _prepare(line: Line, row: Outbound, now: datetime) -> Claimed | None:
    """Render the row's words now, in the recipient's current language.

    A daytime-only text claimed in quiet hours (a late worker, a retry) waits for 08:00.
    """
    if row.params.get(DAYTIME_ONLY) and in_quiet_hours(now, line.settings.zone):
        wait_until = after_quiet_hours(now, line.settings.zone)
        row.status, row.send_at, row.lease_until = "pending", wait_until, None
        row.attempts -= 1
        return None
    body = row.body
    if row.template:
        lang = row.caller.lang if row.caller else row.lang
        params = {"org": line.settings.org_name, **row.params}
        try:
            body = words.render(row.template, lang, **params)
        except Exception as error:  # noqa: BLE001 - a broken template fails its row only
            row.status, row.last_error = "failed", f"template: {type(error).__name__}"
            log_event("outbox.bad_template", level=40, id=row.id, template=row.template)
            return None
        row.body = body
    call_url = row.params.get("call_url") if row.channel == "call" else None
    return Claimed(
        id=row.id,
        kind=row.kind,
        to=row.to_phone,
        channel=row.channel,
        body=body or "",
        call_url=call_url,
        unsure=row.unsure,
        tried_at=row.tried_at,
    )


OnFailure = Callable[[Session, Outbound, datetime], None]


def dispatch(
    line: Line,
    transport: Transport,
    now: datetime | None = None,
    limit: int = BATCH,
    on_failure: OnFailure | None = None,
) -> Report:
    """Send one batch of due rows; returns what happened.

    Rows go out through a few sender threads, one recipient's rows in order on one
    thread. A row is never sent once half its lease is gone (another worker could take
    it after the lease): such rows are handed back for the next tick.
    on_failure(session, row, now) runs in the row's transaction when a row finally fails.
    """
    now = now or utcnow()
    deadline = clock.monotonic() + line.settings.send_lease.total_seconds() / 2
    claimed = claim(line.db, line, now, limit)
    by_recipient: dict[str, list[Claimed]] = defaultdict(list)
    for item in claimed:
        by_recipient[item.to].append(item)

    def send_all(items: list[Claimed]) -> list[tuple[Claimed, str]]:
        done = []
        with line.db.engine.connect() as conn:  # one connection per sender thread
            for item in items:
                if clock.monotonic() > deadline:
                    done.append((item, "late"))
                    continue
                if item.unsure:
                    found = _look_up(line, transport, conn, item)
                    if found is not None:
                        result = _record(line, conn, item, found, now, on_failure)
                        done.append((item, "found" if result == "sent" else result))
                        continue
                    if clock.monotonic() > deadline:
                        done.append((item, "late"))
                        continue
                outcome = _send(line, transport, item)
                done.append((item, _record(line, conn, item, outcome, now, on_failure)))
        return done

    report = Report()
    senders = max(1, min(line.settings.send_concurrency, len(by_recipient)))
    with ThreadPoolExecutor(max_workers=senders) as pool:
        for results in pool.map(send_all, by_recipient.values()):
            for item, result in results:
                _count(report, item, result)
    late = [item.id for item, result in report.outcomes if result == "late"]
    if late:
        _release(line.db, late)
    return report


def _count(report: Report, item: Claimed, result: str) -> None:
    report.outcomes.append((item, result))
    if result == "found":
        report.found += 1
        result = "sent"
    if result in ("sent", "retried", "failed"):
        report.ids.append(item.id)
        setattr(report, result, getattr(report, result) + 1)


def _release(db: Database, ids: list[int]) -> None:
    """Hand back rows this worker no longer has time to send, for any worker to take."""
    with db.transaction() as session:
        session.execute(
            update(Outbound)
            .where(Outbound.id.in_(ids), Outbound.status == "sending")
            .values(status="pending", lease_until=None, attempts=Outbound.attempts - 1)
            .execution_options(synchronize_session=False)
        )
    log_event("outbox.released", count=len(ids))


def _look_up(line: Line, transport: Transport, conn, item: Claimed) -> str | SendError | None:
    """Before sending again a row whose earlier request may have reached Twilio, ask
    Twilio: the SID of a matching text (or call) sent since the first attempt and not
    already any other row's, or None (not there: send it), or a SendError (cannot tell:
    try later, still unsure)."""
    since = item.tried_at or utcnow()
    message = Outgoing(to=item.to, body=item.body, call_url=item.call_url)
    try:
        sids = transport.find_sent(message, item.channel, since)
    except SendError as error:
        return SendError(f"lookup: {error.reason}", error.code, retry=True, ambiguous=True)
    if sids:
        taken = set(
            conn.scalars(
                select(Outbound.twilio_sid).where(
                    Outbound.twilio_sid.in_(sids), Outbound.id != item.id
                )
            )
        )
        conn.rollback()  # end the read; _record begins its own transaction
        free = [sid for sid in sids if sid not in taken]
        if free:
            log_event("outbox.found", id=item.id, kind=item.kind, candidates=len(free))
            return free[-1]  # Twilio lists newest first: the first attempt's
    log_event("outbox.not_found", id=item.id, kind=item.kind)
    return None


def _send(line: Line, transport: Transport, item: Claimed) -> str | SendError:
    path = CALL_STATUS_PATH if item.channel == "call" else STATUS_PATH
    callback = (
        signing.public_url(line.settings.public_base_url, path, f"outbox={item.id}")
        if line.settings.uses_twilio
        else None
    )
    message = Outgoing(to=item.to, body=item.body, status_callback=callback, call_url=item.call_url)
    try:
        if item.channel == "call":
            return transport.place_call(message)
        return transport.send_sms(message)
    except SendError as error:
        return error


def _record(
    line: Line,
    conn,
    item: Claimed,
    outcome: str | SendError,
    now: datetime,
    on_failure: OnFailure | None,
) -> str:
    """Write down one send's outcome at once, in its own short transaction."""
    if isinstance(outcome, str):
        with conn.begin():
            done = conn.execute(
                update(Outbound)
                .where(Outbound.id == item.id, Outbound.status == "sending")
                .values(
                    status="sent", twilio_sid=outcome, sent_at=now, lease_until=None, unsure=False
                )
            )
        if done.rowcount:
            log_event("outbox.sent", id=item.id, kind=item.kind)
        return "sent" if done.rowcount else "lost"
    with line.db.transaction() as session:
        return _record_error(session, item, outcome, now, on_failure, line.settings.retry_after)


def _record_error(
    session: Session,
    item: Claimed,
    error: SendError,
    now: datetime,
    on_failure,
    retry_after: timedelta = BACKOFF_FIRST,
) -> str:
    row = session.get(Outbound, item.id, with_for_update=True)
    if row is None or row.status != "sending":
        return "lost"
    row.last_error, row.error_code, row.lease_until = error.reason, error.code, None
    row.unsure = row.unsure or error.ambiguous  # stays unsure until Twilio has answered
    if error.opted_out:
        row.status = "failed"
        opt_out(session, row.to_phone, now)
    elif error.retry and row.attempts < MAX_ATTEMPTS:
        row.status, row.send_at = "pending", now + backoff(row.attempts, retry_after)
    else:
        row.status = "failed"
        cannot_text(session, row, error.code, now)
    if row.status == "failed" and on_failure is not None:
        on_failure(session, row, now)
    log_event(
        "outbox.not_sent",
        id=row.id,
        kind=row.kind,
        status=row.status,
        error=error.reason,
        attempts=row.attempts,
    )
    return "failed" if row.status == "failed" else "retried"


def backoff(attempts: int, first: timedelta = BACKOFF_FIRST) -> timedelta:
    """15s (`first`), 30s, 1m, 2m ... up to 30 minutes, with jitter so retries don't stampede."""
    delay = min(first * (2 ** max(attempts - 1, 0)), BACKOFF_MOST)
    return delay * random.uniform(0.8, 1.2)


def opt_out(session: Session, phone: str, now: datetime) -> int:
    """Record that a number opted out (a caller, or someone on call: no more pages to
    them) and cancel everything pending to it."""
    for table in (Caller, OnCallPerson):
        session.execute(
            update(table)
            .where(table.phone == phone, table.opted_out_at.is_(None))
            .values(opted_out_at=now)
            .execution_options(synchronize_session=False)
        )
    return cancel_pending(session, OPTED_OUT_REASON, to=phone)


def cannot_text(session: Session, row: Outbound, code: int | None, now: datetime) -> int:
    """A follow-up refused because its number cannot receive texts (21614, 21612: a
    landline): cancel every follow-up still pending to that number and mark the cases of
    the caller at that number (`cannot_text_at`) so staff call instead. Returns how many
    were cancelled. Other codes, and other kinds of rows (pages to staff), change nothing.
    """
    if row.kind != FOLLOWUP or code not in CANNOT_TEXT:
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


def _row_for(session: Session, sid: str, outbox_id: int | None) -> Outbound | None:
    """The row a callback speaks of; a row whose commit was lost is marked sent now."""
    row = session.scalar(select(Outbound).where(Outbound.twilio_sid == sid).with_for_update())
    if row is None and outbox_id is not None:
        row = session.get(Outbound, outbox_id, with_for_update=True)
        if row is not None and row.twilio_sid not in (None, sid):
            return None
    if row is not None and row.twilio_sid is None:  # Twilio took it; our commit was lost
        row.twilio_sid, row.status, row.lease_until = sid, "sent", None
        row.sent_at = row.sent_at or utcnow()
    return row


def record_delivery(
    session: Session, sid: str, status: str, error_code: int | None, outbox_id: int | None
) -> Outbound | None:
    """Apply a Twilio status callback to its row; out-of-order callbacks never go back."""
    row = _row_for(session, sid, outbox_id)
    if row is None:
        return None
    if DELIVERY_ORDER.get(status, -1) >= DELIVERY_ORDER.get(row.delivery_status or "", -1):
        row.delivery_status = status
        if error_code:
            row.error_code = error_code
    if status in ("failed", "undelivered"):
        row.status = "failed"
        row.last_error = f"delivery {status} ({error_code})" if error_code else status
        if error_code == OPTED_OUT:
            opt_out(session, row.to_phone, utcnow())
        else:
            cannot_text(session, row, error_code, utcnow())
    return row


def record_call_status(
    session: Session, sid: str, status: str, outbox_id: int | None
) -> Outbound | None:
    """Apply a call's status callback; a call nobody picked up counts as failed."""
    row = _row_for(session, sid, outbox_id)
    if row is None:
        return None
    row.delivery_status = status
    if status in FAILED_CALL:
        row.status, row.last_error = "failed", f"call {status}"
    return row
