"""Office hours: when a call to the line goes to the office instead.

Set by INTAKE_OFFICE_HOURS (windows in intake/infra/windows.py's syntax, in INTAKE_TIMEZONE) and
INTAKE_OFFICE_NUMBER, always together (intake/infra/config.py checks that).
"""

from __future__ import annotations

from datetime import datetime
from functools import cache

from intake.infra.config import Settings
from intake.infra.windows import Window, covers, parse_windows


def office_open(settings: Settings, moment: datetime) -> bool:
    """True when office hours and number are both set and a window covers the moment,
    read on the wall clock of INTAKE_TIMEZONE. The moment must be timezone-aware."""
    if not (settings.office_hours and settings.office_number):
        return False
    if moment.utcoffset() is None:
        raise ValueError("moment must be timezone-aware (UTC, or any zone)")
    local = moment.astimezone(settings.zone)
    return any(covers(window, local) for window in _windows(settings.office_hours))


@cache
def _windows(texts: tuple[str, ...]) -> tuple[Window, ...]:
    """The settings' canonical window texts, parsed once."""
    return tuple(parse_windows(list(texts)))
