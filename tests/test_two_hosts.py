"""Past one machine: two gunicorn web processes and two `intake worker` processes on one
PostgreSQL, Twilio played by the fake. Callers' texts alternate between the web hosts; one
worker is killed with SIGKILL midway. Every case exists once, and every alert and
follow-up is sent once: none twice, none lost."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from cryptography.fernet import Fernet
from sqlalchemy import select

from intake.core.models import Alert, Caller, Case, Outbound, Page
from intake.infra import crypto
from intake.infra.config import Settings
from intake.infra.db import Database
from intake.oncall import roster
from intake.simulator import phone as simulator
from tests.conftest import (
    ACCOUNT,
    BASE_URL,
    LINE_NUMBER,
    TOKEN,
    empty_database,
    postgres_only,
)
from tests.fake_twilio import FakeTwilio
from tests.test_sms_webhook import ANSWERS
from tests.test_worker import wait_for

ROOT = Path(__file__).resolve().parent.parent
CALLERS = 6
ON_CALL = "+12125550111"
FOLLOWUPS = "1s,2s"  # two follow-ups per case, due within seconds
TEXTS = ["my daughter is missing", *ANSWERS, "SKIP", "SAME"]


@pytest.fixture(params=postgres_only("postgres"))
def pg_url(request, tmp_path, sqlite_template) -> str:
    """PostgreSQL only: SQLite is one host's file, never shared between machines."""
    return empty_database(request, request.param, tmp_path, sqlite_template)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def environment(url: str, fake: FakeTwilio, tmp_path: Path, key: str) -> dict[str, str]:
    """What every host shares: the database, the keys, the public URL, Twilio."""
    return {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "DATABASE_URL": url,
        "PUBLIC_BASE_URL": BASE_URL,
        "SECRET_KEY": "two-hosts-secret",
        "INTAKE_DATA_KEYS": key,
        "INTAKE_INSTANCE_DIR": str(tmp_path / "instance"),
        "TWILIO_ACCOUNT_SID": ACCOUNT,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "TWILIO_PHONE_NUMBER": LINE_NUMBER,
        "TWILIO_API_BASE_URL": fake.base_url,
        "INTAKE_FALLBACK_ALERT_NUMBER": "+12125550199",
        "INTAKE_FOLLOWUP_SCHEDULE": FOLLOWUPS,
        "INTAKE_PAGE_WINDOW": "1s",
        "INTAKE_DISPATCH_INTERVAL": "1s",
        "INTAKE_SEND_LEASE": "3s",
        "INTAKE_LOG_LEVEL": "WARNING",
    }


def web_host(env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    """One web host: gunicorn with the production config, one process."""
    host_env = {**env, "PORT": str(port), "WEB_CONCURRENCY": "1"}
    command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]
    with open(log, "w") as out:
        return subprocess.Popen(command, cwd=ROOT, env=host_env, stdout=out, stderr=out)


def worker(env: dict[str, str]) -> subprocess.Popen:
    command = [sys.executable, "-m", "intake", "worker"]
    return subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.DEVNULL)


def up(url: str) -> bool:
    try:
        return requests.get(url + "/healthz", timeout=1).status_code == 200
    except requests.RequestException:
        return False


def intake(hosts: list[str], settings: Settings, n: int, summaries: dict) -> None:
    """One caller's whole intake, each text to the other web host than the last."""
    sender = f"+1212555{2000 + n:04d}"
    with requests.Session() as http:
        for i, body in enumerate(TEXTS):
            params = simulator.sms_params(sender, body, settings=settings)
            headers = simulator.signed_headers(settings, simulator.SMS_PATH, params)
            url = hosts[(n + i) % 2] + simulator.SMS_PATH
            answer = http.post(url, data=params, headers=headers, timeout=20)
            assert answer.status_code == 200, answer.status_code
    summaries[sender] = simulator.message_bodies(answer.text)


