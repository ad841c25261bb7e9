"""Slot computation: fit inside opening hours, lead time, horizon, busy counters."""

from datetime import date, timedelta

import pytest

from hub.booking.rules import BookingError, BookingPolicy
from hub.booking.schedule import AROUND_THE_CLOCK, SEED_PERIODS, Interval, WeeklySchedule
from hub.booking.slots import BusyTimes, Counter, counters_offering, free_slots, grid_units
from hub.booking.timezone import BERLIN
from tests.support.environment import berlin

STANDARD = WeeklySchedule(SEED_PERIODS)
TWO = [Counter(1, STANDARD), Counter(2, STANDARD)]
POLICY = BookingPolicy()
STEP = POLICY.step


def slots(day: date, minutes: int, now=None, busy=None, counters=TWO):
    now = now or berlin(2026, 3, 1, 12, 0)
    window = POLICY.window(now, day, day)
    if window is None:
        return []
    return free_slots(counters, BusyTimes(busy or {}), window, timedelta(minutes=minutes), STEP)


def hhmm(found):
    return [s.start.astimezone(BERLIN).strftime("%H:%M") for s in found]


def test_morning_slots_every_step_and_the_last_one_ends_by_noon():
    found = hhmm(slots(date(2026, 3, 2), 10))
    assert found[0] == "08:00" and found[1] == "08:15"
    assert found[-1] == "11:45"  # 11:45–11:55 fits, nothing starts at noon
    assert len(found) == 16


def test_a_longer_service_must_end_before_closing():
    found = hhmm(slots(date(2026, 3, 2), 20))
    assert found[-1] == "11:30"  # 11:45 would end at 12:05


def test_wednesday_and_thursday_afternoons():
    wed = hhmm(slots(date(2026, 3, 4), 10))
    thu = hhmm(slots(date(2026, 3, 5), 10))
    fri = hhmm(slots(date(2026, 3, 6), 10))
    assert "14:00" in wed and wed[-1] == "17:15"
    assert "14:00" in thu and thu[-1] == "15:45"
    assert "14:00" not in fri and fri[-1] == "11:45"


def test_no_slots_on_a_holiday_or_weekend():
    assert slots(date(2027, 1, 6), 10, now=berlin(2027, 1, 1, 12, 0)) == []
    assert slots(date(2026, 3, 7), 10) == []


def test_lead_time_hides_slots_that_start_too_soon():
    found = hhmm(slots(date(2026, 3, 2), 10, now=berlin(2026, 3, 2, 8, 5)))
    assert found[0] == "08:30"  # 08:15 is within the 15-minute lead


def test_horizon_hides_slots_too_far_ahead():
    # 56 days after Monday noon is Monday 27 April, noon: that morning is bookable, the
    # next day is not; the wall clock moved to summer time in between.
    now = berlin(2026, 3, 2, 12, 0)
    assert hhmm(slots(date(2026, 4, 27), 10, now=now))[-1] == "11:45"
    assert slots(date(2026, 4, 28), 10, now=now) == []
    early = berlin(2026, 3, 2, 9, 0)  # horizon ends 27 April 10:00 CEST
    assert hhmm(slots(date(2026, 4, 27), 10, now=early))[-1] == "09:45"


def test_slot_offered_while_any_counter_is_free():
    day = date(2026, 3, 2)
    eight = Interval(berlin(2026, 3, 2, 8, 0), berlin(2026, 3, 2, 8, 10))
    one_busy = slots(day, 10, busy={1: [eight]})
    both_busy = slots(day, 10, busy={1: [eight], 2: [eight]})
    assert "08:00" in hhmm(one_busy)
    assert "08:00" not in hhmm(both_busy)
    assert "08:15" in hhmm(both_busy)


def test_partial_overlap_blocks_a_slot():
    day = date(2026, 3, 2)
    busy = Interval(berlin(2026, 3, 2, 8, 20), berlin(2026, 3, 2, 8, 40))
    found = hhmm(slots(day, 20, busy={1: [busy]}, counters=[TWO[0]]))
    # Half-open spans: 08:00–08:20 only touches 08:20–08:40; 08:15 and 08:30 overlap it.
    assert "08:00" in found
    assert "08:15" not in found and "08:30" not in found
    assert "08:45" in found


def test_counters_offering_only_on_the_grid_and_inside_hours():
    eight = Interval(berlin(2026, 3, 2, 8, 0), berlin(2026, 3, 2, 8, 10))
    off_grid = Interval(berlin(2026, 3, 2, 8, 5), berlin(2026, 3, 2, 8, 15))
    evening = Interval(berlin(2026, 3, 2, 20, 0), berlin(2026, 3, 2, 20, 10))
    demo = Counter(3, WeeklySchedule(AROUND_THE_CLOCK, holiday_subdivision=None))
    assert counters_offering([*TWO, demo], eight, STEP) == [1, 2, 3]
    assert counters_offering([*TWO, demo], off_grid, STEP) == []
    assert counters_offering([*TWO, demo], evening, STEP) == [3]


def test_grid_units_cover_the_span_in_five_minute_steps():
    span = Interval(berlin(2026, 3, 2, 8, 0), berlin(2026, 3, 2, 8, 20))
    units = grid_units(span)
    assert len(units) == 4
    assert units[1] - units[0] == 5
    assert units[0] == int(span.start.timestamp()) // 60


def test_window_rejects_reversed_and_overlong_ranges():
    now = berlin(2026, 3, 2, 7, 0)
    with pytest.raises(BookingError) as err:
        POLICY.window(now, date(2026, 3, 5), date(2026, 3, 4))
    assert err.value.code == "invalid_range"
    with pytest.raises(BookingError) as err:
        POLICY.window(now, date(2026, 3, 2), date(2026, 6, 2))
    assert err.value.code == "range_too_long"
    assert POLICY.window(now, date(2026, 2, 1), date(2026, 2, 2)) is None


def test_policy_refuses_a_step_off_the_grid():
    with pytest.raises(ValueError, match="multiple of 5"):
        BookingPolicy(step=timedelta(minutes=7))
