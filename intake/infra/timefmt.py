"""Times shown to people: in the line's zone, with the zone named."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo


def local_time(moment: datetime, zone: ZoneInfo) -> str:
    """'2026-11-29 21:40 EST': a stored UTC time as staff in `zone` read it."""
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def clock_time(moment: datetime, zone: ZoneInfo) -> str:
    """'21:40 EST': the clock time alone, for a page about the last few hours."""
    return moment.astimezone(zone).strftime("%H:%M %Z")
