"""Texts answered from memory survive a restart: real gunicorn (the production config, two
processes) on PostgreSQL behind a proxy that holds its packets. New caregivers text while
the database is stalled and hear the emergency words; then (a) the master is sent HUP
(`systemctl reload`), (b) its workers are killed with SIGKILL, (c) the whole host stops and
a fresh gunicorn and `intake worker` start once the database is back. Every text ends up
stored once, with its case and its alert; none is lost, none twice. PostgreSQL only."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import uuid
from collections import Counter
from pathlib import Path

import pytest
import requests
from cryptography.fernet import Fernet
from sqlalchemy import select

from intake.channels import fallbacks
from intake.core.models import Alert, Caller, Case, Message
from intake.infra import crypto, signing
from intake.infra.db import Database
from intake.oncall import roster
from intake.simulator import phone as simulator
from tests.conftest import BASE_URL, TOKEN, postgres_only
from tests.test_hung_database import HoldingProxy, database  # noqa: F401 - a fixture
from tests.test_startup import free_port
from tests.test_worker import wait_for

ROOT = Path(__file__).resolve().parent.parent
TEXTS = 20  # new caregivers in each of the three stalls
WORDS = "my daughter is missing"
ON_CALL = "+12125550111"


@pytest.fixture
def proxy(database):  # noqa: F811 - the fixture imported above
    proxy = HoldingProxy((database.host or "127.0.0.1", database.port or 5432))
    yield proxy
    proxy.close()


class Host:
    """One machine: its gunicorn (production config, 2 processes) and, when asked, its
    `intake worker`, sharing one instance folder (and so one spool)."""

    def __init__(self, env: dict[str, str], log: Path):
        self.env, self.log = env, log
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.processes: list[subprocess.Popen] = []
        self.gunicorn: subprocess.Popen | None = None

    def start(self, worker: bool = False) -> None:
        env = {**self.env, "PORT": str(self.port), "WEB_CONCURRENCY": "2"}
        command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]
        out = self.log.open("a")
        self.gunicorn = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out)
        self.processes.append(self.gunicorn)
        if worker:
            command = [sys.executable, "-m", "intake", "worker"]
            self.processes.append(
                subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out)
            )
        wait_for(self.up, 60)

    def up(self) -> bool:
        try:
            return requests.get(self.url + "/healthz", timeout=1).status_code in (200, 503)
        except requests.RequestException:
            return False

    def workers(self) -> list[int]:
        """The pids of gunicorn's worker processes (the master's children)."""
        assert self.gunicorn is not None
        children = Path(f"/proc/{self.gunicorn.pid}/task/{self.gunicorn.pid}/children")
        return [int(pid) for pid in children.read_text().split()]

    def stop_all(self) -> None:
        """Every process of the host killed at once: a power cut."""
        for process in self.processes:
            for pid in self._family(process.pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            process.wait(timeout=10)
        self.processes = []

    def _family(self, pid: int) -> list[int]:
        children = Path(f"/proc/{pid}/task/{pid}/children")
        kids = children.read_text().split() if children.exists() else []
        return [pid, *(int(kid) for kid in kids)]


def text(url: str, number: str, sid: str) -> list[str]:
    params = simulator.sms_params(number, WORDS)
    params.update(MessageSid=sid, SmsSid=sid, SmsMessageSid=sid)
    headers = {signing.SIGNATURE_HEADER: signing.sign(TOKEN, BASE_URL + simulator.SMS_PATH, params)}
    answer = requests.post(url + simulator.SMS_PATH, data=params, headers=headers, timeout=10)
    answer.raise_for_status()
    return simulator.message_bodies(answer.text)


def stall_and_text(host: Host, first: int, sent: dict[str, str]) -> None:
    """TEXTS new caregivers at once, each answered from memory with the emergency words."""
    answers: dict[str, list[str]] = {}

    def one(n: int) -> None:
        number, sid = f"+1212555{1000 + n:04d}", "SM" + uuid.uuid4().hex
        answers[sid] = text(host.url, number, sid)
        sent[sid] = number

    threads = [threading.Thread(target=one, args=(n,)) for n in range(first, first + TEXTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) == TEXTS
    assert all("1-800-843-5678" in said[0] for said in answers.values())


def stored(db: Database) -> tuple[Counter, dict, dict]:
    """How often each SID is stored; each caller's cases; each case's alerts."""
    with db.sessions() as s:
        sids = Counter(s.scalars(select(Message.twilio_sid)))
        cases = Counter(
            s.scalars(select(Caller.phone).join(Case, Case.caller_id == Caller.id)).all()
        )
        alerts = Counter(s.scalars(select(Alert.reason).join(Case, Case.id == Alert.case_id)).all())
    return sids, cases, alerts


def all_stored(db: Database, sent: dict[str, str]) -> bool:
    sids, _, _ = stored(db)
    return all(sids[sid] for sid in sent)


@pytest.mark.parametrize("server", postgres_only())
def test_texts_answered_from_memory_survive_a_reload_a_kill_and_a_host_restart(
    server,
    database,  # noqa: F811 - the fixture imported above
    proxy,
    tmp_path,
):
    key = Fernet.generate_key().decode()
    url = database.render_as_string(hide_password=False)
    db = Database(url, crypto.key_ring([key]))
    with db.transaction() as session:
        roster.add(session, "Ana Ruiz", ON_CALL)
    through = database.set(host="127.0.0.1", port=proxy.port)
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "DATABASE_URL": through.render_as_string(hide_password=False),
        "PUBLIC_BASE_URL": BASE_URL,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "SECRET_KEY": "spool-secret",
        "INTAKE_DATA_KEYS": key,
        "INTAKE_INSTANCE_DIR": str(tmp_path / "instance"),
        "INTAKE_ANSWER_WITHIN": "1s",
        "INTAKE_DISPATCH_INTERVAL": "1s",
    }
    log = tmp_path / "host.log"
    host = Host(env, log)
    sent: dict[str, str] = {}
    try:
        host.start()
        # (a) a stall, then `systemctl reload`: the master replaces its workers
        proxy.hold()
        stall_and_text(host, 0, sent)
        old = host.workers()
        host.gunicorn.send_signal(signal.SIGHUP)
        wait_for(lambda: len(set(host.workers()) - set(old)) == 2, 60)
        proxy.release()
        wait_for(lambda: all_stored(db, sent), 90)

        # (b) a stall, then both workers killed: the master starts new ones
        proxy.hold()
        stall_and_text(host, 100, sent)
        old = host.workers()
        for pid in old:
            os.kill(pid, signal.SIGKILL)
        wait_for(lambda: len(set(host.workers()) - set(old)) == 2, 60)
        proxy.release()
        wait_for(lambda: all_stored(db, sent), 90)

        # (c) a stall, then the host goes down; it comes back after the database did
        proxy.hold()
        stall_and_text(host, 200, sent)
        host.stop_all()
        proxy.release()
        host.start(worker=True)
        wait_for(lambda: all_stored(db, sent), 90)
    finally:
        host.stop_all()
        proxy.release()
    sids, cases, alerts = stored(db)
    db.dispose()
    assert {sid: sids[sid] for sid in sent} == {sid: 1 for sid in sent}  # each once
    assert sum(sids.values()) == len(sent) == 3 * TEXTS  # and nothing else
    assert cases == Counter(sent.values())  # one case for each caregiver
    assert alerts == Counter({fallbacks.FROM_MEMORY: len(sent)})  # each alerted once
    spool = tmp_path / "instance" / "spool"
    said = log.read_text()
    replayed = [line for line in said.splitlines() if "spool.replayed" in line]
    print(f"\n{len(sent)} texts; {said.count('spool.spooled')} spooled; replays: {len(replayed)}")
    assert said.count("spool.spooled") == len(sent)
    assert WORDS not in said and "+1212555" not in said  # no personal data in the logs
    assert spool.exists()
