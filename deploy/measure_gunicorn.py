"""Which gunicorn worker class and counts: a quick load run through gunicorn.conf.py.

Starts `gunicorn -c gunicorn.conf.py wsgi:app` on a fresh PostgreSQL database once per
setting (GUNICORN_CMD_ARGS overrides the file), plays whole intakes (signed SMS webhooks
over real HTTP) from many callers at once, and prints answers per second and the p50, p95
and max latency. No Twilio (local mode): only the webhook path is measured.

With --stuck N, N more callers text all the while with their conversation row locked by
another transaction (a stuck database lock: each of their texts waits the full 4 s before
the line answers from memory); the figures are those of the other callers. This is where
worker classes differ: a sync process is held for those 4 s, a gthread process is not.

    python deploy/measure_gunicorn.py [--callers 24] [--stuck 2] [--database-url URL]

Not a benchmark to compare across machines: a quick look to choose the defaults.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from intake.infra.config import Settings  # noqa: E402
from intake.infra.migrate import upgrade  # noqa: E402
from intake.simulator import phone as simulator  # noqa: E402

TOKEN = "measure-auth-token"
BASE = "https://line.example.org"
TEXTS = simulator.SAMPLE_INTAKE
# --threads 1 for sync: gunicorn.conf.py sets threads, and gunicorn quietly runs a "sync"
# worker with more than one thread as gthread.
SETTINGS = {
    "sync x2": "--worker-class sync --workers 2 --threads 1",
    "sync x4": "--worker-class sync --workers 4 --threads 1",
    "gthread 2x4": "--worker-class gthread --workers 2 --threads 4",
    "gthread 4x4": "--worker-class gthread --workers 4 --threads 4",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--callers", type=int, default=24)
    parser.add_argument(
        "--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    parser.add_argument("--port", type=int, default=18431)
    parser.add_argument("--stuck", type=int, default=0, help="callers whose row is locked")
    args = parser.parse_args()
    admin = create_engine(make_url(args.database_url), isolation_level="AUTOCOMMIT")
    for name, cmd_args in SETTINGS.items():
        database = f"intake_measure_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{database}"'))
        url = make_url(args.database_url).set(database=database)
        try:
            url_text = url.render_as_string(hide_password=False)
            upgrade(url_text)
            figures = measure(url_text, cmd_args, args.port, args.callers, args.stuck)
            print(f"{name:<12} {figures}", flush=True)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))


def measure(database_url: str, cmd_args: str, port: int, callers: int, stuck: int) -> str:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "PUBLIC_BASE_URL": BASE,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "SECRET_KEY": "measure",
        "INTAKE_DATA_KEYS": Fernet.generate_key().decode(),
        "INTAKE_LOG_LEVEL": "WARNING",
        "PORT": str(port),
        "GUNICORN_CMD_ARGS": f"{cmd_args} --access-logfile /dev/null",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stderr=subprocess.DEVNULL,
    )
    try:
        line = f"http://127.0.0.1:{port}"
        _wait_until_up(line)
        settings = Settings(
            database_url=database_url, public_base_url=BASE, twilio_auth_token=TOKEN
        )
        done = threading.Event()
        with _locked(line, settings, database_url, stuck) as stuck_numbers:
            started = time.monotonic()
            with ThreadPoolExecutor(callers + stuck) as pool:
                held = [
                    pool.submit(_keep_texting, line, settings, number, done)
                    for number in stuck_numbers
                ]
                runs = list(pool.map(lambda n: _intake(line, settings, n), range(callers)))
                elapsed = time.monotonic() - started
                done.set()
                waited = [t for future in held for t in future.result()]
    finally:
        server.terminate()
        server.wait(timeout=20)
    times = sorted(t for run in runs for t in run)
    p95 = times[int(len(times) * 0.95) - 1]
    return (
        f"{len(times) / elapsed:6.1f} answers/s  p50 {statistics.median(times) * 1000:6.0f} ms  "
        f"p95 {p95 * 1000:6.0f} ms  max {times[-1] * 1000:6.0f} ms  ({len(times)} answers)"
        + (
            f"; stuck callers: {len(waited)} answers, mean {statistics.mean(waited):.1f} s"
            if waited
            else ""
        )
    )


@contextlib.contextmanager
def _locked(line: str, settings: Settings, database_url: str, stuck: int):
    """Callers whose conversation row another transaction holds, for as long as this lasts."""
    numbers = [f"+1646555{n:04d}" for n in range(stuck)]
    for number in numbers:  # each caller's row exists once they have texted
        _text(requests, line, settings, number, "my son is missing")
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn, conn.begin():
            if numbers:
                query = text("SELECT id FROM callers WHERE phone = ANY(:numbers) FOR UPDATE")
                conn.execute(query, {"numbers": numbers})
            yield numbers
    finally:
        engine.dispose()


def _keep_texting(line: str, settings: Settings, number: str, done: threading.Event) -> list[float]:
    with requests.Session() as http:
        times = []
        while not done.is_set():
            times.append(_text(http, line, settings, number, "hello?"))
        return times


def _text(http, line: str, settings: Settings, sender: str, body: str) -> float:
    """One signed text; how long its answer took."""
    params = simulator.sms_params(sender, body)
    headers = simulator.signed_headers(settings, simulator.SMS_PATH, params)
    started = time.monotonic()
    answer = http.post(line + simulator.SMS_PATH, data=params, headers=headers, timeout=20)
    assert answer.status_code == 200, answer.status_code
    return time.monotonic() - started


def _wait_until_up(line: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(line + "/healthz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise SystemExit("gunicorn did not come up")


def _intake(line: str, settings: Settings, n: int) -> list[float]:
    """One caller's whole intake; the latency of each answer."""
    with requests.Session() as http:
        return [_text(http, line, settings, f"+1212555{n:04d}", body) for body in TEXTS]


if __name__ == "__main__":
    main()
