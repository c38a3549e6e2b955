"""`make bench`: the line measured from outside, as it runs in production.

gunicorn (2 sync workers, bench/bench_app.py) serves the line; a separate load process
(bench/load.py, 8 callers at once) plays whole intakes. Runs are interleaved, figures are
medians over rounds, and the ratios compare figures taken in the same run:

  (a) the bare signed route: same app, same settings, signature checked, fixed TwiML;
  (b) whole intakes (new callers, then mid-conversation, then the final answer) on
      PostgreSQL and SQLite, and once more on PostgreSQL paced at half the maximum rate;
  (c) the same on a PostgreSQL database grown to 100,000 cases and 1,000,000 messages
      and outbox rows (seeded with generate_series), with EXPLAIN of every statement a
      text runs;
  (d) the outbox dispatcher, one and two workers, against a local fake Twilio;
  (e) peak RSS of a web worker and of `intake worker`.

CPU per text is the gunicorn workers' CPU time (utime+stime from /proc) over texts sent.
Every PostgreSQL database is the bench's own, created here and dropped at the end.

    python bench/line_bench.py [--database-url postgresql://.../postgres] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

from bench_app import BARE_PATH  # noqa: E402
from outbox_bench import measure as measure_outbox  # noqa: E402

from intake.devtools.simulate import SAMPLE_INTAKE  # noqa: E402
from intake.infra import crypto  # noqa: E402
from intake.infra.migrate import upgrade  # noqa: E402
from intake.simulator import phone as simulator  # noqa: E402

BIN = Path(sys.executable).parent
TOKEN = "bench-token"
SURVEY_SAMPLE = 135  # texts/s: Twilio's survey sample on PostgreSQL (issue 12), fixed
ON_CALL = "+12125550100"
# A whole intake, as a caregiver texts it, and one more text.
TEXTS = [*SAMPLE_INTAKE, "she may be at her friend's house"]
FIRST, FINAL = 0, 10
CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass
class Scale:
    rounds: int
    callers: int
    growth_cases: int
    dispatch_rows: int
    worker_seconds: float


FULL = Scale(rounds=3, callers=200, growth_cases=100_000, dispatch_rows=5000, worker_seconds=8)
QUICK = Scale(rounds=1, callers=60, growth_cases=10_000, dispatch_rows=1000, worker_seconds=4)


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- databases -------------------------------------------------------------------------


class Databases:
    """PostgreSQL databases of the bench's own, dropped at the end whatever happens."""

    def __init__(self, admin_url: str):
        self.admin = create_engine(make_url(admin_url), isolation_level="AUTOCOMMIT")
        self.names: list[str] = []

    def create(self, label: str) -> str:
        name = f"intake_bench_{label}_{uuid.uuid4().hex[:8]}"
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        self.names.append(name)
        url = self.admin.url.set(database=name).render_as_string(hide_password=False)
        upgrade(url)
        return url

    def drop_all(self) -> None:
        with self.admin.connect() as conn:
            for name in self.names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin.dispose()


def add_on_call_person(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO oncall_people (name, phone, reach_by, windows, position, active,"
                " created_at) VALUES ('Bench Worker', :phone, 'sms', '[]', 1, true, :now)"
            ),
            {"phone": ON_CALL, "now": "2026-01-01 00:00:00"},
        )
    engine.dispose()


def grow(url: str, key: str, cases: int) -> float:
    """Seed `cases` closed-or-open cases with 10 messages and 10 outbox rows each (one
    caller each, and one alert with its page); returns the seconds it took."""
    ring = crypto.key_ring([key])
    tokens = {
        "state": crypto.encrypt(ring, json.dumps({"status": "complete", "lang": "en"})),
        "name": crypto.encrypt(ring, "Alex Example"),
        "place": crypto.encrypt(ring, "Riverside Park near the swings"),
        "body": crypto.encrypt(ring, "a text a caregiver sent, about this long or a bit more"),
        "twiml": crypto.encrypt(ring, simulator_twiml()),
        "params": crypto.encrypt(ring, json.dumps({"ref": "Z1", "runaway_early": False})),
    }
    started = time.perf_counter()
    engine = create_engine(url)
    with engine.begin() as conn:
        for statement in GROWTH_SQL:
            conn.execute(text(statement), {"n": cases, "phone": ON_CALL, **tokens})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    return time.perf_counter() - started


