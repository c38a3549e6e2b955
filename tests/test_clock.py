"""One clock: the line reads the time only from intake/infra/clock.py, and a test moves it."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from intake import scheduler
from intake.core.models import Caller, Case, Message
from intake.infra.clock import SettableClock
from intake.oncall import roster
from tests.conftest import twilio_settings
from tests.test_sms_webhook import intake

ROOT = Path(__file__).resolve().parents[1]
ANA, BEN = "+12125550111", "+12125550122"
WALL_CLOCK = {"utcnow", "now", "utcfromtimestamp", "today"}  # datetime's readers of the wall


def wall_clock_reads(path: Path) -> list[str]:
    """Calls in a file that read the wall clock: utcnow(), datetime.now(),
    datetime.utcnow(), datetime.today(), date.today() and time.time()."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id == "utcnow":
            found.append(f"{path.relative_to(ROOT)}:{node.lineno} utcnow()")
        elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            owner, name = func.value.id, func.attr
            if (owner in ("datetime", "date") and name in WALL_CLOCK) or (
                owner == "time" and name == "time"
            ):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {owner}.{name}()")
            elif name == "utcnow":
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {owner}.utcnow()")
    return found


def test_only_the_clock_module_reads_the_wall_clock():
    files = [*ROOT.glob("intake/**/*.py"), *ROOT.glob("flows/**/*.py")]
    reads = [
        read
        for path in sorted(files)
        if path != ROOT / "intake" / "infra" / "clock.py" and "migrations" not in path.parts
        for read in wall_clock_reads(path)
    ]
    assert reads == [], (
        "read the time from the line's clock (intake/infra/clock.py):\n" + "\n".join(reads)
    )


# Where a test stands for the world outside the line, which runs on the wall clock: the fake
# Twilio's own records, and worker processes killed for real on the system clock.
OUTSIDE = {"tests/fake_twilio.py", "tests/test_fake_twilio.py", "tests/test_two_hosts.py"}


def test_tests_move_the_lines_clock_and_read_no_wall_clock():
    reads = [
        read
        for path in sorted(ROOT.glob("tests/**/*.py"))
        if str(path.relative_to(ROOT)) not in OUTSIDE
        for read in wall_clock_reads(path)
    ]
    assert reads == [], "take the time from the line's clock (the `clock` fixture):\n" + (
        "\n".join(reads)
    )


def test_the_source_check_finds_each_way_of_reading_the_wall_clock(tmp_path):
    source = tmp_path / "reads.py"
    source.write_text(
        "import time\nfrom datetime import UTC, datetime\n"
        "a = utcnow()\nb = datetime.now(UTC)\nc = datetime.utcnow()\nd = time.time()\n"
        "e = models.utcnow()\nf = time.monotonic()\ng = line.clock.now()\n"
    )
    original = ROOT
    try:
        globals()["ROOT"] = tmp_path
        reads = wall_clock_reads(source)
    finally:
        globals()["ROOT"] = original
    assert [r.split(" ", 1)[1] for r in reads] == [
        "utcnow()",
        "datetime.now()",
        "datetime.utcnow()",
        "time.time()",
        "models.utcnow()",
    ]


def test_a_settable_clock_stands_still_until_moved_and_never_goes_back():
    clock = SettableClock(datetime(2026, 3, 4, 6, 30, tzinfo=UTC))
    assert clock.now() == clock.now() == datetime(2026, 3, 4, 6, 30, tzinfo=UTC)
    assert clock.advance(minutes=5) == datetime(2026, 3, 4, 6, 35, tzinfo=UTC)
    assert clock.now() == datetime(2026, 3, 4, 6, 35, tzinfo=UTC)
    with pytest.raises(ValueError):
        clock.advance(timedelta(seconds=-1))
    with pytest.raises(ValueError):
        SettableClock(datetime(2026, 3, 4, 6, 30))  # naive: whose time would it be?


@pytest.fixture
def settings(db_url, tmp_path, fake):
    return twilio_settings(db_url, tmp_path, fake)


def test_what_the_line_writes_is_stamped_by_its_clock(line, phone, clock):
    """A case opened, the texts kept, the caller's last word: their times are the line's
    clock's, not the wall's."""
    then = clock.set(datetime(2026, 3, 4, 6, 30, tzinfo=UTC))
    phone.text("my daughter is missing")
    clock.advance(minutes=2)
    phone.text("Mia")
    with line.db.sessions() as s:
        case = s.scalars(select(Case)).one()
        kept = [m.created_at for m in s.scalars(select(Message).order_by(Message.id))]
        caller = s.scalars(select(Caller)).one()
    assert case.created_at == then
    assert kept[0] == then and kept[-1] == then + timedelta(minutes=2)
    assert caller.created_at == then and caller.updated_at == then + timedelta(minutes=2)


def test_the_workers_tick_escalates_when_its_clock_has_moved_past_the_wait(
    line, phone, fake, transport, clock
):
    """The scheduler's tick takes its time from the line's clock: moving the clock past
    the wait pages the next person, with no sleep and no `now` handed in by the test."""
    with line.db.transaction() as s:
        roster.add(s, "Ana", ANA, "sms", [])
        roster.add(s, "Ben", BEN, "sms", [])
    intake(phone)
    scheduler.dispatch_job(line, transport)
    assert [m["to"] for m in fake.messages if m["to"] in (ANA, BEN)] == [ANA]
    clock.advance(line.settings.escalation_wait - timedelta(seconds=1))
    scheduler.dispatch_job(line, transport)
    assert [m["to"] for m in fake.messages if m["to"] in (ANA, BEN)] == [ANA]
    clock.advance(seconds=2)
    scheduler.dispatch_job(line, transport)
    assert [m["to"] for m in fake.messages if m["to"] in (ANA, BEN)] == [ANA, BEN]
