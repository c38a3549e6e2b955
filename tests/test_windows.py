"""On-call windows: parsing, canonical text, covering across midnight and DST."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from intake.infra.windows import Window, covers, end_of, on_call, parse_window, parse_windows

NY = ZoneInfo("America/New_York")
# January 2026: Mon 5, Tue 6, Wed 7, Thu 8, Fri 9, Sat 10, Sun 11, Mon 12, Tue 13.
DAY = {"mon": 5, "tue": 6, "wed": 7, "thu": 8, "fri": 9, "sat": 10, "sun": 11, "mon2": 12}


def at(day: str, hhmm: str) -> datetime:
    """A New York moment in the week of 5 January 2026."""
    hour, minute = map(int, hhmm.split(":"))
    return datetime(2026, 1, DAY[day], hour, minute, tzinfo=NY)


ACCEPTED = [
    ("weekdays 17:00-09:00", "mon-fri 17:00-09:00"),
    ("  Weekdays   17:00 – 09:00 ", "mon-fri 17:00-09:00"),
    ("mon-fri 17:00-09:00", "mon-fri 17:00-09:00"),
    ("MON - FRI 17:00 to 09:00", "mon-fri 17:00-09:00"),
    ("Monday to Friday 5pm-9am", "mon-fri 17:00-09:00"),
    ("weekdays 5 PM — 9 a.m.", "mon-fri 17:00-09:00"),
    ("17:00-09:00 weekdays", "mon-fri 17:00-09:00"),
    ("weekends all day", "sat,sun all day"),
    ("weekend all-day", "sat,sun all day"),
    ("sat,sun", "sat,sun all day"),
    ("Saturday , Sunday", "sat,sun all day"),
    ("sat sun", "sat,sun all day"),
    ("daily 22:00-06:00", "daily 22:00-06:00"),
    ("every day 18:00-08:00", "daily 18:00-08:00"),
    ("Everyday 18:00—08:00", "daily 18:00-08:00"),
    ("18:00-08:00", "daily 18:00-08:00"),
    ("tue 08:00-12:00", "tue 08:00-12:00"),
    ("Tuesday 8am-12pm", "tue 08:00-12:00"),
    ("tues 8:00am to 12:00pm", "tue 08:00-12:00"),
    ("thurs 9.30-17.30", "thu 09:30-17:30"),
    ("mondays 18:00-22:00", "mon 18:00-22:00"),
    ("mon,wed,fri 00:00-24:00", "mon,wed,fri all day"),
    ("mon wed fri 9am-5pm", "mon,wed,fri 09:00-17:00"),
    ("mon-thu,sat", "mon-thu,sat all day"),
    ("fri-mon", "fri-mon all day"),
    ("fri-mon 8pm-8am", "fri-mon 20:00-08:00"),
    ("sun-mon", "sun,mon all day"),
    ("weekdays,sun 5:30pm-9am", "sun-fri 17:30-09:00"),
    ("all day", "always"),
    ("always", "always"),
    ("ALWAYS", "always"),
    ("24/7", "always"),
    ("daily all day", "always"),
    ("mon-sun", "always"),
    ("sun-sat 00:00-24:00", "always"),
    ("9-17", "daily 09:00-17:00"),
    ("22-6", "daily 22:00-06:00"),
    ("0-24", "always"),
    ("12am-6am", "daily 00:00-06:00"),
    ("12pm-1pm", "daily 12:00-13:00"),
    ("12:30am-11:59pm", "daily 00:30-23:59"),
    ("10pm-12am", "daily 22:00-24:00"),
    ("22:00-00:00", "daily 22:00-24:00"),
    ("sun 22:00-24:00", "sun 22:00-24:00"),
]


@pytest.mark.parametrize(("text", "canonical"), ACCEPTED)
def test_accepted_forms_have_a_canonical_text(text: str, canonical: str) -> None:
    assert str(parse_window(text)) == canonical


@pytest.mark.parametrize(("text", "_canonical"), ACCEPTED)
def test_parse_of_str_round_trips(text: str, _canonical: str) -> None:
    window = parse_window(text)
    assert parse_window(str(window)) == window


@pytest.mark.parametrize("size", range(1, 8))
def test_every_set_of_days_round_trips(size: int) -> None:
    for days in itertools.combinations(range(7), size):
        for start, end, all_day in [(time(0), time(0), True), (time(17, 30), time(9), False)]:
            window = Window(frozenset(days), start, end, all_day)
            assert parse_window(str(window)) == window


def test_parsed_fields() -> None:
    assert parse_window("weekdays 5pm-9am") == Window(
        frozenset(range(5)), time(17), time(9), all_day=False
    )
    assert parse_window("weekends") == Window(frozenset({5, 6}), time(0), time(0), all_day=True)
    assert parse_window("fri-mon").days == {4, 5, 6, 0}


REJECTED = [
    ("", "empty"),
    ("   ", "empty"),
    ("weekdays 25:00-09:00", '"25:00" is not a time of day'),
    ("17:60-18:00", '"17:60" is not a time of day'),
    ("24:30-06:00", '"24:30" is not a time of day'),
    ("13pm-2am", '"13pm" is not a time of day'),
    ("5:75pm-9am", '"5:75pm" is not a time of day'),
    ("9am-24:00", "am/pm"),
    ("0am-6am", '"0am" is not a time of day'),
    ("funday", '"funday" is not a day'),
    ("mo-fr 9am-5pm", '"mo" is not a day'),
    ("mon-tue-wed", '"tue-wed" is not a day'),
    ("weekdays from 9am-5pm", '"from" is not a day'),
    ("17:00-17:00", "same time"),
    ("00:00-00:00", "same time"),
    ("12am-12am", "same time"),
    ("9-5", "ambiguous"),
    ("12-6", "ambiguous"),
    ("10-11pm", "am/pm"),
    ("5pm-09:00", "am/pm"),
    ("24:00-06:00", "24:00 can only end"),
    ("weekdays 17:00", "not a time range"),
    ("17:00-09:00-10:00", "not a time range"),
    ("0900-1700", '"0900" is not a time'),
    ("weekdays 9am-5pm 6pm-8pm", "more than one time range"),
    (",", "no days"),
]


@pytest.mark.parametrize(("text", "problem"), REJECTED)
def test_rejections_say_what_is_wrong_and_show_an_example(text: str, problem: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_window(text)
    message = str(caught.value)
    assert f'"{text}"' in message
    assert problem in message
    example = message.split('Write it like "')[1].split('"')[0]
    parse_window(example)  # the example shown is itself accepted


COVERING = [
    # The Friday night shift runs into Saturday morning; end is exclusive.
    ("weekdays 17:00-09:00", "fri", "23:00", True),
    ("weekdays 17:00-09:00", "sat", "00:00", True),
    ("weekdays 17:00-09:00", "sat", "08:59", True),
    ("weekdays 17:00-09:00", "sat", "09:00", False),
    ("weekdays 17:00-09:00", "sat", "17:00", False),
    # Sunday night into Monday belongs to Sunday, which is not a weekday.
    ("weekdays 17:00-09:00", "sun", "23:00", False),
    ("weekdays 17:00-09:00", "mon2", "08:00", False),
    ("weekdays 17:00-09:00", "mon", "16:59", False),
    ("weekdays 17:00-09:00", "mon", "17:00", True),
    ("weekdays 17:00-09:00", "tue", "08:59", True),
    ("daily 22:00-06:00", "wed", "21:59", False),
    ("daily 22:00-06:00", "wed", "22:00", True),
    ("daily 22:00-06:00", "wed", "23:59", True),
    ("daily 22:00-06:00", "thu", "00:00", True),
    ("daily 22:00-06:00", "thu", "05:59", True),
    ("daily 22:00-06:00", "thu", "06:00", False),
    ("sun 22:00-06:00", "mon2", "03:00", True),
    ("sun 22:00-06:00", "sun", "03:00", False),
    ("sun 22:00-06:00", "tue", "03:00", False),
    ("fri-mon 20:00-08:00", "tue", "07:00", True),
    ("fri-mon 20:00-08:00", "tue", "20:00", False),
    ("fri-mon 20:00-08:00", "fri", "07:00", False),
    ("tue 08:00-12:00", "tue", "08:00", True),
    ("tue 08:00-12:00", "tue", "11:59", True),
    ("tue 08:00-12:00", "tue", "12:00", False),
    ("tue 08:00-12:00", "wed", "09:00", False),
    ("sat,sun all day", "sat", "00:00", True),
    ("sat,sun all day", "sun", "23:59", True),
    ("sat,sun all day", "mon2", "00:00", False),
    ("sat,sun all day", "fri", "23:59", False),
    ("mon,wed,fri 00:00-24:00", "wed", "23:59", True),
    ("mon,wed,fri 00:00-24:00", "thu", "00:00", False),
    ("sun 22:00-24:00", "sun", "23:59", True),
    ("sun 22:00-24:00", "mon2", "00:00", False),
    ("always", "thu", "04:00", True),
]


@pytest.mark.parametrize(("text", "day", "hhmm", "expected"), COVERING)
def test_covers(text: str, day: str, hhmm: str, expected: bool) -> None:
    assert covers(parse_window(text), at(day, hhmm)) is expected


DST_NIGHTS = [
    # 2026-03-08: clocks jump 02:00 EST -> 03:00 EDT.
    datetime(2026, 3, 8, 1, 30, tzinfo=NY),
    datetime(2026, 3, 8, 3, 30, tzinfo=NY),
    # 2026-11-01: clocks fall back 02:00 EDT -> 01:00 EST, so 01:30 happens twice.
    datetime(2026, 11, 1, 1, 30, tzinfo=NY),
    datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=NY),
    datetime(2026, 11, 1, 3, 30, tzinfo=NY),
]


def test_dst_moments_really_straddle_the_change() -> None:
    offsets = [m.utcoffset().total_seconds() / 3600 for m in DST_NIGHTS]
    assert offsets == [-5, -4, -4, -5, -5]


@pytest.mark.parametrize("moment", DST_NIGHTS, ids=str)
def test_overnight_window_covers_dst_nights(moment: datetime) -> None:
    assert covers(parse_window("22:00-06:00"), moment)
    assert covers(parse_window("sat 22:00-06:00"), moment)  # both nights start on a Saturday
    assert not covers(parse_window("sun 22:00-06:00"), moment)
    assert not covers(parse_window("22:00-06:00"), moment.replace(hour=6))


def test_naive_moments_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        covers(parse_window("always"), datetime(2026, 1, 5, 12, 0))
    with pytest.raises(ValueError, match="timezone-aware"):
        on_call([], datetime(2026, 1, 5, 12, 0))


def test_on_call() -> None:
    windows = parse_windows(["weekdays 17:00-09:00", "weekends all day"])
    assert on_call([], at("wed", "12:00"))
    assert on_call(windows, at("sat", "12:00"))
    assert on_call(windows, at("sun", "23:00"))
    assert not on_call(windows, at("mon2", "08:00"))  # Sunday's day is over; no weekday shift
    assert on_call(windows, at("tue", "08:00"))
    assert not on_call(windows, at("wed", "12:00"))


def test_parse_windows_raises_on_the_bad_one() -> None:
    assert parse_windows([]) == []
    with pytest.raises(ValueError, match='"funday"'):
        parse_windows(["weekdays", "funday"])


@pytest.mark.parametrize(
    ("days", "start", "end", "all_day"),
    [
        (frozenset(), time(0), time(0), True),
        (frozenset({7}), time(0), time(0), True),
        (frozenset({0}), time(9), time(9), False),
        (frozenset({0}), time(9), time(17), True),
        (frozenset({0}), time(9, 0, 30), time(17), False),
        (frozenset({0}), time(9, tzinfo=NY), time(17), False),
    ],
)
def test_window_refuses_inconsistent_fields(
    days: frozenset[int], start: time, end: time, all_day: bool
) -> None:
    with pytest.raises(ValueError):
        Window(days, start, end, all_day)


def test_window_is_frozen_and_hashable() -> None:
    window = Window({0, 1}, time(9), time(17))  # a plain set is frozen on the way in
    assert isinstance(window.days, frozenset)
    assert hash(window) == hash(parse_window("mon,tue 09:00-17:00"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        window.start = time(10)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "local", "ends"),
    [
        ("daily 21:00-08:00", datetime(2026, 3, 7, 23, 30), datetime(2026, 3, 8, 8, 0)),
        ("daily 21:00-08:00", datetime(2026, 3, 8, 1, 0), datetime(2026, 3, 8, 8, 0)),
        ("daily 21:00-08:00", datetime(2026, 3, 8, 12, 0), datetime(2026, 3, 8, 12, 0)),
        ("mon-fri 09:00-17:00", datetime(2026, 3, 9, 9, 0), datetime(2026, 3, 9, 17, 0)),
        ("fri 22:00-24:00", datetime(2026, 3, 13, 23, 0), datetime(2026, 3, 14, 0, 0)),
        ("sat,sun all day", datetime(2026, 3, 7, 15, 0), datetime(2026, 3, 9, 0, 0)),
    ],
)
def test_a_window_ends_on_its_own_wall_clock(text, local, ends):
    zone = ZoneInfo("America/New_York")  # 2026-03-08 02:00: clocks go forward
    moment = local.replace(tzinfo=zone)
    assert end_of(parse_window(text), moment) == ends.replace(tzinfo=zone)


def test_a_window_that_never_ends_has_no_end():
    assert end_of(parse_window("always"), datetime(2026, 3, 7, 12, 0, tzinfo=UTC)) is None
