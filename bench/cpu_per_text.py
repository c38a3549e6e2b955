"""CPU per text of one process: whole intakes through the WSGI app, no HTTP server.

    python bench/cpu_per_text.py [--callers 40] [--rounds 3] [--database-url URL]

Plays `--callers` whole intakes (the 12 texts of bench/line_bench.py) one after the other
through Flask's test client (signed requests, the real turn threads), with one person on
the roster, and prints the CPU (time.process_time) per text, the median over rounds, and
the statements per text (before_cursor_execute). Fast enough to measure one change: the
full picture under gunicorn is `make bench`. With a PostgreSQL URL (the maintenance
database) it creates and drops a database of its own.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.line_bench import TEXTS, TOKEN, Databases, add_on_call_person  # noqa: E402
from intake.app import create_app  # noqa: E402
from intake.infra.config import Settings  # noqa: E402
from intake.infra.migrate import upgrade  # noqa: E402
from intake.simulator import phone as simulator

KEY = "0" * 43 + "="  # a valid Fernet key for the bench only


def play(client, settings: Settings, caller: str, counts: list[int], seen: list) -> None:
    """One caller's whole intake; adds the statements of each text to `counts`."""
    for n, body in enumerate(TEXTS):
        params = simulator.sms_params(caller, body)
        headers = simulator.signed_headers(settings, simulator.SMS_PATH, params)
        seen.clear()
        response = client.post(simulator.SMS_PATH, data=params, headers=headers)
        if response.status_code != 200 or "<Response" not in response.get_data(as_text=True):
            raise SystemExit(f"bad answer {response.status_code}")
        counts[n] += len(seen)


def fresh_database(url: str | None, folder: Path):
    """A migrated database for this run (SQLite in `folder`, or one of the bench's own on
    the PostgreSQL server at `url`), and how to drop it."""
    if url is None:
        path = folder / "bench.db"
        upgrade(f"sqlite:///{path}")
        return f"sqlite:///{path}", lambda: None
    databases = Databases(url)
    return databases.create("cpu"), databases.drop_all


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--callers", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        db_url, drop = fresh_database(args.database_url, Path(folder))
        try:
            add_on_call_person(db_url)
            settings = Settings(
                database_url=db_url,
                public_base_url="http://bench.invalid",
                twilio_auth_token=TOKEN,
                secret_key="bench",
                instance_dir=Path(folder),
                data_keys=(KEY,),
            )
            app = create_app(settings)
            logging.getLogger("intake").setLevel(logging.WARNING)
            seen: list = []
            event.listen(
                app.extensions["intake"].db.engine,
                "before_cursor_execute",
                lambda *a: seen.append(a[2]),
            )
            client = app.test_client()
            play(client, settings, "+12125559999", [0] * len(TEXTS), seen)  # warm up
            per_text, counts = [], [0] * len(TEXTS)
            for r in range(args.rounds):
                started = time.process_time()
                for c in range(args.callers):
                    play(client, settings, f"+1212{r:02d}{c:05d}"[:12], counts, seen)
                used = time.process_time() - started
                per_text.append(used * 1000 / (args.callers * len(TEXTS)))
            app.extensions["intake"].db.dispose()
        finally:
            drop()
    rounds = ", ".join(f"{ms:.2f}" for ms in per_text)
    print(f"CPU ms/text: median {statistics.median(per_text):.2f} (rounds: {rounds})")
    every = args.rounds * args.callers
    print("statements per text:", " ".join(f"{c / every:.1f}" for c in counts))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
