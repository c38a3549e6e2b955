"""What /metrics tells an operator: how fast the webhooks answer, how often the fallback
spoke, how far behind the outbox is, and what waits for a person.

Counters and the latency histogram are kept by each process; under gunicorn,
gunicorn.conf.py gives every worker one PROMETHEUS_MULTIPROC_DIR (prometheus-client's
multiprocess mode), so a scrape answered by any worker counts them all. The figures read
from the database (cases by status, alerts nobody acknowledged, the outbox) are read at
each scrape, so every process tells the same truth.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select

from intake.core.models import Alert, Case, Outbound
from intake.domain.enums import ALERT_WAITING, OutboxStatus

if TYPE_CHECKING:
    from intake.core.line import Line

WEBHOOK_SECONDS = Histogram(
    "intake_webhook_seconds",
    "Time to answer a Twilio webhook",
    ["route"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 15),
)
FALLBACK_ANSWERS = Counter(
    "intake_fallback_answers", "Emergency words answered from memory", ["channel"]
)


class DatabaseFigures:
    """Gauges read from the database at each scrape."""

    def __init__(self, line: Line):
        self.line = line

    def collect(self):
        now = self.line.clock.now()
        with self.line.db.sessions() as session:
            cases = GaugeMetricFamily("intake_cases", "Cases by status", labels=["status"])
            for status, count in session.execute(
                select(Case.status, func.count()).group_by(Case.status)
            ):
                cases.add_metric([status], count)
            yield cases
            waiting = select(func.count()).where(Alert.status.in_(ALERT_WAITING))
            yield GaugeMetricFamily(
                "intake_alerts_unacknowledged",
                "Alerts about a missing child that nobody has taken",
                value=session.scalar(waiting) or 0,
            )
            rows = GaugeMetricFamily(
                "intake_outbox_rows", "Outbox rows by status", labels=["status"]
            )
            for status, count in session.execute(
                select(Outbound.status, func.count()).group_by(Outbound.status)
            ):
                rows.add_metric([status], count)
            yield rows
            retrying = select(func.count()).where(
                Outbound.status == OutboxStatus.PENDING, Outbound.attempts > 0
            )
            yield GaugeMetricFamily(
                "intake_outbox_retrying",
                "Texts waiting to be tried again",
                value=session.scalar(retrying) or 0,
            )
            oldest = session.scalar(
                select(func.min(Outbound.send_at)).where(
                    Outbound.status == OutboxStatus.PENDING, Outbound.send_at <= now
                )
            )
            lag = (now - oldest).total_seconds() if oldest is not None else 0.0
            yield GaugeMetricFamily(
                "intake_outbox_lag_seconds", "How late the oldest due text is", value=max(lag, 0.0)
            )


def exposition(line: Line) -> bytes:
    """The whole scrape: the counters (of every worker, under gunicorn) and the database's
    figures."""
    from prometheus_client import REGISTRY, multiprocess

    registry = CollectorRegistry()
    registry.register(DatabaseFigures(line))
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return generate_latest(REGISTRY) + generate_latest(registry)
    multiprocess.MultiProcessCollector(registry)  # every worker's files, dead ones' too
    return generate_latest(registry)
