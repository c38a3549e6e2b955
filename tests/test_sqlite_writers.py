"""SQLite's writers across processes (intake/infra/db.py WriterLock): the web processes and
`intake worker` share one file; one writes at a time, and a dead one blocks nobody."""

from __future__ import annotations

import logging
import shutil
import signal
import subprocess
import sys
import textwrap

import pytest
from sqlalchemy import text

from intake.infra.db import DatabaseBusy, make_engine

# A process of its own that writes through the line's engine: `hold` keeps its write
# transaction open until killed; `count N` adds 1 to a counter N times, one transaction
# each, every fifth rolled back and done again.
CHILD = textwrap.dedent(
    """
    import sys, time
    from sqlalchemy import text
    from intake.infra.db import make_engine

    engine = make_engine(sys.argv[1])
    if sys.argv[2] == "hold":
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO counter VALUES (0)"))
            print("held", flush=True)
            time.sleep(60)
    for n in range(int(sys.argv[3])):
        for attempt in (1, 2):
            with engine.connect() as conn, conn.begin() as transaction:
                value = conn.execute(text("SELECT MAX(n) FROM counter")).scalar() or 0
                conn.execute(text("INSERT INTO counter VALUES (:n)"), {"n": value + 1})
                if attempt == 1 and n % 5 == 0:
                    transaction.rollback()
                    continue
            break
    print("done", flush=True)
    """
)


@pytest.fixture
def url(tmp_path, sqlite_template) -> str:
    path = tmp_path / "line.db"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE counter (n INTEGER)"))
    engine.dispose()
    return f"sqlite:///{path}"


def child(url: str, *args: str) -> subprocess.Popen:
    command = [sys.executable, "-c", CHILD, url, *args]
    return subprocess.Popen(command, stdout=subprocess.PIPE, text=True)


def counted(url: str) -> list[int]:
    engine = make_engine(url)
    with engine.connect() as conn:
        values = list(conn.execute(text("SELECT n FROM counter ORDER BY n")).scalars())
    engine.dispose()
    return values


def test_two_processes_writing_at_once_take_turns_and_lose_nothing(url):
    writers = [child(url, "count", "150"), child(url, "count", "150")]
    for writer in writers:
        assert writer.communicate(timeout=120)[0].strip() == "done"
        assert writer.returncode == 0
    assert counted(url) == list(range(1, 301))  # each read-then-write saw the other's


def test_a_process_that_dies_mid_write_holds_up_no_one(url):
    holder = child(url, "hold")
    try:
        assert holder.stdout.readline().strip() == "held"
        engine = make_engine(url)
        with pytest.raises(DatabaseBusy), engine.begin():  # held by the other process
            pass
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
        with engine.begin() as conn:  # its lock went with it
            conn.execute(text("INSERT INTO counter VALUES (7)"))
        engine.dispose()
    finally:
        holder.kill()
        holder.wait(timeout=10)
    assert counted(url) == [7]  # the dead one's write was rolled back


def test_where_the_lock_file_cannot_be_used_sqlite_keeps_writers_apart_itself(
    url, tmp_path, caplog
):
    lock = tmp_path / "line.db.lock"
    lock.unlink()
    lock.mkdir()  # cannot be opened as a file: no flock here
    with caplog.at_level(logging.WARNING, logger="intake"):
        writers = [child(url, "count", "40"), child(url, "count", "40")]
        for writer in writers:
            assert writer.communicate(timeout=120)[0].strip() == "done"
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO counter VALUES (100)"))
        engine.dispose()
    assert counted(url) == [*range(1, 81), 100]
    assert any(r.getMessage() == "db.no_file_lock" for r in caplog.records)
