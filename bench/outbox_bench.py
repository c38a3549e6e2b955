"""Benchmark the outbox dispatcher against PostgreSQL and a local fake Twilio.

On a fresh database of its own (created, migrated, dropped at the end) it measures:
one dispatcher sending N due rows (`dispatcher.dispatch` in a loop, this process); two
dispatcher processes sending N due rows (timed from a common start signal, start-up not
counted); for both, duplicates (messages received minus distinct bodies) and rows not
'sent' (both must be 0); and, with --pending-future rows due 1 hour to 30 days ahead, the
EXPLAIN (ANALYZE, BUFFERS) of the exact SELECT `outbox.claim_query` builds for pending rows
and the median time of an `outbox.claim` that finds nothing. The fake Twilio runs in a
child process (one per phase), so it never shares a GIL with a dispatcher.

Targets: >= 300 msg/s with one dispatcher; the claim stays an index scan on ix_outbox_due
(partial, WHERE status = 'pending') with 100,000 pending future rows.
Exits 1 when any message was sent twice or any row was left unsent.
"""

from __future__ import annotations

import argparse
import cProfile
import logging
import multiprocessing as mp
import pstats
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, insert, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from intake.app import Line, create_app  # noqa: E402
from intake.core import outbox  # noqa: E402
from intake.core.models import Outbound  # noqa: E402
from intake.delivery import dispatcher  # noqa: E402
from intake.infra.config import Settings  # noqa: E402
from intake.infra.migrate import upgrade  # noqa: E402
from intake.infra.transport import TwilioTransport  # noqa: E402

ACCOUNT = "AC" + "7" * 32
TOKEN = "bench-auth-token-0123456789abcdef"
LINE_NUMBER = "+12125550100"
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SPAWN = mp.get_context("spawn")


def fake_process(conn: Connection) -> None:
    """Child: serve a FakeTwilio until asked for its counts, then answer and stop."""
    from tests.fake_twilio import FakeTwilio

    with FakeTwilio(account_sid=ACCOUNT, auth_token=TOKEN) as fake:
        conn.send(fake.base_url)
        conn.recv()
        bodies = [m["body"] for m in fake.messages]
        counts = dict(received=len(bodies), distinct=len(set(bodies)), rejected=len(fake.rejected))
        conn.send(counts | {"internal_errors": len(fake.internal_errors)})


class FakeProcess:
    """A FakeTwilio in its own process; `counts()` collects its records and ends it."""

    def __init__(self) -> None:
        self.conn, child = SPAWN.Pipe()
        self.process = SPAWN.Process(target=fake_process, args=(child,), daemon=True)
        self.process.start()
        self.base_url: str = self.conn.recv()

    def counts(self) -> dict[str, int]:
        self.conn.send("counts")
        result = self.conn.recv()
        self.process.join(timeout=10)
        return result

    def stop(self) -> None:
        if self.process.is_alive():
            self.process.terminate()
            self.process.join()


def make_settings(db_url: str, fake_url: str, instance: Path) -> Settings:
    return Settings(
        database_url=db_url,
        public_base_url="https://line.example.org",
        twilio_auth_token=TOKEN,
        twilio_account_sid=ACCOUNT,
        twilio_phone_number=LINE_NUMBER,
        twilio_api_base_url=fake_url,
        secret_key="bench",
        instance_dir=instance,
    )


def make_line(settings: Settings) -> Line:
    app = create_app(settings)
    logging.getLogger("intake").setLevel(logging.WARNING)  # one INFO line per sent row
    return app.extensions["intake"]


def drain(line: Line, transport: TwilioTransport, batch: int) -> None:
    while dispatcher.dispatch(line, transport, line.clock.now(), limit=batch).ids:
        pass


def dispatcher_process(settings: Settings, batch: int, ready: Any, go: Any) -> None:
    """Child: build its own app, Line and transport; wait for the signal; send all due."""
    line = make_line(settings)
    transport = TwilioTransport(settings)
    with line.db.engine.connect():  # connected before the start signal
        pass
    ready.put(True)
    go.wait()
    drain(line, transport, batch)
    line.db.dispose()