def simulator_twiml() -> str:
    from intake.channels.twiml import sms_twiml

    return sms_twiml(["Thank you. " * 30])


GROWTH_SQL = [
    """INSERT INTO callers (phone, lang, state, created_at, updated_at)
       SELECT '+1917' || lpad(g::text, 7, '0'), 'en', :state,
              now() - interval '40 days', now() - interval '40 days'
       FROM generate_series(1, :n) g""",
    """INSERT INTO cases (ref, caller_id, status, lang, channel, child_name, age_months,
                          last_seen_where, police_called, reported_missing, created_at,
                          completed_at, closed_at, found_at)
       SELECT 'Z' || c.id, c.id,
              CASE c.id % 10 WHEN 0 THEN 'open' WHEN 1 THEN 'found' ELSE 'closed' END,
              'en', 'sms', :name, 84, :place, true, true, c.created_at, c.created_at,
              CASE WHEN c.id % 10 > 1 THEN c.created_at + interval '1 day' END,
              CASE WHEN c.id % 10 = 1 THEN c.created_at + interval '1 day' END
       FROM callers c WHERE c.phone LIKE '+1917%'""",
    """INSERT INTO messages (caller_id, case_id, direction, twilio_sid, body, num_media,
                             step, reply_twiml, created_at)
       SELECT k.caller_id, k.id, CASE WHEN g % 2 = 1 THEN 'in' ELSE 'out' END,
              CASE WHEN g % 2 = 1 THEN 'SMgrow' || k.id || 'x' || g END, :body, 0, NULL,
              CASE WHEN g % 2 = 1 THEN :twiml END, k.created_at + g * interval '1 minute'
       FROM cases k CROSS JOIN generate_series(1, 10) g WHERE k.ref LIKE 'Z%'""",
    """INSERT INTO outbox (kind, channel, to_phone, template, params, lang, case_id,
                           caller_id, dedupe_key, send_at, status, attempts, twilio_sid,
                           delivery_status, created_at, sent_at, unsure)
       SELECT 'followup', 'sms', c.phone, 'followup_' || g, :params, 'en', k.id, c.id,
              'followup:' || k.id || ':' || g, k.created_at + g * interval '3 hours',
              CASE WHEN k.status = 'open' THEN 'pending' ELSE 'sent' END,
              1, 'SMout' || k.id || 'x' || g, 'delivered', k.created_at,
              k.created_at + g * interval '3 hours', false
       FROM cases k JOIN callers c ON c.id = k.caller_id
       CROSS JOIN generate_series(1, 10) g WHERE k.ref LIKE 'Z%'""",
    """UPDATE outbox SET send_at = now() + interval '10 days', sent_at = NULL,
              twilio_sid = NULL, delivery_status = NULL
       WHERE status = 'pending'""",
    """INSERT INTO alerts (case_id, reason, status, chain, step, round, created_at, acked_at)
       SELECT k.id, 'intake', 'acked', '[1]', 0, 0, k.created_at, k.created_at
       FROM cases k WHERE k.ref LIKE 'Z%'""",
    """INSERT INTO alert_pages (alert_id, person_id, to_phone, channel, created_at)
       SELECT a.id, 1, :phone, 'sms', a.created_at FROM alerts a""",
]


