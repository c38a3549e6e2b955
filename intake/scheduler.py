"""APScheduler is the clock: every few seconds it wakes someone for stalled intakes, marks
long-idle ones abandoned, escalates alerts and sends due texts;
once a day (PURGE_AT, in the line's time zone) it purges what retention says must go.

Its job store is memory only: the work itself lives in the outbox table, so any number
of workers may run and a restart loses nothing. `intake run` starts it in the background
(development); `intake worker` runs it in the foreground (production), never once per
gunicorn worker.
"""

from __future__ import annotations

import threading
import traceback
from collections import Counter
from collections.abc import Callable
from datetime import datetime, time
from pathlib import Path
from typing import TYPE_CHECKING

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from intake.cases import retention
from intake.channels import fallbacks
from intake.delivery import dispatcher
from intake.infra.clock import SYSTEM
from intake.infra.logs import event as log_event
from intake.infra.transport import Transport, make_transport
from intake.oncall import escalation as oncall
from intake.oncall import paging

if TYPE_CHECKING:
    from intake.core.line import Line


PURGE_AT = time(3, 30)  # the daily retention purge, in INTAKE_TIMEZONE: a quiet hour
PURGE_GRACE = 6 * 3600  # a run that could not start at PURGE_AT (busy, asleep) may within this

# Failed runs of each part of the tick since the process started, for a /metrics to read.
FAILURES: Counter[str] = Counter()
_failures_lock = threading.Lock()


def _send_due(line: Line, transport: Transport, now: datetime) -> None:
    report = dispatcher.dispatch(line, transport, now, on_failure=paging.page_failed)
    if report.ids:
        log_event("dispatch.batch", sent=report.sent, retried=report.retried, failed=report.failed)


# The parts of one tick, in order: texts answered from memory first (the host's spool:
# the first tick, at start, takes what a stopped web process left), then escalations, so
# the pages they make go out now.
# Each part takes the tick's `now`, read once from the line's clock.
PARTS: tuple[tuple[str, Callable[[Line, Transport, datetime], object]], ...] = (
    ("replay_spool", lambda line, transport, now: fallbacks.replay_all(line)),
    ("alert_stalled", lambda line, transport, now: oncall.alert_stalled(line, now)),
    ("mark_abandoned", lambda line, transport, now: oncall.mark_abandoned(line, now)),
    ("check_due", lambda line, transport, now: oncall.check_due(line, now)),
    ("dispatch", _send_due),
)


def dispatch_job(line: Line, transport: Transport) -> None:
    """One tick: escalate what waited too long, send what is due. Each part runs alone:
    one that fails is logged and counted, and the others still run."""
    now = line.clock.now()
    for name, part in PARTS:
        _run_part(name, part, line, transport, now)


def purge_job(line: Line, transport: Transport) -> None:
    """The daily retention purge (intake/cases/retention.py); a failure is logged and counted."""
    now = line.clock.now()
    _run_part("purge", retention.purge, line, transport, now)


def _run_part(name: str, part, line: Line, transport: Transport, now: datetime) -> None:
    try:
        part(line, transport, now)
    except Exception as exc:  # noqa: BLE001 - the clock must keep ticking
        with _failures_lock:
            FAILURES[name] += 1
        # the class and place only: an exception's words may carry a caller's details
        log_event("job.error", level=40, job=name, error=type(exc).__name__, at=_where(exc))


def _where(exc: BaseException) -> str:
    """The file and line the exception was raised at, e.g. oncall.py:123."""
    frames = traceback.extract_tb(exc.__traceback__)
    return f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "-"


def _add_jobs(scheduler, line: Line, transport: Transport | None = None) -> None:
    transport = transport or make_transport(line.settings)
    scheduler.add_job(
        dispatch_job,
        "interval",
        args=(line, transport),
        seconds=line.settings.dispatch_interval.total_seconds(),
        id="dispatch",
        max_instances=1,
        coalesce=True,
        next_run_time=SYSTEM.now(),  # at once on start (APScheduler keeps wall time)
    )
    scheduler.add_job(
        purge_job,
        "cron",
        args=(line, transport),
        hour=PURGE_AT.hour,
        minute=PURGE_AT.minute,
        timezone=line.settings.zone,
        id="purge",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=PURGE_GRACE,
    )


def start_background(line: Line) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone="UTC")
    _add_jobs(scheduler, line)
    scheduler.start()
    return scheduler


def run_forever(line: Line) -> None:
    scheduler = BlockingScheduler(timezone="UTC")
    _add_jobs(scheduler, line)
    log_event("worker.started", interval=line.settings.dispatch_interval.total_seconds())
    scheduler.start()
