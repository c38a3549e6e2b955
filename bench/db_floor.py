"""What a middle answer's database work costs the line now, and on plain psycopg.

    python bench/db_floor.py [--texts 3000] [--database-url URL]

A middle answer (the child's name, say) reads and writes the same five things every
time: the caller's locked row with the roster check, their current case with the
duplicate-SID check, one UPDATE of the case, one of the caller's conversation state,
and the two messages, then COMMIT. This runs that work two ways against one PostgreSQL
database of its own, alternating, and prints the CPU per text of each (time.thread_time):

- the line: the hot path's own functions (SQLAlchemy, the ORM's Caller and Case);
- plain psycopg: the same statements as SQL strings, plain rows, the same Fernet
  encryption of the same columns.

The difference is what a hot path on plain rows could save (BENCHMARKS.md); the engine,
the words and the request cost the same either way and are not in either figure.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from cryptography.fernet import Fernet, MultiFernet
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.line_bench import Databases  # noqa: E402
from intake.channels import sms as sms_adapter
from intake.conversation import turn as conversations
from intake.core.models import Caller, Case  # noqa: E402
from intake.infra import crypto, db
from intake.infra.db import Database  # noqa: E402

STATE = {
    "status": "active",
    "step": "age_months",
    "answers": {"police_called": True, "child_name": "Mia Lopez"},
    "lang": "en",
    "retries": 0,
    "warned": ["en"],
}
REPLY = "<Response><Message>How old is the child? For example: 7 or 18 months.</Message>"
REPLY += "</Response>"

LOCK = """SELECT id, phone, lang, state, opted_out_at,
  EXISTS (SELECT 1 FROM oncall_people WHERE phone = %(phone)s AND active)
FROM callers WHERE phone = %(phone)s FOR UPDATE"""
CASE_AND_ANSWER = """SELECT cases.id, cases.ref, cases.status, cases.child_name,
  cases.last_seen_when, cases.last_seen_where, cases.description, cases.police_report,
  cases.callback_phone,
  EXISTS (SELECT 1 FROM messages WHERE twilio_sid = %(sid)s),
  (SELECT reply_twiml FROM messages WHERE twilio_sid = %(sid)s)
FROM callers LEFT JOIN cases ON cases.id = (
  SELECT c.id FROM cases c WHERE c.caller_id = callers.id AND c.status IN ('intake', 'open')
  ORDER BY c.id DESC LIMIT 1)
WHERE callers.id = %(caller)s"""
UPDATE_CASE = "UPDATE cases SET child_name = %s WHERE id = %s"
UPDATE_CALLER = "UPDATE callers SET state = %s, lang = %s, updated_at = %s WHERE id = %s"
INSERT_MESSAGE = """INSERT INTO messages (caller_id, case_id, direction, twilio_sid, body,
  num_media, step, reply_twiml, created_at) VALUES (%s, %s, %s, %s, %s, 0, %s, %s, %s)"""


def setup(url: str, ring: MultiFernet, callers: int) -> None:
    """Callers at the age question, each with a case in intake."""
    database = Database(url, ring)
    with database.transaction() as session:
        for n in range(callers):
            now = datetime.now(UTC)
            caller = Caller(phone=phone(n), lang="en", state=STATE, created_at=now)
            session.add(caller)
            session.flush()
            session.add(
                Case(ref=f"B{n:05d}", caller_id=caller.id, status="intake", lang="en",
                     channel="sms", child_name="Mia Lopez", created_at=now)
            )  # fmt: skip
    database.dispose()


def phone(n: int) -> str:
    return f"+1212555{n:04d}"


def the_line(database: Database, n: int, number: str) -> None:
    """The hot path's own functions, as handle_sms calls them for a middle answer."""
    now = datetime.now(UTC)
    with database.sessions() as session:
        caller, _ = conversations.lock_known_caller(session, number)
        case, _ = sms_adapter._case_and_answer(session, caller, f"SMfloor{n}")  # noqa: SLF001
        db.write_through(session, case, child_name="Mia Lopez")
        state = dict(caller.state, retries=n % 2)
        db.write_through(session, caller, state=state, lang="en", updated_at=now)
        session.execute(
            conversations._KEEP_MESSAGES,  # noqa: SLF001
            [
                dict(caller_id=caller.id, case_id=case.id, direction="in",
                     twilio_sid=f"SMfloor{n}", body="Mia Lopez", num_media=0,
                     step="child_name", reply_twiml=REPLY, created_at=now),
                dict(caller_id=caller.id, case_id=case.id, direction="out", twilio_sid=None,
                     body="How old is the child?", num_media=0, step=None,
                     reply_twiml=None, created_at=now),
            ],
        )  # fmt: skip
        session.commit()


def plain(conn: psycopg.Connection, ring: MultiFernet, n: int, number: str) -> None:
    """The same statements on plain psycopg, with the same encryption."""
    now = datetime.now(UTC)
    with conn.transaction():
        row = conn.execute(LOCK, {"phone": number}).fetchone()
        state = json.loads(crypto.decrypt(ring, row[3]))
        case = conn.execute(CASE_AND_ANSWER, {"sid": f"SMplain{n}", "caller": row[0]}).fetchone()
        _ = [crypto.decrypt(ring, value) for value in case[3:9] if value is not None]
        conn.execute(UPDATE_CASE, (crypto.encrypt(ring, "Mia Lopez"), case[0]))
        state["retries"] = n % 2
        conn.execute(UPDATE_CALLER, (crypto.encrypt(ring, json.dumps(state)), "en", now, row[0]))
        with conn.cursor() as cursor:
            cursor.executemany(
                INSERT_MESSAGE,
                [
                    (row[0], case[0], "in", f"SMplain{n}", crypto.encrypt(ring, "Mia Lopez"),
                     "child_name", crypto.encrypt(ring, REPLY), now),
                    (row[0], case[0], "out", None, crypto.encrypt(ring, "How old is the child?"),
                     None, None, now),
                ],
            )  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=3000)
    parser.add_argument("--callers", type=int, default=200)
    parser.add_argument(
        "--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    args = parser.parse_args()
    ring = crypto.key_ring([Fernet.generate_key().decode()])
    databases = Databases(args.database_url)
    try:
        url = databases.create("floor")
        setup(url, ring, args.callers)
        database = Database(url, ring)
        libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        conn = psycopg.connect(libpq)
        ways = {
            "the line (SQLAlchemy, ORM)": lambda n: the_line(database, n, phone(n % args.callers)),
            "plain psycopg": lambda n: plain(conn, ring, n, phone(n % args.callers)),
        }
        for way in ways.values():  # warm up: imports, statement caches, prepared statements
            for n in range(50):
                way(n)
        spent: dict[str, list[float]] = {name: [] for name in ways}
        batch = 100
        for start in range(50, 50 + args.texts, batch):  # alternate batches: same conditions
            for name, way in ways.items():
                began = time.thread_time()
                for n in range(start, start + batch):
                    way(n)
                spent[name].append((time.thread_time() - began) * 1000 / batch)
        conn.close()
        database.dispose()
    finally:
        databases.drop_all()
    print(f"a middle answer's database work, CPU ms per text ({args.texts} texts each way):")
    for name, batches in spent.items():
        print(f"  {name:28} median {statistics.median(batches):.3f}  min {min(batches):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
