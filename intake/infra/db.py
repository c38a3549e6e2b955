"""The database: one engine per app, one short transaction per unit of work."""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from cryptography.fernet import MultiFernet
from sqlalchemy import URL, Engine, Update, bindparam, create_engine, event, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.attributes import set_committed_value

from intake.infra import crypto
from intake.infra.clock import SYSTEM, Clock
from intake.infra.clock import attach as attach_clock
from intake.infra.logs import event as log_event

# Twilio waits 15 s for a webhook's answer. A database that hangs must fail fast enough
# that the emergency fallback still reaches the caller in time (the webhook itself waits
# less: intake/infra/deadline.py).
WAIT_SECONDS = 4
# The client's own bound on any one wait for the server (a statement, a COMMIT, a ping):
# the server's timeouts do nothing when packets are held on the way, and a proxy's kernel
# ACKs the bytes, so neither TCP keepalive nor tcp_user_timeout fires. A little longer
# than statement_timeout, so a slow server that still answers says so itself.
SOCKET_SECONDS = WAIT_SECONDS + 1
# Dead peers and unacknowledged sends are noticed by the kernel too (libpq's names).
TCP_BOUNDS = {
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "tcp_user_timeout": SOCKET_SECONDS * 1000,
}
# A pooled connection idle longer than this is pinged before use (a restarted server or a
# proxy's idle cut leaves it dead); one used moments ago is not, which saves a round trip
# per text under load. A connection that died since is a failed turn: the caller hears
# the fallback, the words are kept later (Turns.later), and the pool drops its connections.
PING_AFTER_IDLE = 10.0


class DatabaseBusy(Exception):
    """The database did not let us write in time."""


def make_engine(url: str) -> Engine:
    """An engine for SQLite (serialised writers) or PostgreSQL (psycopg 3)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    if parsed.drivername == "postgresql":
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    engine = create_engine(
        url,
        pool_size=10,
        max_overflow=10,
        pool_timeout=WAIT_SECONDS,
        hide_parameters=True,  # an error in the log must not carry a child's name
        connect_args={
            "connect_timeout": WAIT_SECONDS,
            "options": f"-c statement_timeout={WAIT_SECONDS * 1000} "
            f"-c lock_timeout={WAIT_SECONDS * 1000}",
            **TCP_BOUNDS,
        },
    )
    event.listen(engine, "do_connect", _bounded_connect)
    event.listen(engine, "checkin", _note_idle_since)
    event.listen(engine, "checkout", _ping_if_idle)
    return engine


def _note_idle_since(_dbapi_connection, record) -> None:
    if record is not None:
        record.info["idle_since"] = time.monotonic()


def _ping_if_idle(dbapi_connection, record, _proxy) -> None:
    """SQLAlchemy's pre-ping, only for a connection idle past PING_AFTER_IDLE: a dead one
    is replaced by a fresh connection before the turn begins."""
    idle_since = record.info.get("idle_since")
    if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE:
        return
    try:
        dbapi_connection.execute("SELECT 1")
        dbapi_connection.rollback()
    except psycopg.Error as error:
        raise DisconnectionError("the pooled connection is gone") from error


def _bounded_connect(_dialect, _record, cargs, cparams):
    """Every PostgreSQL connection is a BoundedConnection (no wait without an end)."""
    return BoundedConnection.connect(*cargs, **cparams)


class BoundedConnection(psycopg.Connection):
    """A psycopg connection whose every wait for the server ends after SOCKET_SECONDS.

    Past it the connection is closed (its state is unknown: a statement may be half
    sent), so SQLAlchemy's pool throws it away, and the thread that waited is free.
    """

    def wait(self, gen, interval: float = 0.1, timeout: float | None = None):
        try:
            return super().wait(gen, interval, SOCKET_SECONDS if timeout is None else timeout)
        except psycopg.errors._WaitTimeout:  # noqa: SLF001 - psycopg's own timeout signal
            self.pgconn.finish()  # not close(): this thread holds the connection's lock
            raise psycopg.OperationalError(
                f"the database did not answer within {SOCKET_SECONDS} s"
            ) from None


def _sqlite_engine(url: str) -> Engine:
    """SQLite with WAL and BEGIN IMMEDIATE, so each transaction holds the write lock.

    That is SQLite's form of locking the caller's conversation row: two messages from
    one caller are handled one after the other, never interleaved.
    """
    database = make_url(url).database
    if database and database != ":memory:":
        try:
            _create_private(Path(database))
        except OSError:
            pass  # opening the file will fail, and say so, at first use
    engine = create_engine(
        url,
        connect_args={"timeout": WAIT_SECONDS, "check_same_thread": False},
        hide_parameters=True,  # an error in the log must not carry a child's name
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # let SQLAlchemy's BEGIN below decide
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={WAIT_SECONDS * 1000}")
        cursor.close()

    writers = WriterLock(None if database in (None, "", ":memory:") else Path(database))

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        if not writers.acquire(timeout=WAIT_SECONDS):
            raise DatabaseBusy("another write held the database too long")
        connection.info["holds_writer_lock"] = True
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except Exception:
            if connection.info.pop("holds_writer_lock", False):  # a rollback may have freed it
                writers.release()
            raise

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _on_end(connection):
        if connection.info.pop("holds_writer_lock", False):
            writers.release()

    return engine


class WriterLock:
    """One writer at a time across the threads and the processes of one SQLite file.

    SQLite's own busy handler sleeps in growing steps (1, 2, 5, 10 ms and on), so under
    load a waiting process slept far longer than the write it waited for took. Threads
    queue on a thread lock; processes on an flock of `<database>.lock`, tried every
    FLOCK_POLL seconds and released by closing the file, which the kernel also does for a
    process that dies. Where the file cannot be locked (some network file systems),
    processes wait as before, through SQLite's busy handler."""

    def __init__(self, database: Path | None):
        self._threads = threading.Lock()
        self._path = None if database is None else database.with_name(database.name + ".lock")
        self._fd: int | None = None

    def acquire(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        if not self._threads.acquire(timeout=timeout):
            return False
        locked = False
        try:
            locked = self._path is None or self._lock_file(deadline)
            return locked
        finally:
            if not locked:  # timed out or failed: the next thread may try
                self._threads.release()

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)  # the flock goes with it
        self._threads.release()

    def _lock_file(self, deadline: float) -> bool:
        try:
            fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as error:
            return self._no_file_lock(error)
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    self._fd, fd = fd, None
                    return True
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        return False
                    time.sleep(FLOCK_POLL)
                except OSError as error:
                    return self._no_file_lock(error)
        finally:
            if fd is not None:
                os.close(fd)

    def _no_file_lock(self, error: OSError) -> bool:
        """The file cannot be locked here: from now on SQLite's busy handler does it."""
        log_event("db.no_file_lock", level=30, reason=error.strerror or type(error).__name__)
        self._path = None
        return True