# --- gunicorn --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    """gunicorn serving bench_app for one database."""

    label: str
    db_url: str
    key: str
    folder: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "DATABASE_URL": self.db_url,
            "PUBLIC_BASE_URL": self.base,
            "TWILIO_AUTH_TOKEN": TOKEN,
            "SECRET_KEY": "bench",
            "INTAKE_DATA_KEYS": self.key,
            "INTAKE_INSTANCE_DIR": str(self.folder),
            "INTAKE_LOG_LEVEL": "WARNING",  # quiet while measuring
            "PYTHONPATH": str(ROOT),  # this checkout's code, whatever is installed
        }

    def start(self) -> None:
        log = open(self.folder / f"gunicorn-{self.label}.log", "w")  # noqa: SIM115
        command = [
            str(BIN / "gunicorn"),
            "--workers=2",
            "--worker-class=sync",
            f"--bind=127.0.0.1:{self.port}",
            f"--chdir={BENCH}",
            "--log-level=warning",
            "bench_app:app",
        ]
        # started in bench/: gunicorn reads ./gunicorn.conf.py from where it starts, and
        # the production one (gthread, an access log) is not what is measured here
        self.process = subprocess.Popen(command, env=self.env(), cwd=BENCH, stdout=log, stderr=log)
        deadline = time.monotonic() + 60
        while len(self.workers()) < 2 or not self.answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"gunicorn ({self.label}) did not start: see {log.name}")
            time.sleep(0.2)

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
                conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                return conn.recv(64).startswith(b"HTTP/1.1")
        except OSError:
            return False

    def workers(self) -> list[int]:
        """The pids of this gunicorn's workers (children of its master)."""
        return [pid for pid, _, fields in processes() if int(fields[1]) == self.process.pid]

    def cpu_seconds(self) -> float:
        return sum(cpu_seconds(pid) for pid in self.workers())

    def peak_rss_mb(self) -> float:
        return max(peak_rss_mb(pid) for pid in self.workers())

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)


