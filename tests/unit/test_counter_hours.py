"""A counter's own hours: parsing what IT types, and date exceptions in the weekly pattern."""

from datetime import date, time

import pytest

from hub.booking.schedule import (
    SEED_PERIODS,
    Closure,
    DayHours,
    Interval,
    OpeningPeriod,
    WeeklySchedule,
    format_hours,
    parse_hours,
    parse_spans,
)
from tests.support.environment import berlin


def hours_on(day: date, schedule: WeeklySchedule) -> list[tuple[str, str]]:
    tz = berlin(2000, 1, 1).tzinfo
    return [
        (i.start.astimezone(tz).strftime("%H:%M"), i.end.astimezone(tz).strftime("%H:%M"))
        for i in schedule.open_intervals(day, day)
    ]


def test_weekly_hours_are_parsed_from_day_ranges_and_spans():
    periods = parse_hours(["mon-fri 08:00-12:00", "wed 14:00-17:30", "sa 09:00-24:00"])
    assert OpeningPeriod(0, time(8), time(12)) in periods
    assert OpeningPeriod(4, time(8), time(12)) in periods
    assert OpeningPeriod(2, time(14), time(17, 30)) in periods
    assert OpeningPeriod(5, time(9), None) in periods  # 24:00 is midnight
    assert len(periods) == 7
    assert parse_hours(["Mo,Mi 08:00-12:00,14:00-16:00"]) == (
        OpeningPeriod(0, time(8), time(12)),
        OpeningPeriod(0, time(14), time(16)),
        OpeningPeriod(2, time(8), time(12)),
        OpeningPeriod(2, time(14), time(16)),
    )


@pytest.mark.parametrize(
    ("specs", "needle"),
    [
        (["mon 12:00-08:00"], "close after it opens"),
        (["xyz 08:00-12:00"], "'xyz'"),
        (["mon"], "mon 08:00-12:00"),
        (["mon 8-12"], "'8-12'"),
        (["mon 08:00-12:00", "mon 11:00-13:00"], "overlap"),
        ([], "at least one"),
    ],
)
def test_bad_hours_are_refused_with_a_reason(specs, needle):
    with pytest.raises(ValueError, match=needle):
        parse_hours(specs)


def test_spans_for_one_day():
    assert parse_spans("10:00-14:00") == ((time(10), time(14)),)
    with pytest.raises(ValueError, match="overlap"):
        parse_spans("10:00-14:00,13:00-15:00")


def test_hours_are_shown_compactly():
    assert format_hours(SEED_PERIODS) == ("Mo–Fr 08:00–12:00; Mi 14:00–17:30; Do 14:00–16:00")


def test_an_exception_closes_a_day_or_opens_it_at_other_hours():
    schedule = WeeklySchedule(
        SEED_PERIODS,
        closures=(Closure(date(2026, 3, 10), date(2026, 3, 10)),),
        exceptions=(
            DayHours(date(2026, 3, 3), ()),  # a Tuesday, closed
            DayHours(date(2026, 3, 4), ((time(10), time(13)),)),  # Wednesday, other hours
            DayHours(date(2026, 3, 7), ((time(9), time(12)),)),  # Saturday, open
            DayHours(date(2026, 3, 10), ((time(8), time(9)),)),  # the most specific rule wins
            DayHours(date(2026, 4, 6), ((time(8), time(9)),)),  # Easter Monday
        ),
    )
    assert hours_on(date(2026, 3, 2), schedule) == [("08:00", "12:00")]
    assert hours_on(date(2026, 3, 3), schedule) == []
    assert hours_on(date(2026, 3, 4), schedule) == [("10:00", "13:00")]
    assert hours_on(date(2026, 3, 7), schedule) == [("09:00", "12:00")]
    assert hours_on(date(2026, 3, 10), schedule) == [("08:00", "09:00")]
    assert hours_on(date(2026, 4, 6), schedule) == [("08:00", "09:00")]


def test_open_throughout_a_span():
    schedule = WeeklySchedule(SEED_PERIODS)
    assert schedule.is_open_throughout(Interval(berlin(2026, 3, 2, 11, 40), berlin(2026, 3, 2, 12)))
    assert not schedule.is_open_throughout(
        Interval(berlin(2026, 3, 2, 11, 50), berlin(2026, 3, 2, 12, 10))
    )
    assert not schedule.is_open_throughout(
        Interval(berlin(2026, 3, 7, 9), berlin(2026, 3, 7, 9, 20))
    )
