"""The queue: every text (or call) the line sends on its own is a row first.

Rows are added (`enqueue`), cancelled while pending (`cancel_pending`) and claimed for
sending (`claim`: FOR UPDATE SKIP LOCKED on PostgreSQL; one BEGIN IMMEDIATE transaction
on SQLite), with their words rendered then. Unprompted texts keep out of quiet hours.
Sending is intake/delivery/dispatcher.py; Twilio's reports on what was sent,
intake/delivery/receipts.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, defer, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from intake.core import words
from intake.core.models import Case, Outbound
from intake.domain.enums import Medium, OutboxKind, OutboxStatus
from intake.infra import clock, windows
from intake.infra.db import Database
from intake.infra.logs import event as log_event

if TYPE_CHECKING:
    from intake.core.line import Line

BATCH = 200
OPTED_OUT_REASON = "opted out"
CANNOT_TEXT_REASON = "cannot receive texts"
FOLLOWUP = OutboxKind.FOLLOWUP  # the follow-up plan's rows (intake/cases/followups.py)
CARD = (
    OutboxKind.CARD
)  # the text to read to police and NCMEC at the end of an intake (intake/cases/card.py)
QUIET_STARTS = time(21, 0)  # unprompted texts after the first day wait for daytime
QUIET_ENDS = time(8, 0)
QUIET_HOURS = windows.Window(windows.EVERY_DAY, QUIET_STARTS, QUIET_ENDS)  # intake/infra/windows.py
DAYTIME_ONLY = "daytime_only"  # a row param: never send between QUIET_STARTS and QUIET_ENDS


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
    test: bool = False  # about a test case: delivered locally (intake/cases/simulated.py)


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
    channel: str,
) -> Outbound | None:
    """Add one outbound text; a repeated dedupe_key adds nothing (and returns None)."""
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
    if dedupe_key is None:
        session.add(row)
        return row
    values = _values(row, clock.of(session).now())
    # the encrypted columns are not read back: their values are known, so the new row
    # costs no decryption of what was just encrypted
    added = (
        _insert_new(session, Outbound)
        .values(values)
        .returning(Outbound)
        .options(defer(Outbound.body), defer(Outbound.params))
    )
    added_row = session.scalars(added).one_or_none()
    if added_row is not None:
        set_committed_value(added_row, "body", values["body"])
        set_committed_value(added_row, "params", values["params"])
    return added_row


def enqueue_many(session: Session, rows: list[Outbound]) -> int:
    """Add several outbound texts in one INSERT; a row whose dedupe_key is already queued
    adds nothing. Returns how many were added."""
    if not rows:
        return 0
    added = _insert_new(session, Outbound.__table__)  # Core: one executemany, cached
    now = clock.of(session).now()
    return session.execute(added, [_values(row, now) for row in rows]).rowcount


def dialect_insert(session: Session, model):
    """The INSERT of the session's database, the one that knows ON CONFLICT."""
    postgres = session.get_bind().dialect.name == "postgresql"
    return (pg_insert if postgres else sqlite_insert)(model)


def _insert_new(session: Session, target):
    """INSERT ... ON CONFLICT (dedupe_key) DO NOTHING: the unique key says what is queued,
    with no SELECT before each row."""
    insert = dialect_insert(session, target)
    return insert.on_conflict_do_nothing(index_elements=["dedupe_key"])


def _values(row: Outbound, now: datetime) -> dict[str, Any]:
    """A new row's columns, defaults filled in as the ORM would."""
    return {
        "kind": row.kind,
        "channel": row.channel or Medium.SMS,
        "to_phone": row.to_phone,
        "template": row.template,
        "params": row.params or {},
        "body": row.body,
        "lang": row.lang or "en",
        "case_id": row.case_id,
        "caller_id": row.caller_id,
        "dedupe_key": row.dedupe_key,
        "send_at": row.send_at,
        "status": OutboxStatus.PENDING,
        "attempts": 0,
        "created_at": now,
        "unsure": False,
    }


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
    query = update(Outbound).where(Outbound.status == OutboxStatus.PENDING)
    if case_id is not None:
        query = query.where(Outbound.case_id == case_id)
    if to is not None:
        query = query.where(Outbound.to_phone == to)
    if kinds:
        query = query.where(Outbound.kind.in_(kinds))
    result = session.execute(
        query.values(status=OutboxStatus.CANCELLED, last_error=reason).execution_options(
            synchronize_session=False
        )
    )
    return result.rowcount or 0