def processes() -> Iterator[tuple[int, str, list[str]]]:
    """Every process now: its pid, name, and the fields of /proc/<pid>/stat after the name
    (fields[1] is the parent's pid; 11-14 are utime, stime, cutime, cstime)."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                raw = (entry / "stat").read_text()
            except OSError:  # it ended meanwhile
                continue
            name, rest = raw[raw.index("(") + 1 : raw.rindex(")")], raw[raw.rindex(")") + 1 :]
            yield int(entry.name), name, rest.split()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime


def postgres_cpu_seconds() -> float | None:
    """CPU used so far by the PostgreSQL server on this machine: every postgres process,
    and the backends that have exited (their time is in the postmaster's cutime and
    cstime). None when no server runs here (BENCH_POSTGRES on another host)."""
    stats = {pid: fields for pid, name, fields in processes() if name == "postgres"}
    if not stats:
        return None
    ticks = 0
    for fields in stats.values():
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
        if int(fields[1]) not in stats:  # the postmaster: its reaped children too
            ticks += int(fields[13]) + int(fields[14])  # cutime, cstime
    return ticks / CLK_TCK


def peak_rss_mb(pid: int) -> float:
    for row in Path(f"/proc/{pid}/status").read_text().splitlines():
        if row.startswith("VmHWM:"):
            return int(row.split()[1]) / 1024
    return 0.0


# --- runs ------------------------------------------------------------------------------


@dataclass
class Run:
    texts_per_s: float
    cpu_ms: float  # the web workers' CPU per text
    latencies: dict[str, list[float]]  # ms by kind: first, middle, final, all
    postgres_ms: float | None = None  # the PostgreSQL server's CPU per text (None: elsewhere)
    load_ms: float = 0.0  # the load generator's CPU per text (while its clock ran)


class Callers:
    """Fresh phone numbers for every run: each run is new caregivers."""

    def __init__(self) -> None:
        self.next = 0

    def take(self, count: int) -> list[str]:
        numbers = [f"+1212{5550000 + self.next + n + 1000:07d}" for n in range(count)]
        self.next += count
        return numbers


def play(server: Server, path: str, callers: list[str], rate: float | None = None) -> Run:
    job = {
        "base": server.base,
        "public_base": server.base,
        "path": path,
        "callers": callers,
        "texts": TEXTS,
        "token": TOKEN,
        "threads": 8,
        "rate": rate,
    }
    before, postgres_before = server.cpu_seconds(), postgres_cpu_seconds()
    done = subprocess.run(
        [sys.executable, str(BENCH / "load.py")],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        check=True,
    )
    cpu = server.cpu_seconds() - before
    postgres_after = postgres_cpu_seconds()
    postgres_cpu = None if postgres_before is None else postgres_after - postgres_before
    result = json.loads(done.stdout)
    if result["errors"]:
        raise SystemExit(
            f"{server.label}: {len(result['errors'])} bad answers, e.g. {result['errors'][0]!r}"
        )
    timings = result["timings"]
    kinds: dict[str, list[float]] = {"first": [], "middle": [], "final": [], "all": []}
    for n, seconds in timings:
        kind = "first" if n == FIRST else "final" if n == FINAL else "middle"
        kinds[kind].append(seconds * 1000)
        kinds["all"].append(seconds * 1000)
    per_text = 1000 / len(timings)
    return Run(
        len(timings) / result["elapsed"],
        cpu * per_text,
        kinds,
        None if postgres_cpu is None else postgres_cpu * per_text,
        result["cpu"] * per_text,
    )


def percentile(values: list[float], p: int) -> float:
    """The p-th percentile, never beyond the largest value."""
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(sorted(values), n=100, method="inclusive")[p - 1]


@dataclass
class Series:
    """The runs of one kind, summarised as medians over the rounds."""

    runs: list[Run] = field(default_factory=list)

    def median(self, get: Callable[[Run], float]) -> float:
        return statistics.median(get(run) for run in self.runs)

    @property
    def rate(self) -> float:
        return self.median(lambda r: r.texts_per_s)

    @property
    def cpu(self) -> float:
        return self.median(lambda r: r.cpu_ms)

    @property
    def postgres(self) -> float | None:
        if any(run.postgres_ms is None for run in self.runs):
            return None
        return self.median(lambda r: r.postgres_ms)

    @property
    def load(self) -> float:
        return self.median(lambda r: r.load_ms)

    def p(self, kind: str, q: int) -> float:
        return self.median(lambda r: percentile(r.latencies[kind], q))


# --- statements and plans --------------------------------------------------------------


def capture_statements(db_url: str, key: str, folder: Path, caller: str):
    """One whole intake through the app in this process; the statements of each text."""
    import logging

    from intake.app import create_app
    from intake.infra.config import Settings

    settings = Settings(
        database_url=db_url,
        public_base_url="http://bench.invalid",
        twilio_auth_token=TOKEN,
        secret_key="bench",
        instance_dir=folder,
        data_keys=(key,),
    )
    app = create_app(settings)
    logging.getLogger("intake").setLevel(logging.WARNING)
    engine = app.extensions["intake"].db.engine
    seen: list[tuple[str, object]] = []
    listener = lambda *a: seen.append((a[2], a[3]))  # noqa: E731 - statement, parameters
    event.listen(engine, "before_cursor_execute", listener)
    client = app.test_client()
    per_text = []
    for body in TEXTS:
        seen.clear()
        params = simulator.sms_params(caller, body)
        headers = simulator.signed_headers(settings, simulator.SMS_PATH, params)
        assert client.post(simulator.SMS_PATH, data=params, headers=headers).status_code == 200
        per_text.append(list(seen))
    event.remove(engine, "before_cursor_execute", listener)
    app.extensions["intake"].db.dispose()
    return per_text


def explain(db_url: str, per_text) -> list[str]:
    """EXPLAIN of each distinct statement the texts ran (ANALYZE for reads, in a
    transaction rolled back)."""
    out, done = [], set()
    engine = create_engine(db_url)
    with engine.connect() as conn:
        for statements in per_text:
            for sql, params in statements:
                key = " ".join(sql.split())
                if key in done or key.split()[0] not in ("SELECT", "INSERT", "UPDATE"):
                    continue
                done.add(key)
                if isinstance(params, list | tuple) and params and isinstance(params[0], dict):
                    params = params[0]  # an executemany: the plan of one row's INSERT
                options = "ANALYZE, BUFFERS, " if key.startswith("SELECT") else ""
                transaction = conn.begin()
                try:
                    plan = conn.exec_driver_sql(
                        f"EXPLAIN ({options}COSTS OFF) {sql}", params
                    ).scalars()
                    lines = [row for row in plan if not row.strip().startswith("Buffers")]
                finally:
                    transaction.rollback()
                out.append(f"  {key[:150]}{'...' if len(key) > 150 else ''}")
                out += [f"    | {row}" for row in lines]
    engine.dispose()
    return out


# --- intake worker ---------------------------------------------------------------------


def worker_peak_rss(server: Server, seconds: float) -> float:
    """Run `intake worker` against the server's database a while; its peak RSS in MB."""
    log = open(server.folder / "worker.log", "w")  # noqa: SIM115
    env = {**server.env(), "INTAKE_DISPATCH_INTERVAL": "1s"}
    command = [sys.executable, "-c", "from intake.cli.main import main; main()", "worker"]
    worker = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=log)
    try:
        time.sleep(seconds)
        if worker.poll() is not None:
            raise SystemExit(f"intake worker stopped: see {log.name}")
        return peak_rss_mb(worker.pid)
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()


