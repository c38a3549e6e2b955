"""`intake worker` as a real process: killed mid-batch, started again, nothing lost."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import select

from intake.core import outbox
from intake.core.models import Outbound
from intake.infra import crypto
from tests.conftest import ACCOUNT, BASE_URL, TOKEN
from tests.fake_twilio import FakeTwilio
from tests.test_outbox import fill

INTAKE = str(Path(sys.executable).with_name("intake"))
ROWS = 120
SENDERS = 4


def worker_env(db_url: str, fake: FakeTwilio, tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": db_url,
        "INTAKE_INSTANCE_DIR": str(tmp_path),
        "PUBLIC_BASE_URL": BASE_URL,
        "SECRET_KEY": "worker-test",
        # the key the test's own line generated into its instance folder (conftest)
        "INTAKE_DATA_KEYS": crypto.local_key(tmp_path / "instance"),
        "TWILIO_ACCOUNT_SID": ACCOUNT,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "TWILIO_PHONE_NUMBER": "+12125550100",
        "TWILIO_API_BASE_URL": fake.base_url,
        "INTAKE_DISPATCH_INTERVAL": "1s",
        "INTAKE_SEND_LEASE": "3s",
        "INTAKE_SEND_CONCURRENCY": str(SENDERS),
    }


def wait_for(condition, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def test_a_worker_killed_mid_batch_loses_nothing(app, db_url, fake, tmp_path):
    line = app.extensions["intake"]
    fill(line, ROWS, line.clock.now())
    fake.delay_next(ROWS * 2, 0.02)  # slow enough to be caught mid-batch
    env = worker_env(db_url, fake, tmp_path)
    worker = subprocess.Popen([INTAKE, "worker"], env=env, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: len(fake.messages) >= 20)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    killed_at = len(fake.messages)
    assert killed_at < ROWS, "the worker finished before it could be killed"
    with line.db.sessions() as s:
        stuck = s.scalars(select(Outbound.status).where(Outbound.status == "sending")).all()
    assert stuck, "the batch was in flight: its rows are leased, not lost"

    again = subprocess.Popen([INTAKE, "worker"], env=env, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: len({m["body"] for m in fake.messages}) == ROWS)
        wait_for(lambda: _all_sent(line))
    finally:
        again.terminate()
        again.wait(timeout=10)
    counts = Counter(m["body"] for m in fake.messages)
    assert set(counts) == {f"row {n}" for n in range(ROWS)}
    # texts Twilio took in the instant of the kill are found there, not sent again
    assert sum(c - 1 for c in counts.values()) == 0


def _all_sent(line) -> bool:
    with line.db.sessions() as s:
        return set(s.scalars(select(Outbound.status))) == {"sent"}


def test_intake_outbox_lists_rows_as_json(app, db_url, fake, tmp_path):
    line = app.extensions["intake"]
    with line.db.transaction() as s:
        outbox.enqueue(
            s,
            kind="followup",
            to="+12125551234",
            body="hello",
            send_at=line.clock.now(),
            channel="sms",
        )
    env = worker_env(db_url, fake, tmp_path)
    listed = subprocess.run(
        [INTAKE, "outbox", "--json"], env=env, capture_output=True, text=True, timeout=60
    )
    assert listed.returncode == 0, listed.stderr
    [row] = [json.loads(line) for line in listed.stdout.splitlines()]
    assert (row["kind"], row["to"], row["status"]) == ("followup", "+12125551234", "pending")
    table = subprocess.run(
        [INTAKE, "outbox", "--status", "pending"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "pending" in table.stdout and "+12125551234" in table.stdout
