"""APScheduler is the clock: every few seconds it escalates alerts and sends due texts.

Its job store is memory only: the work itself lives in the outbox table, so any number
of workers may run and a restart loses nothing. `intake run` starts it in the background
(development); `intake worker` runs it in the foreground (production), never once per
gunicorn worker.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from intake import oncall, outbox
from intake.logs import event as log_event
from intake.transport import Transport, make_transport

if TYPE_CHECKING:
    from intake.line import Line


def dispatch_job(line: Line, transport: Transport) -> None:
    """One tick: escalate what waited too long, send what is due. Failures are logged."""
    try:
        oncall.alert_stalled(line)
        oncall.check_due(line)
        report = outbox.dispatch(line, transport, on_failure=oncall.page_failed)
    except Exception:  # noqa: BLE001 - the clock must keep ticking
        log_event("dispatch.error", level=40, exc_info=True)
        return
    if report.ids:
        log_event("dispatch.batch", sent=report.sent, retried=report.retried, failed=report.failed)


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
        next_run_time=datetime.now(UTC),  # run at once on start: late rows go out first
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
