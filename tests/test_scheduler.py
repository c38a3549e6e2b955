"""The clock: each part of a tick fails alone, and the texts that are due still go out."""

from __future__ import annotations

import io
import logging

import pytest

from intake import scheduler
from intake.core import outbox
from intake.infra import logs
from tests.conftest import twilio_settings

CAREGIVER = "+12125551234"


@pytest.fixture
def settings(db_url, tmp_path, fake):
    return twilio_settings(db_url, tmp_path, fake)


@pytest.fixture
def log_text():
    """What the line's formatter writes for the 'intake' logger."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.KeyValueFormatter())
    logger = logging.getLogger("intake")
    logger.addHandler(handler)
    yield stream.getvalue
    logger.removeHandler(handler)


def due_text(line, body: str = "Your reference is ABC123.") -> None:
    with line.db.transaction() as s:
        outbox.enqueue(
            s, kind="test", to=CAREGIVER, body=body, send_at=line.clock.now(), channel="sms"
        )


@pytest.mark.parametrize("broken", ["alert_stalled", "check_due"])
def test_an_escalation_check_that_always_fails_does_not_stop_sending(
    line, fake, transport, monkeypatch, log_text, broken
):
    def fails(*args, **kwargs):
        raise RuntimeError(f"Mia Lopez {CAREGIVER}")  # words a log must never carry

    monkeypatch.setattr(f"intake.oncall.escalation.{broken}", fails)
    before = scheduler.FAILURES[broken]
    for n in range(3):
        due_text(line, f"text {n}")
        scheduler.dispatch_job(line, transport)
    assert [m["body"] for m in fake.messages] == ["text 0", "text 1", "text 2"]
    assert scheduler.FAILURES[broken] - before == 3
    lines = [ln for ln in log_text().splitlines() if "job.error" in ln]
    assert len(lines) == 3
    assert f"job={broken} error=RuntimeError at=test_scheduler.py:" in lines[0]
    assert "Mia" not in log_text() and CAREGIVER not in log_text()


def test_a_failing_dispatch_still_runs_the_escalation_checks(line, transport, monkeypatch):
    ran = []
    monkeypatch.setattr(
        "intake.oncall.escalation.alert_stalled", lambda line, now: ran.append("stalled")
    )
    monkeypatch.setattr("intake.oncall.escalation.check_due", lambda line, now: ran.append("due"))
    monkeypatch.setattr("intake.delivery.dispatcher.dispatch", lambda *a, **k: 1 / 0)
    before = scheduler.FAILURES["dispatch"]
    scheduler.dispatch_job(line, transport)
    scheduler.dispatch_job(line, transport)
    assert ran == ["stalled", "due", "stalled", "due"]
    assert scheduler.FAILURES["dispatch"] - before == 2
