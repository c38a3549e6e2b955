"""Times as staff read them: in the line's time zone, with the zone named."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo


def local_time(moment: datetime, zone: ZoneInfo) -> str:
    """'21:40 EST': the clock time in this zone and the zone's short name."""
    return moment.astimezone(zone).strftime("%H:%M %Z")
