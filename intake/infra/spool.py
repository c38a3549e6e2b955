"""A durable local spool: what a process answered from memory, on this host's disk before
the answer goes out, until the database has it.

One SQLite file per host (INTAKE_SPOOL_DIR, default instance/spool/), shared by every
process of the host: WAL mode with synchronous=FULL, so an entry whose `put` returned is
on disk (fsync) and survives a killed process or a reload. The file is the owner's only
(0600, in a 0700 folder) and each entry's personal data is a Fernet token of the line's
data keys (intake/infra/crypto.py); its key (a MessageSid) and times are in clear.

An entry is taken for replay with a lease (a process that dies while replaying leaves it
for another after LEASE), and deleted only after the database has committed it. Replay is
intake/channels/fallbacks.py: this module only stores.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.fernet import MultiFernet

from intake.infra import crypto
from intake.infra.clock import SYSTEM, Clock
from intake.infra.logs import event as log_event

FILE = "spool.sqlite3"
LEASE = 15.0  # seconds a replay holds an entry (two replays of one are safe: only slower)
BUSY_WAIT = 5.0  # seconds SQLite waits for another process's write (they take microseconds)
# Processes opening the spool at once (their first texts during a stall, each on a turn
# thread of its own) can find it locked while another turns WAL on, which SQLite reports
# at once, without waiting: a write is tried again on a fresh connection, for at most
# PUT_TRIES * PUT_PAUSE seconds.
PUT_TRIES, PUT_PAUSE = 20, 0.05

_SCHEMA = """
CREATE TABLE IF NOT EXISTS spooled (
    key TEXT PRIMARY KEY,               -- what the database de-duplicates on: sms:<MessageSid>
    token TEXT NOT NULL,                -- Fernet: the entry's data (JSON), never in clear
    answered_at REAL NOT NULL,          -- Unix time the caller was answered from memory
    held_until REAL NOT NULL DEFAULT 0, -- a replay has it until then
    tries INTEGER NOT NULL DEFAULT 0
)
"""


@dataclass(frozen=True)
class Entry:
    """One spooled thing, decrypted: its key, when it was answered, and its data."""

    key: str
    answered_at: float
    data: dict[str, Any]
    tries: int = 0


class Spool:
    """The host's spool file; each thread of each process opens its own connection."""

    def __init__(self, folder: Path, ring: MultiFernet, clock: Clock = SYSTEM):
        self.folder, self.ring = Path(folder), ring
        self.clock = clock  # answered and held-until times, in seconds since the epoch
        self.path = self.folder / FILE
        self._local = threading.local()

    def put(self, key: str, data: dict[str, Any], answered_at: float | None = None) -> bool:
        """Write an entry durably (fsync'd when this returns); False if `key` was already
        spooled (a retry of the same text)."""
        token = crypto.encrypt(self.ring, json.dumps(data, separators=(",", ":")))
        row = (key, token, self._epoch() if answered_at is None else answered_at)
        for _ in range(PUT_TRIES - 1):
            try:
                return self._insert(row)
            except sqlite3.OperationalError as error:
                if not _busy(error):
                    raise
                self.close()  # a fresh connection: this one may be half set up
                time.sleep(PUT_PAUSE)
        return self._insert(row)

    def _insert(self, row: tuple[str, str, float]) -> bool:
        with self._transaction() as conn:
            added = conn.execute(
                "INSERT OR IGNORE INTO spooled (key, token, answered_at) VALUES (?, ?, ?)", row
            )
        return added.rowcount == 1

    def take(self, limit: int = 100, lease: float = LEASE) -> list[Entry]:
        """Entries no other replay holds, oldest first, held for `lease` seconds.

        An entry that cannot be decrypted (its key gone from INTAKE_DATA_KEYS) is logged,
        held and skipped, never deleted."""
        now = self._epoch()
        with self._transaction() as conn:
            rows = conn.execute(
                "SELECT key, token, answered_at, tries FROM spooled WHERE held_until <= ?"
                " ORDER BY answered_at LIMIT ?",
                (now, limit),
            ).fetchall()
            conn.executemany(
                "UPDATE spooled SET held_until = ?, tries = tries + 1 WHERE key = ?",
                [(now + lease, row[0]) for row in rows],
            )
        entries = []
        for key, token, answered_at, tries in rows:
            try:
                data = json.loads(crypto.decrypt(self.ring, token))
            except crypto.DataKeyError:
                log_event("spool.unreadable_entry", level=40, key=key)
                continue
            entries.append(Entry(key, answered_at, data, tries + 1))
        return entries

    def done(self, key: str) -> None:
        """The database has committed this entry: it goes."""
        with self._transaction() as conn:
            conn.execute("DELETE FROM spooled WHERE key = ?", (key,))

    def release(self, keys: list[str], after: float = 0.0) -> None:
        """Hand entries back (the database did not take them) for a replay in `after` s."""
        with self._transaction() as conn:
            conn.executemany(
                "UPDATE spooled SET held_until = ? WHERE key = ?",
                [(self._epoch() + after, key) for key in keys],
            )

    def _epoch(self) -> float:
        return self.clock.now().timestamp()

    def count(self) -> int:
        """Entries waiting (0 when there is no spool file yet: nothing was ever spooled)."""
        if not self.path.exists():
            return 0
        return self._connection().execute("SELECT count(*) FROM spooled").fetchone()[0]

    def close(self) -> None:
        """Close this thread's connection (others close when their thread ends)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT on this thread's connection (ROLLBACK on an error)."""
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            if conn.in_transaction:  # an I/O error has rolled it back already
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _connection(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use (and again in a forked child)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            return conn
        self._create()
        conn = sqlite3.connect(self.path, timeout=BUSY_WAIT, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")  # every COMMIT is fsync'd before it returns
        conn.execute(_SCHEMA)
        self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    def _create(self) -> None:
        """The folder (0700) and the file (0600) before SQLite opens it: its -wal and
        -shm files take the file's permissions."""
        crypto.make_private_dir(self.folder)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        os.close(fd)


def _busy(error: sqlite3.OperationalError) -> bool:
    """Another process holds the file for now: SQLite's 'database is locked' or 'busy', or
    the 'disk I/O error' it reports when one process opens the WAL as another's last
    connection closes it. A real disk fault outlasts the retries and is raised."""
    words = str(error).lower()
    return any(word in words for word in ("locked", "busy", "disk i/o error"))
