"""A deadline for each webhook turn: the caller hears something within seconds, whatever
the database does (refuse, reset, hang, or answer slowly).

A turn's database work runs on a thread of its own (THREADS at most at once); the
request waits at most INTAKE_ANSWER_WITHIN for it. Past that, the request answers from
memory and the turn is abandoned: it rolls back instead of committing. "Abandon" and
"COMMIT started" are decided under one lock, so exactly one of them happens. A COMMIT
already under way gets a short grace; if it has still not finished, the caller heard the
fallback and the channel settles the turn afterwards (`Turns.later`; for an SMS,
`Turns.soon` replays the host's spool, intake/channels/fallbacks.py: it keeps the words, or sends
the reply that was not seen through the outbox).

While a turn is still stuck past its deadline the database is not answering, so the
next turns wait only STUCK_BUDGET: a sync worker answers more callers a second, and
each of them still gets the emergency words at once.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy.orm import Session

from intake.infra.logs import event as log_event

if TYPE_CHECKING:
    from intake.infra.db import Database

T = TypeVar("T")

THREADS = 8  # turns of one process at once; a request finding none free answers from memory
COMMIT_GRACE = 1.0  # extra seconds for a COMMIT already sent when the deadline hits
STUCK_BUDGET = 1.0  # the wait while an earlier turn is stuck past its deadline
LATER_SIZE = 1000  # settling jobs held in memory; more are logged as lost
LATER_FOR = 15 * 60.0  # seconds a settling job is retried before it is logged as lost
LATER_PAUSE = 2.0  # seconds between two tries of a settling job
KEEPER_IDLE = 60.0  # seconds the settling thread waits for work before it ends

RUNNING, COMMITTING, COMMITTED, ABANDONED, GIVEN_UP = (
    "running",
    "committing",
    "committed",
    "abandoned",
    "given_up",
)


class TooLate(Exception):
    """The turn did not finish in time (or found no thread): answer from memory.

    `rolled_back`: the turn surely changed nothing (False: its COMMIT may end later)."""

    def __init__(self, reason: str, rolled_back: bool = True):
        super().__init__(reason)
        self.rolled_back = rolled_back


class Abandoned(Exception):
    """The request answered from memory before this turn's COMMIT: it rolled back."""


@dataclass
class Ticket:
    """One turn's fate, decided once under a lock shared by the request and the turn."""

    state: str = RUNNING
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def may_commit(self) -> bool:
        """The turn asks to COMMIT: no once the request has answered from memory."""
        with self.lock:
            if self.state == ABANDONED:
                return False
            self.state = COMMITTING
            return True

    def committed(self) -> bool:
        """The COMMIT finished; True when the request had already stopped waiting for it."""
        with self.lock:
            if self.state == GIVEN_UP:
                return True
            self.state = COMMITTED
            return False

    def abandon(self) -> bool:
        """The request answers from memory: True when the turn will not commit now."""
        with self.lock:
            if self.state in (RUNNING, ABANDONED):
                self.state = ABANDONED
                return True
            return False

    def give_up(self) -> bool:
        """After the grace: True when the COMMIT is still under way (its outcome unseen)."""
        with self.lock:
            if self.state == COMMITTED:
                return False
            self.state = GIVEN_UP
            return True


@dataclass
class _Job:
    """Work for once the database answers again: `action()` raises until it is done."""

    name: str
    action: Callable[[], object]
    until: float  # monotonic time after which it is given up (and logged)
    running: bool = False