def insert_rows(line: Line, count: int, send_at: Callable[[int], datetime], body: str) -> None:
    """Bulk insert (Core, executemany) in chunks of 10,000."""
    base = dict(kind="bench", channel="sms", params={}, lang="en", status="pending")
    base.update(attempts=0, created_at=line.clock.now())
    with line.db.engine.begin() as conn:
        for start in range(0, count, 10_000):
            chunk = range(start, min(start + 10_000, count))
            conn.execute(
                insert(Outbound.__table__),
                [
                    {
                        **base,
                        "to_phone": f"+1212555{n % 10000:04d}",
                        "body": f"{body} {n}",
                        "send_at": send_at(n),
                    }
                    for n in chunk
                ],
            )


def run_one(line: Line, settings: Settings, args: argparse.Namespace) -> float:
    transport = TwilioTransport(settings)
    profile = cProfile.Profile()
    start = time.perf_counter()
    if args.profile:
        profile.runcall(drain, line, transport, args.batch)
    else:
        drain(line, transport, args.batch)
    elapsed = time.perf_counter() - start
    if args.profile:
        pstats.Stats(profile).sort_stats("cumulative").print_stats(30)
    return elapsed


def run_two(settings: Settings, args: argparse.Namespace) -> float:
    ready, go = SPAWN.Queue(), SPAWN.Event()
    workers = [
        SPAWN.Process(target=dispatcher_process, args=(settings, args.batch, ready, go))
        for _ in range(2)
    ]
    try:
        for w in workers:
            w.start()
        for _ in workers:
            ready.get(timeout=120)
        start = time.perf_counter()
        go.set()
        for w in workers:
            w.join()
        if any(w.exitcode for w in workers):
            raise SystemExit(f"a dispatcher failed: exit codes {[w.exitcode for w in workers]}")
        return time.perf_counter() - start
    finally:
        for w in workers:
            if w.is_alive():
                w.terminate()


def phase(name: str, db_url: str, instance: Path, args: argparse.Namespace) -> dict[str, Any]:
    """A fresh fake and N fresh due rows; send them all; count what the fake received."""
    fake = FakeProcess()
    settings = make_settings(db_url, fake.base_url, instance)
    line = make_line(settings)
    try:
        with line.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("DELETE FROM outbox WHERE kind = 'bench'"))
            conn.execute(text("VACUUM ANALYZE outbox"))  # both phases start from a clean table
        past = line.clock.now() - timedelta(minutes=1)
        insert_rows(line, args.rows, lambda n: past, "bench")
        elapsed = run_one(line, settings, args) if name == "one" else run_two(settings, args)
        result: dict[str, Any] = fake.counts()
        with line.db.sessions() as s:
            result["unsent"] = s.scalar(
                select(func.count()).where(Outbound.kind == "bench", Outbound.status != "sent")
            )
    finally:
        fake.stop()
        line.db.dispose()
    result.update(duplicates=result["received"] - result["distinct"], rate=args.rows / elapsed)
    print(
        f"[{name} dispatcher{'s' * (name == 'two')}] {args.rows} rows in {elapsed:.2f}s"
        f" = {result['rate']:.0f} msg/s; received {result['received']},"
        f" duplicates {result['duplicates']}, unsent {result['unsent']},"
        f" rejected {result['rejected']}, fake errors {result['internal_errors']}"
    )
    return result


def nodes(plan: dict[str, Any]) -> list[str]:
    """Node types of a JSON plan, depth first, with the index name where there is one."""
    label = plan["Node Type"] + (f" ({plan['Index Name']})" if "Index Name" in plan else "")
    return [label] + [n for child in plan.get("Plans", []) for n in nodes(child)]