FLOCK_POLL = 0.0005  # seconds between two tries of another process's write lock


def _create_private(path: Path) -> None:
    """A new SQLite file readable by its owner only, in a folder only its owner enters.

    SQLite gives the -wal and -shm files the database file's own permissions.
    """
    folder = path.parent
    if not folder.exists():
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(folder, 0o700)  # mkdir's mode passes through the umask
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)


class Database:
    """The app's engine and session factory; `keys` encrypt the children's data."""

    def __init__(self, url: str, keys: MultiFernet | None = None, clock: Clock = SYSTEM):
        self.engine = make_engine(url)
        attach_clock(self.engine, clock)  # the tables' default times (intake/infra/clock.py)
        if keys is not None:
            crypto.attach(self.engine, keys)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.closed = False  # dispose(): the line is shutting down

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One session in one transaction: committed on success, rolled back on error."""
        with self.sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        """The line is shutting down: connections closed, and work kept for later (the
        settling thread) stops asking for new ones."""
        self.closed = True
        self.engine.dispose()


def write_through(session: Session, entity, **values) -> None:
    """UPDATE one row's columns to `values` now, by a statement built once, and show them
    on the entity as committed: the ORM's flush of a caller and a case cost a text more
    CPU than all its other writes (BENCHMARKS.md). For the hot path only."""
    table = entity.__table__
    names = tuple(sorted(values))
    statement = _WRITES.get((table.name, names))
    if statement is None:
        settings = {name: bindparam(f"new_{name}") for name in names}
        statement = update(table).where(table.c.id == bindparam("row_id")).values(settings)
        _WRITES[(table.name, names)] = statement
    params = {f"new_{name}": value for name, value in values.items()}
    session.execute(statement, {"row_id": entity.id, **params})
    for name, value in values.items():
        set_committed_value(entity, name, value)


_WRITES: dict[tuple[str, tuple[str, ...]], Update] = {}


def describe_failure(error: SQLAlchemyError, url: URL) -> str:
    """One plain sentence for a database that does not answer; never the password."""
    reason = str(getattr(error, "orig", None) or error)
    if url.get_backend_name() == "sqlite":
        return (
            f"The SQLite file {url.database} cannot be opened ({reason.splitlines()[0]}): "
            "check DATABASE_URL and that its folder exists and is writable."
        )
    where = f"{url.host or 'localhost'}:{url.port or 5432}"
    if "does not exist" in reason and f'database "{url.database}"' in reason:
        return (
            f"The database {url.database} does not exist on {where}: "
            f"create it (createdb {url.database}) or fix DATABASE_URL."
        )
    if "does not exist" in reason or "authentication failed" in reason:
        return f"The database server at {where} refused the user or password in DATABASE_URL."
    if "Connection refused" in reason:
        return f"Nothing answers at {where}: is PostgreSQL running, and is DATABASE_URL right?"
    if "resolve host" in reason:
        return f"The database host {url.host} is unknown: check DATABASE_URL."
    return f"The database at {where} did not answer: {_first_line(reason, url)}"


def _first_line(reason: str, url: URL) -> str:
    line = reason.strip().splitlines()[0] if reason.strip() else "no reason given"
    return line.replace(url.password, "***") if url.password else line
