"""The worst night: Twilio answers 500 and 429 at random, takes texts and then answers too
late, and workers are killed with SIGKILL, with no delivery callbacks at all. Two real
`intake worker` processes send every row exactly once all the same."""

from __future__ import annotations

import signal
import subprocess
from collections import Counter

import pytest
from sqlalchemy import func, select

from intake.core.models import Outbound
from tests.conftest import POSTGRES_URL, empty_database
from tests.fake_twilio import FakeTwilio
from tests.test_outbox import fill
from tests.test_worker import INTAKE, wait_for, worker_env

ROWS = 240
KILLS = 4


@pytest.fixture(params=["postgres" if POSTGRES_URL else "sqlite"])
def db_url(request, tmp_path, sqlite_template):
    """PostgreSQL when the run has one (as in production), else SQLite: one run, not two."""
    return empty_database(request, request.param, tmp_path, sqlite_template)


def start(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([INTAKE, "worker"], env=env, stderr=subprocess.DEVNULL)


def test_two_workers_killed_again_and_again_in_a_storm_send_every_row_once(
    app, db_url, fake: FakeTwilio, tmp_path
):
    line = app.extensions["intake"]
    fill(line, ROWS, line.clock.now())
    env = {
        **worker_env(db_url, fake, tmp_path),
        "INTAKE_SEND_LEASE": "3s",  # each request times out after 0.75 s
        "INTAKE_RETRY_AFTER": "1s",
        "PUBLIC_BASE_URL": "http://127.0.0.1:9",  # callbacks would go nowhere; none are sent
    }
    fake.delay_next(ROWS * 4, 0.01)  # slow enough for the kills to land mid-batch
    fake.random_faults(seed=2026, error_500=0.1, error_429=0.05, hang=0.15, hang_seconds=1.5)
    workers = [start(env), start(env)]
    try:
        for kill in range(KILLS):
            wait_for(lambda k=kill: len(fake.messages) >= (k + 1) * ROWS // (KILLS + 2), 60)
            victim = workers[kill % 2]
            victim.send_signal(signal.SIGKILL)
            victim.wait(timeout=10)
            workers[kill % 2] = start(env)
        fake.clear_failures()  # the storm ends; what was left in doubt must still go once
        wait_for(lambda: _open(line) == 0, 60)
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=10)
    counts = Counter(m["body"] for m in fake.messages)
    with line.db.sessions() as s:
        sids = {body: sid for body, sid in s.execute(select(Outbound.body, Outbound.twilio_sid))}
        attempts = s.execute(select(func.sum(Outbound.attempts), func.max(Outbound.attempts))).one()
    lost = ROWS - len(counts)
    duplicates = sum(c - 1 for c in counts.values())
    print(
        f"\nrows={ROWS} kills={KILLS} attempts={attempts[0]} (most {attempts[1]})"
        f" creates_rejected={len(fake.rejected)}"
        f" taken_then_timed_out={fake.hung} lost={lost} duplicates={duplicates}"
    )
    assert fake.hung > 0 and fake.rejected, "the storm happened"
    with line.db.sessions() as s:
        assert set(s.scalars(select(Outbound.status))) == {"sent"}
    assert (lost, duplicates) == (0, 0)
    assert set(counts) == {f"row {n}" for n in range(ROWS)}
    assert sids == {m["body"]: m["sid"] for m in fake.messages}  # each row has its text's SID


def _open(line) -> int:
    """Rows still to send (pending) or being sent."""
    with line.db.sessions() as s:
        query = select(func.count()).where(Outbound.status.in_(("pending", "sending")))
        return s.scalar(query)
