"""A load-and-fault run: the line under texts while it is reloaded, killed and starved of
its database; then every text and every outbound text is counted. Loopback only.

    .venv/bin/python bench/fault_run.py [--callers 60] [--seed 2026]
        [--admin-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

gunicorn (production config, 2 processes) and one `intake worker` share a fresh PostgreSQL
database reached through a proxy that can hold its packets (tests/test_hung_database.py);
Twilio is the tests' fake, failing some sends at random (HTTP 500, 429, and "took it but
answered too late"). New caregivers start their intake one after another, each texting
its answers in order. Meanwhile: the master is sent HUP (`systemctl reload`), its workers
are killed with SIGKILL, and the database is held for STALL seconds. Then the run waits
(at most SETTLE seconds) for the line to catch up and counts:

- texts: sent, answered (by the conversation or from memory), unanswered (the request
  failed: the process was killed under it; Twilio would then fetch the fallback URL),
  stored, lost (answered but not stored), duplicated (stored twice);
- outbound: rows sent, failed, still open; texts Twilio took for no row (duplicates), rows
  marked sent that Twilio never took (lost).

Bounded: the caregivers start over STARTS_FOR seconds, each intake takes about 10 s, and
SETTLE caps the rest. Prints one summary; exit status 1 when anything was lost or duplicated.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import requests
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from intake.core.models import Alert, Case, Message, Outbound  # noqa: E402
from intake.devtools.simulate import SAMPLE_INTAKE  # noqa: E402
from intake.infra import crypto, signing  # noqa: E402
from intake.infra.db import Database  # noqa: E402
from intake.infra.migrate import upgrade  # noqa: E402
from intake.oncall import roster  # noqa: E402
from intake.simulator import phone as simulator  # noqa: E402
from tests.fake_twilio import FakeTwilio  # noqa: E402 - a dev tool may use the tests' fakes
from tests.test_hung_database import HoldingProxy  # noqa: E402

ACCOUNT, TOKEN, LINE_NUMBER = "AC" + "7" * 32, "fault-run-token", "+12125550100"
PUBLIC = "https://line.example.org"
ON_CALL = "+12125550111"
TEXTS = SAMPLE_INTAKE  # one sample intake for every bench
STARTS_FOR = 45.0  # seconds over which the caregivers start, evenly
PAUSE = 0.6  # seconds a caregiver takes to write the next answer
HUP_AT, KILL_AT, STALL_AT, STALL = 8.0, 18.0, 26.0, 12.0  # seconds into the load
SETTLE = 180.0  # seconds the line may take to catch up afterwards
TWILIO_WAITS = 15.0  # Twilio's own limit for a webhook's answer


class Proxy(HoldingProxy):
    """The tests' holding proxy (which passes a process's death on), made to last a long
    run: both sockets of a pair are closed once either ends, and a connection that
    cannot reach the server is refused (counted)."""

    refused = 0
    pairs: dict[int, int] = {}  # the proxy's port to the server -> the client's own port

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return  # closed
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                Proxy.refused += 1
                client.close()
                continue
            upstream.settimeout(None)
            Proxy.pairs[upstream.getsockname()[1]] = client.getpeername()[1]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        self._pump(source, sink)  # both sides shut once `source` ends (the tests' proxy)
        for side in (source, sink):
            side.close()


@dataclass
class Sent:
    """One text as Twilio would post it, and what became of the request."""

    sid: str
    caller: str
    answered: bool = False
    error: str | None = None


@dataclass
class Load:
    texts: list[Sent] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def fresh_database(admin_url: str) -> tuple[str, str]:
    """A new, migrated database: (its URL, its name)."""
    admin = create_engine(make_url(admin_url), isolation_level="AUTOCOMMIT")
    name = f"intake_fault_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    return url, name


def drop_database(admin_url: str, name: str) -> None:
    admin = create_engine(make_url(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(kid) for kid in path.read_text().split()] if path.exists() else []


def caregiver(base: str, number: str, load: Load) -> None:
    """One caregiver's intake, text after text, each waiting for the line's answer."""
    with requests.Session() as http:
        for body in TEXTS:
            sid = "SM" + uuid.uuid4().hex
            sent = Sent(sid, number)
            with load.lock:
                load.texts.append(sent)
            params = simulator.sms_params(number, body)
            params.update(MessageSid=sid, SmsSid=sid, SmsMessageSid=sid)
            url = PUBLIC + simulator.SMS_PATH
            headers = {signing.SIGNATURE_HEADER: signing.sign(TOKEN, url, params)}
            try:
                answer = http.post(
                    base + simulator.SMS_PATH, data=params, headers=headers, timeout=TWILIO_WAITS
                )
                sent.answered = answer.status_code == 200 and "<Response" in answer.text
                sent.error = None if sent.answered else f"HTTP {answer.status_code}"
            except requests.RequestException as error:
                sent.error = type(error).__name__
            time.sleep(PAUSE)


def start(command: list[str], env: dict[str, str], log) -> subprocess.Popen:
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)


def up(base: str) -> bool:
    try:
        return requests.get(base + "/healthz", timeout=1).status_code == 200
    except requests.RequestException:
        return False


def wait(condition, seconds: float) -> bool:
    ends = time.monotonic() + seconds
    while time.monotonic() < ends:
        if condition():
            return True
        time.sleep(0.5)
    return condition()


def settled(db: Database, load: Load) -> bool:
    """Every answered text stored, and nothing due left to send."""
    answered = {t.sid for t in load.texts if t.answered}
    with db.sessions() as s:
        stored = set(s.scalars(select(Message.twilio_sid).where(Message.twilio_sid.is_not(None))))
        due = s.scalar(select(func.count()).where(OPEN, Outbound.send_at <= func.now()))
    return answered <= stored and due == 0


OPEN = Outbound.status.in_(("pending", "sending"))


def sessions_open_on(db: Database) -> None:
    """The database's sessions still in a transaction (what holds a row back)."""
    with db.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT client_port, state, now() - xact_start, left(query, 80)"
                " FROM pg_stat_activity"
                " WHERE datname = current_database() AND xact_start IS NOT NULL"
                " AND pid <> pg_backend_pid()"
            )
        ).all()
    for port, *rest in rows:
        client = Proxy.pairs.get(port)
        owner = subprocess.run(
            ["ss", "-tnpH", f"sport = :{client}"], capture_output=True, text=True
        ).stdout.strip()
        print("open session:", rest, "client:", owner or client)
    tree = subprocess.run(["ps", "-eo", "pid,ppid,etimes,args"], capture_output=True, text=True)
    print("\n".join(line for line in tree.stdout.splitlines() if "gunicorn" in line))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--callers", type=int, default=60)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--admin-url",
        default=os.environ.get(
            "INTAKE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
        ),
    )
    args = parser.parse_args()
    url, name = fresh_database(args.admin_url)
    folder = Path(tempfile.mkdtemp(prefix="fault_run_"))
    key = Fernet.generate_key().decode()
    db = Database(url, crypto.key_ring([key]))
    with db.transaction() as session:
        roster.add(session, "Ana Ruiz", ON_CALL)
    target = make_url(url)
    proxy = Proxy((target.host or "127.0.0.1", target.port or 5432))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    load = Load()
    processes: list[subprocess.Popen] = []
    log = (folder / "line.log").open("w")
    started = time.monotonic()
    try:
        with FakeTwilio(account_sid=ACCOUNT, auth_token=TOKEN) as fake:
            env = environment(url, proxy.port, key, folder, fake.base_url, port)
            gunicorn = start(
                [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"], env, log
            )
            processes += [gunicorn, start([sys.executable, "-m", "intake", "worker"], env, log)]
            if not wait(lambda: up(base), 60):
                raise SystemExit("gunicorn did not start")
            fake.random_faults(args.seed, error_500=0.05, error_429=0.03, hang=0.05)
            events = play(base, args.callers, load, gunicorn, proxy)
            caught_up = wait(lambda: settled(db, load), SETTLE)
            fake.clear_failures()
            problems = report(db, load, fake, events, caught_up, time.monotonic() - started, folder)
            if not caught_up:
                sessions_open_on(db)
            print(f"twilio faults: {len(fake.rejected)} refused, {fake.hung} answered late")
            print(f"database connections the proxy could not make: {Proxy.refused}")
    finally:
        for process in processes:
            for pid in [*children(process.pid), process.pid]:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            process.wait(timeout=10)
        proxy.close()
        log.close()
        db.dispose()
        drop_database(args.admin_url, name)
    print(f"log: {folder / 'line.log'}")
    return 0 if problems == 0 else 1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def environment(url: str, proxy_port: int, key: str, folder: Path, twilio: str, port: int):
    through = make_url(url).set(host="127.0.0.1", port=proxy_port)
    return {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "DATABASE_URL": through.render_as_string(hide_password=False),
        "PUBLIC_BASE_URL": PUBLIC,
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
        "SECRET_KEY": "fault-run-secret",
        "INTAKE_DATA_KEYS": key,
        "INTAKE_INSTANCE_DIR": str(folder / "instance"),
        "TWILIO_ACCOUNT_SID": ACCOUNT,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "TWILIO_PHONE_NUMBER": LINE_NUMBER,
        "TWILIO_API_BASE_URL": twilio,
        "INTAKE_FALLBACK_ALERT_NUMBER": "+12125550199",
        "INTAKE_FOLLOWUP_SCHEDULE": "5s,10s",
        "INTAKE_PAGE_WINDOW": "1s",
        "INTAKE_ESCALATION_WAIT": "10m",
        "INTAKE_DISPATCH_INTERVAL": "1s",
        "INTAKE_SEND_LEASE": "4s",
        "INTAKE_RETRY_AFTER": "1s",
        "INTAKE_ANSWER_WITHIN": "2s",
        "INTAKE_LOG_LEVEL": "INFO",
    }


def play(base: str, callers: int, load: Load, gunicorn, proxy: HoldingProxy) -> list[str]:
    """The callers, evenly over STARTS_FOR seconds, with the faults at their times."""
    faults = [
        (HUP_AT, "HUP", lambda: gunicorn.send_signal(signal.SIGHUP)),
        (KILL_AT, "SIGKILL workers", lambda: [os.kill(p, 9) for p in children(gunicorn.pid)]),
        (STALL_AT, "database held", proxy.hold),
        (STALL_AT + STALL, "database back", proxy.release),
    ]
    events, threads, t0 = [], [], time.monotonic()
    for n in range(callers):
        while faults and time.monotonic() - t0 >= faults[0][0]:
            at, what, act = faults.pop(0)
            act()
            events.append(f"{time.monotonic() - t0:5.1f}s {what}")
        number = f"+1212555{3000 + n:04d}"
        thread = threading.Thread(target=caregiver, args=(base, number, load))
        thread.start()
        threads.append(thread)
        time.sleep(STARTS_FOR / callers)
    while faults:  # a short run still gets every fault
        at, what, act = faults.pop(0)
        time.sleep(max(0.0, at - (time.monotonic() - t0)))
        act()
        events.append(f"{time.monotonic() - t0:5.1f}s {what}")
    for thread in threads:
        thread.join()
    events.append(f"{time.monotonic() - t0:5.1f}s last answer")
    return events


def report(db, load: Load, fake, events, caught_up: bool, seconds: float, folder: Path) -> int:
    """Print the counts; returns how many texts or rows were lost, doubled or left open."""
    with db.sessions() as s:
        stored = Counter(
            s.scalars(
                select(Message.twilio_sid).where(
                    Message.twilio_sid.is_not(None), Message.direction == "in"
                )
            )
        )
        rows = s.execute(select(Outbound.status, Outbound.twilio_sid, Outbound.kind)).all()
        cases = s.scalar(select(func.count(Case.id)))
        alerts = Counter(s.scalars(select(Alert.reason)))
        still = s.execute(
            select(Outbound.kind, Outbound.status, Outbound.attempts, Outbound.last_error).where(
                OPEN, Outbound.send_at <= func.now()
            )
        ).all()
    sent = load.texts
    answered = [t for t in sent if t.answered]
    unanswered = [t for t in sent if not t.answered]
    lost = [t for t in answered if not stored[t.sid]]
    twice = [sid for sid, n in stored.items() if n > 1]
    stored_unanswered = [t for t in unanswered if stored[t.sid]]
    said = (folder / "line.log").read_text()
    from_memory = said.count("spool.spooled")
    statuses = Counter(status for status, _, _ in rows)
    row_sids = Counter(sid for status, sid, _ in rows if status == "sent")
    taken = Counter(m["sid"] for m in fake.messages) + Counter(c["sid"] for c in fake.calls)
    out_twice = sum(n for sid, n in taken.items() if sid not in row_sids)
    out_lost = sum(1 for sid in row_sids if sid not in taken)
    kinds = Counter(kind for status, _, kind in rows if status == "sent")
    print("fault run:", "; ".join(events))
    print(
        f"texts: sent {len(sent)}, answered {len(answered)} ({from_memory} from memory),"
        f" unanswered {len(unanswered)} ({Counter(t.error for t in unanswered)}),"
        f" stored {sum(1 for t in sent if stored[t.sid])}"
        f" (of them unanswered {len(stored_unanswered)}),"
        f" lost {len(lost)}, duplicated {len(twice)}"
    )
    print(
        f"outbound: rows {len(rows)} {dict(statuses)}; sent by kind {dict(kinds)};"
        f" Twilio took {sum(taken.values())}; duplicated {out_twice}, lost {out_lost}"
    )
    print(f"cases {cases}; alerts by reason {dict(alerts)}")
    print(f"caught up: {caught_up}; run took {seconds:.0f} s")
    if still:
        print(f"due but not sent: {[tuple(row) for row in still]}")
    return len(lost) + len(twice) + out_twice + out_lost + len(still)


if __name__ == "__main__":
    sys.exit(main())