# --- the whole bench -------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    parser.add_argument("--quick", action="store_true", help="one round, fewer callers")
    parser.add_argument("--explain", action="store_true", help="print every EXPLAIN")
    args = parser.parse_args()
    scale = QUICK if args.quick else FULL
    key = Fernet.generate_key().decode()
    databases = Databases(args.database_url)
    servers: list[Server] = []
    started = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory(prefix="intake-bench-") as tmp:
            folder = Path(tmp)
            return bench(scale, args, key, databases, servers, folder, started)
    finally:
        for server in servers:
            server.stop()
        databases.drop_all()


def bench(scale, args, key, databases, servers, folder, started) -> int:
    say("creating databases ...")
    pg_url = databases.create("pg")
    grown_url = databases.create("grown")
    sqlite_url = f"sqlite:///{folder / 'bench.db'}"
    upgrade(sqlite_url)
    for url in (pg_url, grown_url, sqlite_url):
        add_on_call_person(url)
    say(f"growing a database to {scale.growth_cases} cases ...")
    grow_seconds = grow(grown_url, key, scale.growth_cases)

    say("counting statements ...")
    per_text = capture_statements(pg_url, key, folder, "+12125559001")
    counts = [len(s) for s in per_text]
    say("EXPLAIN on the grown database ...")
    plans = explain(grown_url, capture_statements(grown_url, key, folder, "+12125559002"))

    pg, lite, grown = (
        Server("pg", pg_url, key, folder),
        Server("sqlite", sqlite_url, key, folder),
        Server("grown", grown_url, key, folder),
    )
    servers += [pg, lite, grown]
    for server in servers:
        server.start()
    callers = Callers()
    for server in servers:  # warm up: imports, prepared statements, caches
        play(server, simulator.SMS_PATH, callers.take(16))
    play(pg, BARE_PATH, callers.take(16))

    bare, line_pg, line_lite, line_grown = Series(), Series(), Series(), Series()
    for n in range(scale.rounds):
        say(f"round {n + 1} of {scale.rounds} ...")
        bare.runs.append(play(pg, BARE_PATH, callers.take(scale.callers)))
        line_pg.runs.append(play(pg, simulator.SMS_PATH, callers.take(scale.callers)))
        line_grown.runs.append(play(grown, simulator.SMS_PATH, callers.take(scale.callers)))
        line_lite.runs.append(play(lite, simulator.SMS_PATH, callers.take(scale.callers)))
    half = line_pg.rate / 2
    say(f"paced run at {half:.0f} texts/s ...")
    paced = Series([play(pg, simulator.SMS_PATH, callers.take(scale.callers), rate=half)])

    web_rss = max(server.peak_rss_mb() for server in (pg, lite, grown))
    say("intake worker ...")
    worker_rss = worker_peak_rss(pg, scale.worker_seconds)
    for server in servers:
        server.stop()

    say("dispatcher ...")
    dispatch = measure_outbox(args.database_url, scale.dispatch_rows, pending_future=0)

    report(
        scale,
        bare,
        line_pg,
        line_lite,
        line_grown,
        paced,
        counts,
        dispatch,
        web_rss,
        worker_rss,
        grow_seconds,
    )
    if args.explain:
        print("\nEXPLAIN of each statement a whole intake runs (grown database):")
        print("\n".join(plans))
    else:
        print(
            f"\n({len([p for p in plans if not p.startswith('    |')])} statements "
            "explained; --explain prints the plans)"
        )
        print("\n".join(p for p in plans if "Seq Scan" in p) or "no sequential scans")
    print(f"\nbench took {time.perf_counter() - started:.0f} s")
    duplicates = dispatch["one"]["duplicates"] + dispatch["two"]["duplicates"]
    unsent = dispatch["one"]["unsent"] + dispatch["two"]["unsent"]
    return 1 if duplicates or unsent else 0