def claim(db: Database, line: Line, now: datetime, limit: int = BATCH) -> list[Claimed]:
    """Take due rows (and rows whose lease ran out) for this worker, in one transaction."""
    with db.transaction() as session:
        ids = _lock_ids(
            session, Outbound.status == OutboxStatus.SENDING, Outbound.lease_until, now, limit
        )
        due = _lock_ids(
            session,
            Outbound.status == OutboxStatus.PENDING,
            Outbound.send_at,
            now,
            limit - len(ids),
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
                status=OutboxStatus.SENDING,
                lease_until=now + line.settings.send_lease,
                attempts=Outbound.attempts + 1,
                tried_at=func.coalesce(Outbound.tried_at, clock.SYSTEM.now()),  # Twilio's time
            )
            .execution_options(synchronize_session=False)
        )
        rows = session.execute(
            select(Outbound, Case.is_test)
            .options(joinedload(Outbound.caller))
            .outerjoin(Case, Case.id == Outbound.case_id)
            .where(Outbound.id.in_(ids))
        ).all()
        return [
            c
            for row, test in sorted(rows, key=lambda r: (r[0].send_at, r[0].id))  # as queued
            if (c := _prepare(line, row, now, bool(test)))
        ]


def in_quiet_hours(at: datetime, zone: ZoneInfo) -> bool:
    return windows.covers(QUIET_HOURS, at.astimezone(zone))


def after_quiet_hours(at: datetime, zone: ZoneInfo) -> datetime:
    """Move a time between 21:00 and 08:00 local to the next 08:00 local."""
    return windows.end_of(QUIET_HOURS, at.astimezone(zone)).astimezone(at.tzinfo)


def claim_query(status, column, now: datetime, limit: int):
    """The SELECT that takes rows for one worker: oldest first (two due at the same moment
    in the order they were queued), skipping locked rows."""
    return (
        select(Outbound.id)
        .where(status, column <= now)
        .order_by(column, Outbound.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )


def _lock_ids(session: Session, status, column, now: datetime, limit: int) -> list[int]:
    if limit <= 0:
        return []
    return list(session.scalars(claim_query(status, column, now, limit)))


def _prepare(line: Line, row: Outbound, now: datetime, test: bool = False) -> Claimed | None:
    """The row's words: rendered at its first claim, in the recipient's language then,
    and kept on the row before the first request leaves; a retry (and the look-up of an
    unsure send) uses those words, whatever the recipient chose since. `test`: the row is
    about a test case (delivered locally, never to a real phone).

    A daytime-only text claimed in quiet hours (a late worker, a retry) waits for 08:00.
    """
    if row.params.get(DAYTIME_ONLY) and in_quiet_hours(now, line.settings.zone):
        wait_until = after_quiet_hours(now, line.settings.zone)
        row.status, row.send_at, row.lease_until = OutboxStatus.PENDING, wait_until, None
        row.attempts -= 1
        return None
    body = row.body
    if row.template and body is None:
        lang = row.caller.lang if row.caller else row.lang
        params = {"org": line.settings.org_name, **row.params}
        try:
            folder, name = words.stored_name(row.template, row.channel)
            body = words.render(name, lang, channel=folder, **params)
        except Exception as error:  # noqa: BLE001 - a broken template fails its row only
            row.status, row.last_error = OutboxStatus.FAILED, f"template: {type(error).__name__}"
            log_event("outbox.bad_template", level=40, id=row.id, template=row.template)
            return None
        row.body = body
    call_url = row.params.get("call_url") if row.channel == Medium.VOICE else None
    return Claimed(
        id=row.id,
        kind=row.kind,
        to=row.to_phone,
        channel=row.channel,
        body=body or "",
        call_url=call_url,
        unsure=row.unsure,
        tried_at=row.tried_at,
        test=test,
    )
