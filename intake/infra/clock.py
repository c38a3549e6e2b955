"""The clock: the one place that reads the wall clock (the system clock, or a settable one).

The line carries a `Clock`; a webhook, a scheduler job or a CLI command reads `now()` once
and passes that `now` down. A table's `created_at` default asks the clock its database was
given (`stamp`), so a test that moves its clock moves every time the line writes.
Monotonic timers for durations and timeouts stay `time.monotonic()`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The time now, timezone-aware UTC."""
        ...


class SystemClock:
    """The wall clock: what production runs on."""

    def now(self) -> datetime:
        return datetime.now(UTC)


SYSTEM = SystemClock()


class SettableClock:
    """A clock that stands still until a test moves it forward (or sets it).

    It starts at `at`, or at the wall clock's time when it is made: what the line stamps
    then agrees with the outside world's clocks (a browser's cookie expiry, an
    authenticator app)."""

    def __init__(self, at: datetime | None = None):
        at = at or SYSTEM.now()
        if at.tzinfo is None:
            raise ValueError("a clock keeps UTC: give it a timezone-aware time")
        self._at = at.astimezone(UTC)

    def now(self) -> datetime:
        return self._at

    def advance(self, by: timedelta | None = None, **parts: float) -> datetime:
        """Move forward by `by` (or timedelta(**parts)); the time it is afterwards."""
        step = by if by is not None else timedelta(**parts)
        if step < timedelta(0):
            raise ValueError("time does not run backwards")
        self._at += step
        return self._at

    def set(self, at: datetime) -> datetime:
        """Stand at `at` (timezone-aware)."""
        if at.tzinfo is None:
            raise ValueError("a clock keeps UTC: give it a timezone-aware time")
        self._at = at.astimezone(UTC)
        return self._at


def attach(engine, clock: Clock) -> None:
    """Give an engine the clock its tables' default times come from."""
    engine.dialect.intake_clock = clock


def stamp(context=None) -> datetime:
    """A column default: now, by the clock of the database being written (else the system's).

    SQLAlchemy passes the execution context, whose dialect carries the clock (`attach`)."""
    dialect = getattr(context, "dialect", None)
    return getattr(dialect, "intake_clock", SYSTEM).now()


def of(session) -> Clock:
    """The clock of the database a session writes to (for a row that no caller timed)."""
    return getattr(session.get_bind().dialect, "intake_clock", SYSTEM)