def claim_plan(db_url: str, instance: Path, args: argparse.Namespace) -> dict[str, Any]:
    line = make_line(make_settings(db_url, "http://127.0.0.1:9", instance))  # never sends
    try:
        now, rng = line.clock.now(), random.Random(7)
        ahead = lambda n: now + timedelta(seconds=rng.uniform(3600, 30 * 86400))  # noqa: E731
        insert_rows(line, args.pending_future, ahead, "future")
        with line.db.engine.begin() as conn:
            conn.execute(text("ANALYZE outbox"))
        pending = Outbound.status == "pending"
        statement = outbox.claim_query(pending, Outbound.send_at, now, args.batch)
        sql = str(statement.compile(line.db.engine, compile_kwargs={"literal_binds": True}))
        with line.db.engine.connect() as conn:  # rolled back on close: locks nothing for good
            explain = conn.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {sql}").scalars().all()
            plan = conn.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}").scalar()
        types = nodes(plan[0]["Plan"])
        due_index = ("Index Scan (ix_outbox_due)", "Index Only Scan (ix_outbox_due)")
        uses_index = any(t in due_index for t in types)
        print(f"\n[claim plan] {args.pending_future} pending rows due later; claim SELECT:")
        print("  " + sql.replace("\n", "\n  "))
        print("\n".join("  | " + row for row in explain))
        print(f"  node types: {' > '.join(types)}")
        print(f"  index scan on ix_outbox_due: {'yes' if uses_index else 'NO'}")
        times = []
        for _ in range(105):  # the first 5 warm up
            start = time.perf_counter()
            claimed = outbox.claim(line.db, line, line.clock.now(), args.batch)
            times.append((time.perf_counter() - start) * 1000)
            assert not claimed, "claim found rows: nothing should be due"
        median = statistics.median(times[5:])
        print(f"  empty claim x100: median {median:.2f} ms, max {max(times[5:]):.2f} ms")
        return {"types": types, "uses_index": uses_index, "claim_ms": median}
    finally:
        line.db.dispose()


def measure(
    admin_url: str, rows: int, pending_future: int, batch: int = outbox.BATCH, profile=False
) -> dict:
    """All three phases on a database of their own (created, then dropped)."""
    args = argparse.Namespace(
        rows=rows, pending_future=pending_future, batch=batch, profile=profile
    )
    admin_url = make_url(admin_url)
    name = f"intake_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    db_url = admin_url.set(database=name).render_as_string(hide_password=False)
    print(f"database {name}; rows {rows}; batch {batch}")
    try:
        upgrade(db_url)
        with tempfile.TemporaryDirectory(prefix="outbox-bench-") as tmp:
            one = phase("one", db_url, Path(tmp), args)
            two = phase("two", db_url, Path(tmp), args)
            plan = claim_plan(db_url, Path(tmp), args) if pending_future else None
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return {"one": one, "two": two, "plan": plan}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--pending-future", type=int, default=100_000)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--batch", type=int, default=outbox.BATCH)
    parser.add_argument("--profile", action="store_true", help="cProfile the one-dispatcher run")
    args = parser.parse_args()
    result = measure(args.database_url, args.rows, args.pending_future, args.batch, args.profile)
    one, two, plan = result["one"], result["two"], result["plan"]
    duplicates, unsent = one["duplicates"] + two["duplicates"], one["unsent"] + two["unsent"]
    print(
        "\n--- outbox bench summary ---\n"
        f"rows: {args.rows} due (batch {args.batch}); {args.pending_future} pending future\n"
        f"one dispatcher:  {one['rate']:.0f} msg/s"
        f" [target >= 300: {'ok' if one['rate'] >= 300 else 'MISSED'}]\n"
        f"two dispatchers: {two['rate']:.0f} msg/s\n"
        f"duplicates: {duplicates} (one {one['duplicates']}, two {two['duplicates']});"
        f" unsent: {unsent}\n"
        f"claim plan: {' > '.join(plan['types'])}"
        f" [index scan on ix_outbox_due: {'ok' if plan['uses_index'] else 'NO'}]\n"
        f"empty claim: median {plan['claim_ms']:.2f} ms over 100 calls\n"
        "----------------------------"
    )
    return 1 if duplicates or unsent else 0


if __name__ == "__main__":
    sys.exit(main())
