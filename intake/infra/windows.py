"""On-call windows in the line's local time: "weekdays 17:00-09:00", "sat,sun all day".

Case-insensitive; spaces, en/em dashes and "to" all separate. Days (mon..sun, full names,
"weekdays", "weekends", "daily"/"every day", ranges "fri-mon" that wrap, lists "mon,wed,fri")
and times ("17:00-09:00", "5pm-9am", "all day", "always"); no days = every day, no times =
all day. 24:00 may only end a window. Bare hours are 24-hour ("9-17", "22-6"), but a bare
pair that wraps with both hours <= 12 ("9-5") is ambiguous, and am/pm goes on both times or
neither ("10-11pm" is refused). A window ending before it starts runs past midnight and
belongs to the day it starts on. Wall-clock times, so DST nights need no special care.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import NoReturn

MIDNIGHT = time(0)
DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
EVERY_DAY = frozenset(range(7))
_GROUPS = {"weekday": range(5), "weekend": (5, 6), "daily": EVERY_DAY, "everyday": EVERY_DAY}
_ALL_DAY = ("allday", "always", "24/7")
_CLOCK = re.compile(r"(\d{1,2})(?:[:.](\d{2}))?(am|pm)?")


@dataclass(frozen=True)
class Window:
    """Days (0=Monday..6=Sunday) and a local time span; all-day windows use 00:00-00:00."""

    days: frozenset[int]
    start: time
    end: time
    all_day: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "days", frozenset(self.days))
        if not self.days or not self.days <= EVERY_DAY:
            raise ValueError("days must be a non-empty set of 0 (Monday) to 6 (Sunday)")
        if any(t.second or t.microsecond or t.tzinfo for t in (self.start, self.end)):
            raise ValueError("start and end must be whole minutes without a time zone")
        if self.all_day != (self.start == self.end) or (self.all_day and self.start != MIDNIGHT):
            raise ValueError("all-day windows are 00:00-00:00; others need start != end")

    def __str__(self) -> str:
        """Canonical text, e.g. "mon-fri 17:00-09:00" or "sat,sun all day"."""
        if self.all_day:
            return "always" if self.days == EVERY_DAY else f"{_days_text(self.days)} all day"
        end = "24:00" if self.end == MIDNIGHT else f"{self.end:%H:%M}"
        return f"{_days_text(self.days)} {self.start:%H:%M}-{end}"


ALWAYS = Window(EVERY_DAY, MIDNIGHT, MIDNIGHT, all_day=True)


def _days_text(days: frozenset[int]) -> str:
    """Days as "daily", or runs like "mon-fri", "sat,sun", "fri-mon"."""
    if days == EVERY_DAY:
        return "daily"
    parts = []
    for first in sorted(d for d in days if (d - 1) % 7 not in days):
        last = first
        while (last + 1) % 7 in days:
            last = (last + 1) % 7
        names = [DAY_NAMES[first][:3], DAY_NAMES[last][:3]]
        size = (last - first) % 7 + 1
        parts.append(names[0] if size == 1 else ",".join(names) if size == 2 else "-".join(names))
    return ",".join(parts)


def _fail(text: str, problem: str, example: str = "weekdays 17:00-09:00") -> NoReturn:
    """Raise a ValueError that says what was wrong and shows a working example."""
    raise ValueError(f'Can\'t read on-call window "{text}": {problem}. Write it like "{example}".')


def _normalise(text: str) -> str:
    """Lower-case and squeeze the separators so tokens split on whitespace."""
    s = text.strip().lower().replace("–", "-").replace("—", "-").replace(".m.", "m")  # a.m.
    s = re.sub(r"\s*(?:-|\bto\b)\s*", "-", s)
    s = re.sub(r"\s*,\s*", ",", s)
    s = re.sub(r"\s+(am|pm)\b", r"\1", s)
    s = re.sub(r"\bevery\s*day\b", "daily", s)
    return re.sub(r"\ball-?\s*day\b", "allday", s)


def _day(word: str, text: str) -> int:
    """One day name ("mon", "monday", "tues", "mondays") as 0..6."""
    for index, name in enumerate(DAY_NAMES):
        if len(word) >= 3 and (name.startswith(word) or word == name + "s"):
            return index
    _fail(text, f'"{word}" is not a day', "mon-fri 17:00-09:00")


def _parse_days(words: list[str], text: str) -> frozenset[int]:
    """Day words, groups, ranges and lists as a set of 0..6."""
    days: set[int] = set()
    for item in filter(None, ",".join(words).split(",")):
        if item.removesuffix("s") in _GROUPS:  # "weekdays" or "weekday"
            days.update(_GROUPS[item.removesuffix("s")])
        elif "-" in item:
            first, _, last = item.partition("-")
            start, stop = _day(first, text), _day(last, text)
            days.update((start + i) % 7 for i in range((stop - start) % 7 + 1))
        else:
            days.add(_day(item, text))
    if not days:
        _fail(text, "no days given", "mon,wed,fri 09:00-17:00")
    return frozenset(days)


def _clock(part: str, text: str) -> tuple[int, bool, bool]:
    """A time as (minutes after midnight 0..1440, has am/pm, is a bare hour)."""
    match = _CLOCK.fullmatch(part)
    if not match:
        _fail(text, f'"{part}" is not a time', "weekdays 5pm-9am")
    hour, minute, meridiem = int(match[1]), int(match[2] or 0), match[3]
    fits = 1 <= hour <= 12 if meridiem else hour < 24 or (hour, minute) == (24, 0)
    if not fits or minute > 59:
        _fail(text, f'"{part}" is not a time of day', "weekdays 17:00-09:00")
    if meridiem:
        hour = hour % 12 + (12 if meridiem == "pm" else 0)
    return hour * 60 + minute, bool(meridiem), not (match[2] or meridiem)


def _parse_times(token: str, text: str) -> tuple[time, time]:
    """A range like "17:00-09:00" or "5pm-9am" as (start, end); all day is 00:00-00:00."""
    parts = token.split("-")
    if len(parts) != 2:
        _fail(text, f'"{token}" is not a time range', "weekdays 17:00-09:00")
    (start, start_ampm, start_bare), (end, end_ampm, end_bare) = (_clock(p, text) for p in parts)
    if start_ampm != end_ampm:
        _fail(text, "am/pm must be on both times or neither", "daily 10pm-11pm")
    if start_bare and end_bare and end < start <= 12 * 60:
        _fail(text, f'"{token}" is ambiguous: add am/pm or use 24-hour times', "9am-5pm")
    if start == 24 * 60:
        _fail(text, "24:00 can only end a window", "daily 22:00-24:00")
    if (start, end) == (0, 24 * 60):
        return MIDNIGHT, MIDNIGHT
    if start == end % (24 * 60):
        _fail(text, f'"{token}" starts and ends at the same time', "daily all day")
    end %= 24 * 60
    return time(start // 60, start % 60), time(end // 60, end % 60)


def parse_window(text: str) -> Window:
    """Read one window such as "weekdays 17:00-09:00"; ValueError with an example if not."""
    tokens = _normalise(text).split()
    if not tokens:
        _fail(text, "it is empty")
    times = [t for t in tokens if t in _ALL_DAY or any(c.isdigit() for c in t)]
    if len(times) > 1:
        _fail(text, "more than one time range; give each its own window")
    day_words = [t for t in tokens if t not in times]
    days = _parse_days(day_words, text) if day_words else EVERY_DAY
    token = times[0] if times else "allday"
    start, end = (MIDNIGHT, MIDNIGHT) if token in _ALL_DAY else _parse_times(token, text)
    return Window(days, start, end, all_day=start == end)


def parse_windows(texts: list[str]) -> list[Window]:
    """Read several windows; the first bad one raises ValueError."""
    return [parse_window(text) for text in texts]


def covers(window: Window, moment: datetime) -> bool:
    """True if the window covers this aware moment, read on its own wall clock."""
    if moment.utcoffset() is None:  # naive datetimes are usually UTC by mistake
        raise ValueError("moment must be timezone-aware, in the line's local time zone")
    day, now = moment.weekday(), moment.time()
    if window.all_day:
        return day in window.days
    if window.start < window.end:
        return day in window.days and window.start <= now < window.end
    if now >= window.start:
        return day in window.days
    return now < window.end and (day - 1) % 7 in window.days


def on_call(windows: list[Window], moment: datetime) -> bool:
    """True if there are no windows (always on call) or any window covers the moment."""
    return any(covers(window, moment) for window in windows or [ALWAYS])


def end_of(window: Window, moment: datetime) -> datetime | None:
    """When the window covering this aware moment ends, on the moment's own wall clock (the
    moment itself when the window does not cover it; None for a window that never ends)."""
    if not covers(window, moment):
        return moment
    day = moment.date()
    if window.all_day:
        for _ in range(7):
            day += timedelta(days=1)
            if day.weekday() not in window.days:
                return datetime.combine(day, MIDNIGHT, tzinfo=moment.tzinfo)
        return None
    if window.end <= window.start and moment.time() >= window.start:
        day += timedelta(days=1)  # runs past midnight: it ends tomorrow
    return datetime.combine(day, window.end, tzinfo=moment.tzinfo)
