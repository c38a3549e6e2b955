"""Sending: a dispatcher claims due rows from the queue (intake/core/outbox.py), sends each
through a transport, and records the outcome in a short transaction of its own.

Rows are claimed with a lease (`sending`); a row whose lease ran out (its worker died)
is claimed again; see the README for what that means. A send that fails is retried
with backoff, or fails for good.
"""

from __future__ import annotations

import random
import threading
import time as clock
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from intake.core import webhooks
from intake.core.models import Outbound
from intake.core.outbox import BATCH, Claimed, claim
from intake.delivery.receipts import cannot_text
from intake.domain.enums import Medium, OutboxStatus
from intake.infra import signing
from intake.infra.clock import SYSTEM
from intake.infra.db import Database, DatabaseBusy
from intake.infra.logs import event as log_event
from intake.infra.transport import LocalTransport, Outgoing, SendError, Transport
from intake.staff import optouts

if TYPE_CHECKING:
    from intake.core.line import Line

LOCAL = LocalTransport()  # a test case's texts and calls: never to a real phone
MAX_ATTEMPTS = 8
BACKOFF_FIRST = timedelta(seconds=15)
BACKOFF_MOST = timedelta(minutes=30)
STATUS_PATH = webhooks.STATUS_PATH
CALL_STATUS_PATH = webhooks.CALL_STATUS_PATH


@dataclass
class Report:
    """What one dispatch did: counts, the rows it settled, every row's outcome."""

    sent: int = 0
    found: int = 0  # of `sent`: found at Twilio by a lookup, not sent again
    retried: int = 0
    failed: int = 0
    ids: list[int] = field(default_factory=list)
    outcomes: list[tuple[Claimed, str]] = field(default_factory=list)


OnFailure = Callable[[Session, Outbound, datetime], None]


def dispatch(
    line: Line,
    transport: Transport,
    now: datetime,
    limit: int = BATCH,
    on_failure: OnFailure | None = None,
) -> Report:
    """Send one batch of due rows; returns what happened.

    Rows go out through a few sender threads, one recipient's rows in order on one
    thread. A row is never sent once half its lease is gone (another worker could take
    it after the lease): such rows are handed back for the next tick.
    on_failure(session, row, now) runs in the row's transaction when a row finally fails.
    """
    deadline = clock.monotonic() + line.settings.send_lease.total_seconds() / 2
    claimed = claim(line.db, line, now, limit)
    by_recipient: dict[str, list[Claimed]] = defaultdict(list)
    for item in claimed:
        by_recipient[item.to].append(item)

    ledger = _Ledger(line, now, on_failure)

    def send_all(items: list[Claimed]) -> list[tuple[Claimed, str]]:
        done = []
        with ledger.sender():  # one connection per sender thread, opened when needed
            for item in items:
                if clock.monotonic() > deadline:
                    done.append((item, "late"))
                    continue
                if item.unsure and not item.test:  # a local send is never half done
                    found = ledger.look_up(transport, item)
                    if found is _Ledger.CANNOT_TELL:
                        done.append((item, "late"))  # cannot tell without the database
                        continue
                    if found is not None:
                        result = ledger.record(item, found)
                        done.append((item, "found" if result == "sent" else result))
                        continue
                    if clock.monotonic() > deadline:
                        done.append((item, "late"))
                        continue
                outcome = _send(line, LOCAL if item.test else transport, item)
                done.append((item, ledger.record(item, outcome)))
        return done

    report = Report()
    senders = max(1, min(line.settings.send_concurrency, len(by_recipient)))
    with ThreadPoolExecutor(max_workers=senders) as pool:
        sent = [pair for results in pool.map(send_all, by_recipient.values()) for pair in results]
    written = ledger.catch_up(deadline)  # outcomes held while the database was away
    for item, result in sent:
        _count(report, item, written.get(item.id, result))
    late = [item.id for item, result in report.outcomes if result == "late"]
    if late:
        _release(line.db, late)
    return report


UNWRITTEN = "unwritten"  # sent (or tried), but the database has not taken the outcome