def callers(hosts, settings, numbers: range, summaries: dict) -> None:
    """Several callers at once, each starting a little after the last."""
    threads = []
    for n in numbers:
        thread = threading.Thread(target=intake, args=(hosts, settings, n, summaries))
        thread.start()
        threads.append(thread)
        time.sleep(1.2)  # pages to one person 1 s apart go at once (INTAKE_PAGE_WINDOW)
    for thread in threads:
        thread.join(timeout=60)


def finished(db: Database) -> bool:
    """Every case in, every alert paged, every follow-up sent, nothing left to send."""
    with db.sessions() as s:
        cases = s.scalars(select(Case)).all()
        rows = s.scalars(select(Outbound)).all()
    followups = [r for r in rows if r.kind == "followup" and r.status == "sent"]
    return (
        len(cases) == CALLERS
        and len(followups) == 2 * CALLERS
        and all(r.status in ("sent", "cancelled") for r in rows)
    )


def test_two_web_hosts_and_two_workers_on_one_postgresql_lose_nothing_and_send_once(
    pg_url, fake, tmp_path
):
    key = Fernet.generate_key().decode()
    db = Database(pg_url, crypto.key_ring([key]))
    with db.transaction() as session:
        roster.add(session, "Ana Ruiz", ON_CALL)
    env = environment(pg_url, fake, tmp_path, key)
    ports = [free_port(), free_port()]
    hosts = [f"http://127.0.0.1:{port}" for port in ports]
    webs = [web_host(env, port, tmp_path / f"web{port}.log") for port in ports]
    workers = [worker(env), worker(env)]
    settings = Settings(
        database_url=pg_url,
        public_base_url=BASE_URL,
        twilio_auth_token=TOKEN,
        twilio_account_sid=ACCOUNT,
        twilio_phone_number=LINE_NUMBER,
    )
    summaries: dict[str, list[str]] = {}
    try:
        wait_for(lambda: all(up(host) for host in hosts), 30)
        callers(hosts, settings, range(CALLERS // 2), summaries)
        wait_for(lambda: len(fake.messages) > 0, 30)  # the workers are sending
        workers[0].send_signal(signal.SIGKILL)
        workers[0].wait(timeout=10)
        killed_at = datetime.now(UTC)
        callers(hosts, settings, range(CALLERS // 2, CALLERS), summaries)
        wait_for(lambda: finished(db), 60)
    finally:
        for process in [*webs, *workers]:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
        with db.sessions() as s:
            cases = s.scalars(select(Case).join(Caller)).all()
            phones = {c.id: c.caller.phone for c in s.scalars(select(Case)).all()}
            rows = s.scalars(select(Outbound)).all()
            paged = {
                a.case_id: r.status
                for a, r in s.execute(
                    select(Alert, Outbound)
                    .join(Page, Page.alert_id == Alert.id)
                    .join(Outbound, Outbound.id == Page.outbox_id)
                )
            }
        db.dispose()

    # every caller's intake made one case, completed, whichever host took each text
    assert len(summaries) == CALLERS
    assert all("Your case number is" in " ".join(said) for said in summaries.values())
    assert sorted(phones.values()) == sorted(summaries)
    assert {c.status for c in cases} == {"open"}
    # every alert paged the person on call, every case its card and two follow-ups: each
    # sent once
    assert paged == {c.id: "sent" for c in cases}
    sent = [r for r in rows if r.status == "sent"]
    assert Counter(m["sid"] for m in fake.messages) == Counter(r.twilio_sid for r in sent)
    followups = Counter(m["to"] for m in fake.messages if m["to"] in summaries)
    assert followups == {phone: 3 for phone in summaries}
    cards = [
        m for m in fake.messages if m["to"] in summaries and "not a police report" in m["body"]
    ]
    assert Counter(m["to"] for m in cards) == {phone: 1 for phone in summaries}
    alerts = " ".join(m["body"] for m in fake.messages if m["to"] == ON_CALL)
    assert all(c.ref in alerts for c in cases)
    # the worker left standing sent what came after the kill
    assert any(m["received_at"] > killed_at for m in fake.messages)
