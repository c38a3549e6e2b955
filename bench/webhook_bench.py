"""How fast a caregiver reads the line's answer: signed SMS webhooks over real HTTP.

Starts the app on a local port (werkzeug's threaded server, as `intake run` does), then
plays whole intakes (12 texts each) from many callers at once and prints the latency of
each answer: p50, p95, p99 and max, for the first text (the safety message) and for all.
Target: the first answer well under a second (Twilio waits 15 s; a frightened caller
should not wait at all).

    python bench/webhook_bench.py [--callers 40] [--threads 8] [--database-url URL]

Without --database-url it uses a fresh SQLite file; with a PostgreSQL URL it creates and
drops a database of its own on that server.
"""

from __future__ import annotations

import argparse
import logging
import socket
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from intake import simulator  # noqa: E402
from intake.app import create_app  # noqa: E402
from intake.config import Settings  # noqa: E402
from intake.migrate import upgrade  # noqa: E402

TEXTS = [
    "my daughter is missing",
    "yes",
    "Mia Lopez",
    "seven",
    "about 2 hours ago",
    "Elm Park, Springfield",
    "red coat, 4 feet tall, brown ponytail",
    "Springfield PD report 24-1187",
    "1",
    "SKIP",
    "SAME",
    "she may be at her friend's house",
]


def fresh_database(url: str | None, folder: Path) -> tuple[str, Callable[[], None]]:
    """A migrated database for this run, and how to drop it afterwards."""
    if url is None:
        path = folder / "bench.db"
        upgrade(f"sqlite:///{path}")
        return f"sqlite:///{path}", lambda: None
    admin = create_engine(make_url(url), isolation_level="AUTOCOMMIT")
    name = f"intake_webhook_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    db_url = make_url(url).set(database=name).render_as_string(hide_password=False)
    upgrade(db_url)

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return db_url, drop


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def play(settings: Settings, base: str, caller: str) -> list[tuple[int, float]]:
    """One caregiver's whole intake; returns (text index, seconds) for each answer."""
    session = requests.Session()
    timings = []
    for n, body in enumerate(TEXTS):
        params = simulator.sms_params(caller, body)
        headers = simulator.signed_headers(settings, simulator.SMS_PATH, params)
        started = time.perf_counter()
        response = session.post(base + simulator.SMS_PATH, data=params, headers=headers)
        timings.append((n, time.perf_counter() - started))
        if response.status_code != 200 or "<Response" not in response.text:
            raise SystemExit(f"bad answer {response.status_code}")
    return timings


def summary(label: str, seconds: list[float]) -> str:
    ms = sorted(s * 1000 for s in seconds)
    q = statistics.quantiles(ms, n=100, method="inclusive")  # never beyond the max
    return (
        f"{label:<12} n={len(ms):<5} p50={q[49]:6.1f} ms  p95={q[94]:6.1f} ms  "
        f"p99={q[98]:6.1f} ms  max={ms[-1]:6.1f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--callers", type=int, default=40)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        db_url, drop = fresh_database(args.database_url, Path(folder))
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        settings = Settings(
            database_url=db_url,
            public_base_url=base,
            twilio_auth_token="bench-token",
            secret_key="bench",
            instance_dir=Path(folder),
        )
        app = create_app(settings)
        for name in ("intake", "werkzeug"):  # quiet logs while measuring
            logging.getLogger(name).setLevel(logging.WARNING)
        server = make_server("127.0.0.1", port, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        callers = [f"+1212555{n:04d}" for n in range(args.callers)]
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=args.threads) as pool:
            results = list(pool.map(lambda c: play(settings, base, c), callers))
        elapsed = time.perf_counter() - started
        server.shutdown()
        app.extensions["intake"].db.dispose()
        drop()
    every = [s for timings in results for _, s in timings]
    first = [s for timings in results for n, s in timings if n == 0]
    kind = make_url(db_url).get_backend_name()
    print(
        f"{kind}: {args.callers} callers x {len(TEXTS)} texts, {args.threads} at once, "
        f"{len(every) / elapsed:.0f} texts/s"
    )
    print(summary("first text", first))
    print(summary("every text", every))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
