"""Times staff read are in the line's zone, with the zone named (daylight time included)."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from intake.infra.timefmt import clock_time, local_time


def test_a_utc_time_reads_in_the_line_zone_with_its_name():
    ny = ZoneInfo("America/New_York")
    assert local_time(datetime(2026, 11, 30, 2, 40, tzinfo=UTC), ny) == "2026-11-29 21:40 EST"
    assert local_time(datetime(2026, 7, 1, 12, 0, tzinfo=UTC), ny) == "2026-07-01 08:00 EDT"


def test_a_clock_time_names_the_zone_too():
    ny = ZoneInfo("America/New_York")
    assert clock_time(datetime(2026, 11, 30, 2, 40, tzinfo=UTC), ny) == "21:40 EST"
