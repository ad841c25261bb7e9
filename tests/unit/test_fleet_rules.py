"""The heartbeat's bounds (hypothesis), the appliance's readings, systemd's environment, when a
counter counts as open, and the offline flag logged once per transition."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from appliance.heartbeat import cpu_temperature, free_disk_mb
from appliance.systemd import Notifier
from hub.booking.schedule import SEED_PERIODS, WeeklySchedule
from hub.operations.fleet import FleetEntry, OfflineWatch, is_open
from protocol.appliance import Heartbeat
from tests.support.environment import BERLIN

HEALTH = {"camera": "ok", "microphone": "stalled", "speaker": "ok", "scanner": "absent"}
BOUNDS = {
    "uptime_s": (0, 10 * 366 * 86400),
    "cpu_temp_c": (-40, 150),
    "load": (0, 1000),
    "disk_free_mb": (0, 1 << 40),
    "rtt_ms": (0, 600_000),
}
FLOATS = {"cpu_temp_c", "load", "rtt_ms"}


def beat(**changes: object) -> dict[str, object]:
    values: dict[str, object] = {
        "version": "0.1.0",
        "uptime_s": 10,
        "cpu_temp_c": 50.0,
        "load": 0.5,
        "disk_free_mb": 1000,
        "devices": HEALTH,
        "rtt_ms": 3.5,
    }
    values.update(changes)
    return values


def number(field: str, inside: bool) -> st.SearchStrategy[object]:
    low, high = BOUNDS[field]
    if field in FLOATS:
        if inside:
            return st.floats(low, high, allow_nan=False)
        return st.floats(high, exclude_min=True, allow_infinity=False) | st.floats(
            max_value=low, exclude_max=True, allow_infinity=False
        )
    if inside:
        return st.integers(low, high)
    return st.integers(high + 1) | st.integers(max_value=low - 1)


@given(data=st.data(), field=st.sampled_from(sorted(BOUNDS)))
def test_values_inside_the_bounds_pass_and_outside_are_refused(data, field):
    assert Heartbeat.model_validate(beat(**{field: data.draw(number(field, True))}))
    with pytest.raises(ValidationError):
        Heartbeat.model_validate(beat(**{field: data.draw(number(field, False))}))


@given(
    field=st.sampled_from(sorted(BOUNDS)),
    wrong=st.sampled_from([True, "1", None, [], float("nan"), float("inf")]),
)
def test_wrong_types_are_refused_strictly(field, wrong):
    if wrong is None and field in ("cpu_temp_c", "rtt_ms"):
        return  # null: the machine cannot tell (no thermal zone, no answer yet)
    with pytest.raises(ValidationError):
        Heartbeat.model_validate(beat(**{field: wrong}))


@given(version=st.text(max_size=60), health=st.text(max_size=10))
def test_version_and_health_are_bounded(version, health):
    ok = 1 <= len(version) <= 40
    try:
        Heartbeat.model_validate(beat(version=version))
    except ValidationError:
        assert not ok
    else:
        assert ok
    valid = health in ("ok", "stalled", "off", "absent")
    try:
        Heartbeat.model_validate(beat(devices={**HEALTH, "camera": health}))
    except ValidationError:
        assert not valid
    else:
        assert valid


def test_no_extra_fields():
    with pytest.raises(ValidationError):
        Heartbeat.model_validate(beat(serial="x"))


def test_readings_of_the_machine(tmp_path):
    zone = tmp_path / "temp"
    zone.write_text("48312\n")
    assert cpu_temperature(zone) == 48.3
    assert cpu_temperature(tmp_path / "none") is None
    zone.write_text("garbage")
    assert cpu_temperature(zone) is None
    assert free_disk_mb(tmp_path / "not" / "yet" / "made") > 0  # its nearest existing parent


def test_systemd_environment():
    assert Notifier({}).notify("READY=1") is False  # not started by systemd: nothing to do
    abstract = Notifier({"NOTIFY_SOCKET": "@sd", "WATCHDOG_USEC": "30000000"})
    assert abstract.address == "\0sd" and abstract.watchdog_s == 30
    other = Notifier({"NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": "1", "WATCHDOG_PID": "1"})
    assert other.watchdog_s is None  # meant for process 1, not this one
    assert Notifier({"NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": "x"}).watchdog_s is None


STANDARD = WeeklySchedule(SEED_PERIODS)


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        (datetime(2026, 12, 2, 7, 59, tzinfo=BERLIN), False),
        (datetime(2026, 12, 2, 8, 0, tzinfo=BERLIN), True),
        (datetime(2026, 12, 2, 11, 59, tzinfo=BERLIN), True),
        (datetime(2026, 12, 2, 12, 0, tzinfo=BERLIN), False),
        (datetime(2026, 12, 2, 15, 0, tzinfo=BERLIN), True),  # Wednesday afternoon
        (datetime(2026, 12, 5, 10, 0, tzinfo=BERLIN), False),  # Saturday
        (datetime(2026, 12, 25, 10, 0, tzinfo=BERLIN), False),  # Christmas Day
        (datetime(2026, 7, 1, 8, 30, tzinfo=BERLIN), True),  # summer time
    ],
)
def test_open_by_berlin_wall_time(local, expected):
    assert is_open(STANDARD, local.astimezone(UTC)) is expected


def entry(state: str, open_now: bool = True) -> FleetEntry:
    return FleetEntry(7, "Pi", 1, "Schalter 1", state, None, open_now, None)


def test_the_offline_flag_is_logged_once_per_transition(caplog):
    caplog.set_level(logging.INFO, logger="hub.fleet")
    watch = OfflineWatch()
    now = datetime(2026, 12, 2, 9, tzinfo=UTC)
    for _ in range(3):
        assert watch.see([entry("offline")], now) == {7}
    assert caplog.text.count("is offline during opening hours") == 1
    watch.see([entry("online")], now + timedelta(minutes=1))
    watch.see([entry("online")], now + timedelta(minutes=2))
    assert caplog.text.count("no longer offline") == 1
    watch.see([entry("offline", open_now=False)], now)
    assert caplog.text.count("is offline during opening hours") == 1