class Turns:
    """Runs webhook turns against a deadline, and settling jobs after the database is back."""

    def __init__(self, db: Database, budget: float, grace: float = COMMIT_GRACE):
        self.db, self.budget, self.grace = db, budget, grace
        self._slots = threading.BoundedSemaphore(THREADS)
        self._lock = threading.Lock()
        self._overdue = 0  # turns still running past their deadline
        self._jobs: deque[_Job] = deque()
        self._wake = threading.Condition(self._lock)
        self._keeper: threading.Thread | None = None

    def run(self, work: Callable[[Session], T]) -> T:
        """`work(session)` in one transaction, committed only if its answer is used.

        Raises TooLate past the deadline (the caller hears the fallback); an error of the
        work itself is raised as is.
        """
        started = time.monotonic()
        budget = self._budget()
        if not self._slots.acquire(timeout=budget):
            log_event("turn.no_thread", level=30)
            raise TooLate("every turn thread is busy")
        ticket = Ticket()
        future = self._start(work, ticket)
        try:
            return future.result(timeout=max(0.0, started + budget - time.monotonic()))
        except FutureTimeout:
            pass
        if ticket.abandon():
            self._count_overdue(future)
            log_event("turn.abandoned", level=30, waited=round(time.monotonic() - started, 2))
            raise TooLate("the turn did not finish in time") from None
        try:  # its COMMIT was already sent: a short, bounded extra wait for it
            return future.result(timeout=self.grace)
        except FutureTimeout:
            if not ticket.give_up():
                return future.result()
        self._count_overdue(future)
        log_event("turn.commit_unseen", level=30, waited=round(time.monotonic() - started, 2))
        raise TooLate("the turn's COMMIT did not finish in time", rolled_back=False)

    def later(self, name: str, work: Callable[[Session], object]) -> None:
        """Run `work(session)` in a transaction of its own as soon as the database lets
        it, retried for LATER_FOR; one thread runs them in order."""

        def action() -> None:
            with self.db.transaction() as session:
                work(session)

        self._queue(_Job(name, action, time.monotonic() + LATER_FOR))

    def soon(self, name: str, action: Callable[[], object]) -> None:
        """Run `action()` on the settling thread, again every LATER_PAUSE until it stops
        raising: work kept on disk (intake/infra/spool.py), so one queued `name` is enough."""
        with self._lock:
            if any(job.name == name and not job.running for job in self._jobs):
                return
        self._queue(_Job(name, action, until=math.inf))

    def _queue(self, job: _Job) -> None:
        with self._wake:
            if len(self._jobs) >= LATER_SIZE:
                log_event("turn.later_lost", level=40, job=job.name, reason="queue full")
                return
            self._jobs.append(job)
            if self._keeper is None:
                self._keeper = threading.Thread(target=self._keep, name="turns-later", daemon=True)
                self._keeper.start()
            self._wake.notify()

    def pending(self) -> int:
        """Settling jobs not yet done."""
        with self._lock:
            return len(self._jobs)

    def _budget(self) -> float:
        with self._lock:
            return min(self.budget, STUCK_BUDGET) if self._overdue else self.budget

    def _start(self, work: Callable[[Session], T], ticket: Ticket) -> Future:
        """The turn on a thread of its own, which ends with it (no idle pool to leak; the
        slots bound how many run at once)."""
        future: Future = Future()
        future.set_running_or_notify_cancel()

        def turn() -> None:
            try:
                future.set_result(self._turn(work, ticket))
            except BaseException as error:  # noqa: BLE001 - handed to the waiting request
                future.set_exception(error)

        threading.Thread(target=turn, name="turn", daemon=True).start()
        return future

    def _count_overdue(self, future: Future) -> None:
        with self._lock:
            self._overdue += 1
        future.add_done_callback(self._no_longer_overdue)

    def _no_longer_overdue(self, _future: Future) -> None:
        with self._lock:
            self._overdue -= 1

    def _turn(self, work: Callable[[Session], T], ticket: Ticket) -> T:
        """On a turn thread: the work, then COMMIT only if the request still waits for it."""
        try:
            if ticket.state == ABANDONED:  # the request stopped waiting before we began
                raise Abandoned()
            with self.db.sessions() as session:
                result = work(session)
                session.flush()  # the writes go out now: COMMIT itself is then short
                if not ticket.may_commit():
                    session.rollback()
                    log_event("turn.rolled_back")
                    raise Abandoned()
                session.commit()
                if ticket.committed():
                    log_event("turn.committed_late", level=30)
                return result
        finally:
            self._slots.release()

    def _keep(self) -> None:
        """The settling thread: each job until it commits or its time runs out."""
        while True:
            with self._wake:
                if not self._jobs:
                    self._wake.wait(KEEPER_IDLE)
                if getattr(self.db, "closed", False):  # shut down: what is left stays on disk
                    self._jobs.clear()
                if not self._jobs:  # nothing for a while: the thread ends (later() restarts it)
                    self._keeper = None
                    return
                job = self._jobs[0]
                job.running = True
            done = self._try(job)
            with self._wake:
                self._jobs.popleft()
                job.running = False
                if not done and time.monotonic() < job.until:
                    self._jobs.append(job)  # behind the others: one stuck job holds none up
            if not done:
                time.sleep(LATER_PAUSE)

    def _try(self, job: _Job) -> bool:
        try:
            job.action()
        except Exception:  # noqa: BLE001 - the database may still be away: try again later
            if time.monotonic() >= job.until:
                log_event("turn.later_lost", level=40, exc_info=True, job=job.name)
            return False
        log_event("turn.later_done", job=job.name)
        return True
