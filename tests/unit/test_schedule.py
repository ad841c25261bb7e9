"""Opening hours: the seed's weekly pattern, holidays, closures and daylight-saving changes."""

from datetime import UTC, date, datetime, time, timedelta

import pytest

from hub.booking.schedule import (
    AROUND_THE_CLOCK,
    SEED_PERIODS,
    Closure,
    Interval,
    OpeningPeriod,
    WeeklySchedule,
    is_public_holiday,
)
from tests.support.environment import berlin

STANDARD = WeeklySchedule(SEED_PERIODS)


def hours_on(day: date, schedule: WeeklySchedule = STANDARD) -> list[tuple[str, str]]:
    return [
        (
            i.start.astimezone(berlin(2000, 1, 1).tzinfo).strftime("%H:%M"),
            i.end.astimezone(berlin(2000, 1, 1).tzinfo).strftime("%H:%M"),
        )
        for i in schedule.open_intervals(day, day)
    ]


def test_weekday_mornings_and_the_two_afternoons():
    # 2026-03-02 is a Monday.
    assert hours_on(date(2026, 3, 2)) == [("08:00", "12:00")]
    assert hours_on(date(2026, 3, 3)) == [("08:00", "12:00")]
    assert hours_on(date(2026, 3, 4)) == [("08:00", "12:00"), ("14:00", "17:30")]
    assert hours_on(date(2026, 3, 5)) == [("08:00", "12:00"), ("14:00", "16:00")]
    assert hours_on(date(2026, 3, 6)) == [("08:00", "12:00")]
    assert hours_on(date(2026, 3, 7)) == []
    assert hours_on(date(2026, 3, 8)) == []


@pytest.mark.parametrize(
    ("day", "name"),
    [
        (date(2027, 1, 6), "Epiphany"),
        (date(2026, 5, 1), "Labour Day"),
        (date(2026, 6, 4), "Corpus Christi"),
        (date(2026, 10, 3), "Unity Day"),
        (date(2026, 11, 1), "All Saints"),
    ],
)
def test_public_holidays_of_baden_wuerttemberg_are_closed(day, name):
    assert is_public_holiday(day, "BW"), name
    assert hours_on(day) == []


def test_epiphany_is_no_holiday_in_berlin_state_but_is_in_bw():
    assert is_public_holiday(date(2027, 1, 6), "BW")
    assert not is_public_holiday(date(2027, 1, 6), "BE")


def test_closures_close_single_days_and_ranges():
    schedule = WeeklySchedule(
        SEED_PERIODS,
        closures=(
            Closure(date(2026, 3, 4), date(2026, 3, 4)),
            Closure(date(2026, 3, 9), date(2026, 3, 11)),
        ),
    )
    assert hours_on(date(2026, 3, 3), schedule) == [("08:00", "12:00")]
    assert hours_on(date(2026, 3, 4), schedule) == []
    for d in (9, 10, 11):
        assert hours_on(date(2026, 3, d), schedule) == []
    assert hours_on(date(2026, 3, 12), schedule) == [("08:00", "12:00"), ("14:00", "16:00")]


def test_opening_keeps_wall_time_across_the_spring_daylight_saving_change():
    # DST starts on Sunday 2026-03-29: 08:00 is 07:00 UTC before and 06:00 UTC after.
    before = next(STANDARD.open_intervals(date(2026, 3, 27), date(2026, 3, 27)))
    after = next(STANDARD.open_intervals(date(2026, 3, 30), date(2026, 3, 30)))
    assert before.start == datetime(2026, 3, 27, 7, 0, tzinfo=UTC)
    assert after.start == datetime(2026, 3, 30, 6, 0, tzinfo=UTC)
    assert before.end - before.start == after.end - after.start == timedelta(hours=4)


def test_around_the_clock_day_has_23_or_25_hours_on_dst_changes():
    demo = WeeklySchedule(AROUND_THE_CLOCK, holiday_subdivision=None)
    spring = list(demo.open_intervals(date(2026, 3, 29), date(2026, 3, 29)))
    autumn = list(demo.open_intervals(date(2026, 10, 25), date(2026, 10, 25)))
    assert [i.end - i.start for i in spring] == [timedelta(hours=23)]
    assert [i.end - i.start for i in autumn] == [timedelta(hours=25)]
    # Open on a holiday too, since the demo schedule observes none.
    assert list(demo.open_intervals(date(2026, 12, 25), date(2026, 12, 25)))


def test_invalid_periods_and_closures_are_refused():
    with pytest.raises(ValueError, match="close after"):
        OpeningPeriod(0, time(12), time(8))
    with pytest.raises(ValueError, match="weekday"):
        OpeningPeriod(7, time(8), time(12))
    with pytest.raises(ValueError, match="end before"):
        Closure(date(2026, 3, 5), date(2026, 3, 4))
    with pytest.raises(ValueError, match="end after"):
        Interval(berlin(2026, 3, 2, 9, 0), berlin(2026, 3, 2, 9, 0))