class _Ledger:
    """Where one dispatch writes down outcomes. Each sender thread opens its connection
    when first needed; once the database fails to take an outcome, the outcomes are held
    and sending goes on, and they are written when it is back (`catch_up`). One never
    written leaves its row `sending`: after the lease it is looked up at Twilio, never
    sent twice."""

    DOWN = (SQLAlchemyError, DatabaseBusy)
    CANNOT_TELL = object()

    def __init__(self, line: Line, now: datetime, on_failure: OnFailure | None):
        self.line, self.now, self.on_failure = line, now, on_failure
        self.down = False  # the database failed to take an outcome: hold the rest
        self.held: list[tuple[Claimed, str | SendError]] = []
        self._lock = threading.Lock()
        self._local = threading.local()

    @contextmanager
    def sender(self) -> Iterator[None]:
        try:
            yield
        finally:
            self._drop()

    def look_up(self, transport: Transport, item: Claimed):
        """_look_up with this thread's connection; CANNOT_TELL while the database is away."""
        if self.down:
            return self.CANNOT_TELL
        try:
            return _look_up(self.line, transport, self._connection(), item)
        except self.DOWN:
            self._went_down(item)
            return self.CANNOT_TELL

    def record(self, item: Claimed, outcome: str | SendError) -> str:
        """Write one outcome at once; held (UNWRITTEN) while the database is away."""
        if not self.down:
            try:
                return self._write(item, outcome)
            except self.DOWN:
                self._went_down(item)
        with self._lock:
            self.held.append((item, outcome))
        return UNWRITTEN

    def catch_up(self, until: float) -> dict[int, str]:
        """Write the held outcomes, retrying until `until`: {row id: result}."""
        written: dict[int, str] = {}
        with self.sender():
            while self.held:
                item, outcome = self.held[0]
                try:
                    written[item.id] = self._write(item, outcome)
                except self.DOWN:
                    self._drop()
                    if clock.monotonic() > until:
                        log_event("outbox.left_unwritten", level=40, count=len(self.held))
                        break
                    clock.sleep(1)
                    continue
                self.held.pop(0)
        if written:
            log_event("outbox.caught_up", count=len(written))
        return written

    def _write(self, item: Claimed, outcome: str | SendError) -> str:
        return _record(self.line, self._connection(), item, outcome, self.now, self.on_failure)

    def _went_down(self, item: Claimed) -> None:
        self._drop()
        self.down = True
        log_event("outbox.database_away", level=30, id=item.id, kind=item.kind)

    def _connection(self):
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self.line.db.engine.connect()
        return conn

    def _drop(self) -> None:
        conn, self._local.conn = getattr(self._local, "conn", None), None
        if conn is not None:
            try:
                conn.close()
            except self.DOWN:
                pass


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
            .where(Outbound.id.in_(ids), Outbound.status == OutboxStatus.SENDING)
            .values(status=OutboxStatus.PENDING, lease_until=None, attempts=Outbound.attempts - 1)
            .execution_options(synchronize_session=False)
        )
    log_event("outbox.released", count=len(ids))


def _look_up(line: Line, transport: Transport, conn, item: Claimed) -> str | SendError | None:
    """Before sending again a row whose earlier request may have reached Twilio, ask
    Twilio: the SID of a matching text (or call) sent since the first attempt and not
    already any other row's, or None (not there: send it), or a SendError (cannot tell:
    try later, still unsure)."""
    since = item.tried_at or SYSTEM.now()  # compared with Twilio's own clock
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
    path = CALL_STATUS_PATH if item.channel == Medium.VOICE else STATUS_PATH
    callback = (
        signing.public_url(line.settings.public_base_url, path, f"outbox={item.id}")
        if line.settings.uses_twilio
        else None
    )
    message = Outgoing(to=item.to, body=item.body, status_callback=callback, call_url=item.call_url)
    try:
        if item.channel == Medium.VOICE:
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
                .where(Outbound.id == item.id, Outbound.status == OutboxStatus.SENDING)
                .values(
                    status=OutboxStatus.SENT,
                    twilio_sid=outcome,
                    sent_at=now,
                    lease_until=None,
                    unsure=False,
                )
            )
        if done.rowcount:
            log_event("outbox.sent", id=item.id, kind=item.kind)
        return "sent" if done.rowcount else "lost"
    with line.db.transaction() as session:
        return _record_error(session, line, item, outcome, now, on_failure)


def _record_error(
    session: Session, line: Line, item: Claimed, error: SendError, now: datetime, on_failure
) -> str:
    row = session.get(Outbound, item.id, with_for_update=True)
    if row is None or row.status != OutboxStatus.SENDING:
        return "lost"
    row.last_error, row.error_code, row.lease_until = error.reason, error.code, None
    row.unsure = row.unsure or error.ambiguous  # stays unsure until Twilio has answered
    if error.opted_out:
        row.status = OutboxStatus.FAILED
        optouts.opt_out(session, line, row.to_phone, now)
    elif error.retry and row.attempts < MAX_ATTEMPTS:
        retry_at = now + backoff(row.attempts, line.settings.retry_after)
        row.status, row.send_at = OutboxStatus.PENDING, retry_at
    else:
        row.status = OutboxStatus.FAILED
        cannot_text(session, row, error.code, now)
    if row.status == OutboxStatus.FAILED and on_failure is not None:
        on_failure(session, row, now)
    log_event(
        "outbox.not_sent",
        id=row.id,
        kind=row.kind,
        status=row.status,
        error=error.reason,
        attempts=row.attempts,
    )
    return "failed" if row.status == OutboxStatus.FAILED else "retried"


def backoff(attempts: int, first: timedelta = BACKOFF_FIRST) -> timedelta:
    """15s (`first`), 30s, 1m, 2m ... up to 30 minutes, with jitter so retries don't stampede."""
    delay = min(first * (2 ** max(attempts - 1, 0)), BACKOFF_MOST)
    return delay * random.uniform(0.8, 1.2)