def row(what: str, series: Series, note: str = "") -> str:
    return (
        f"| {what} | {series.rate:,.0f} | {series.cpu:.2f} | {series.p('first', 50):.1f} | "
        f"{series.p('first', 99):.1f} | {series.p('middle', 99):.1f} | "
        f"{series.p('final', 99):.1f} | {series.p('all', 99):.1f} | {note} |"
    )


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def report(scale, bare, pg, lite, grown, paced, counts, dispatch, web_rss, worker_rss, grow_s):
    pg_ratio, lite_ratio = pg.rate / bare.rate, lite.rate / bare.rate
    survey = pg.rate / SURVEY_SAMPLE
    slower = grown.p("all", 50) / pg.p("all", 50) - 1
    slower99 = grown.p("all", 99) / pg.p("all", 99) - 1
    callers = scale.callers
    print(
        f"\n{scale.rounds} interleaved round(s); each run {callers} callers x {len(TEXTS)} texts,"
        " 8 at once; gunicorn 2 sync workers; medians over rounds; latencies in ms\n"
    )
    print(
        "| what | texts/s | CPU ms/text | p50 first | p99 first | p99 middle | p99 final |"
        " p99 all | against |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    print(row("bare signed route (same app)", bare, "1x"))
    print(
        row(
            "the line, PostgreSQL",
            pg,
            f"{pg_ratio:.2f}x bare (>= 0.30 {verdict(pg_ratio >= 0.3)}); "
            f"{survey:.2f}x survey sample (>= 2 {verdict(survey >= 2)}); "
            f"CPU <= 2.2 {verdict(pg.cpu <= 2.2)}",
        )
    )
    print(
        row(
            f"the line, PostgreSQL paced at {paced.rate:.0f}/s (half max)",
            paced,
            f"p99 first < 50 ms {verdict(paced.p('first', 99) < 50)}",
        )
    )
    print(
        row(
            "the line, SQLite",
            lite,
            f"{lite_ratio:.2f}x bare (>= 0.25 {verdict(lite_ratio >= 0.25)})",
        )
    )
    print(
        row(
            f"the line, PostgreSQL grown ({scale.growth_cases:,} cases, "
            f"{scale.growth_cases * 10:,} messages and outbox rows)",
            grown,
            f"p50 {slower:+.0%}, p99 {slower99:+.0%} vs empty "
            f"(within 20% {verdict(slower <= 0.2 and slower99 <= 0.2)}); seeded in {grow_s:.0f} s",
        )
    )
    one, two = dispatch["one"], dispatch["two"]
    print(
        f"\ndispatcher vs fake Twilio ({scale.dispatch_rows} due rows): one worker "
        f"{one['rate']:.0f} msg/s, two workers {two['rate']:.0f} msg/s; duplicates "
        f"{one['duplicates'] + two['duplicates']}, unsent {one['unsent'] + two['unsent']}"
    )
    print(f"peak RSS: web worker {web_rss:.0f} MB, intake worker {worker_rss:.0f} MB")
    print(machine_budget(bare, pg, lite))
    middle = counts[FIRST + 1 : FINAL]
    print(
        f"statements per text (PostgreSQL): first {counts[FIRST]}, middle "
        f"{min(middle)}-{max(middle)}, final {counts[FINAL]}, after the intake {counts[-1]}"
    )


def machine_budget(bare: Series, pg: Series, lite: Series) -> str:
    """What one text costs the whole machine (web workers, PostgreSQL, the load generator),
    and what 0.3x the bare route's rate would leave: the cores are shared by all three."""
    cores = os.cpu_count() or 1

    def spent(series: Series) -> str:
        postgres = series.postgres
        if postgres is None:
            return f"web {series.cpu:.2f} + load {series.load:.2f} (PostgreSQL not on this host)"
        total = series.cpu + postgres + series.load
        return (
            f"web {series.cpu:.2f} + PostgreSQL {postgres:.2f} + load {series.load:.2f} "
            f"= {total:.2f}"
        )

    target = 0.3 * bare.rate
    return (
        f"CPU ms per text, whole machine ({cores} cores): bare route {spent(bare)}; "
        f"the line on PostgreSQL {spent(pg)}; on SQLite {spent(lite)}.\n"
        f"At 0.3x the bare route ({target:,.0f} texts/s) the {cores} cores leave "
        f"{cores * 1000 / target:.2f} ms of CPU per text for all three together."
    )


if __name__ == "__main__":
    raise SystemExit(main())
