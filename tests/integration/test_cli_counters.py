"""`buergeramt counters …` as IT uses it: hours, exceptions, in and out of service."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from hub.booking.rules import BookingPolicy
from hub.operations.booking import BookingRequest, book, list_slots
from hub.store import Store
from tests.integration.test_cli import run

POLICY = BookingPolicy(timedelta(0), timedelta(days=56), timedelta(minutes=15))


def sqlite_store(tmp_path: Path) -> Store:
    """The CLI's database, read afresh each time (no catalogue cache)."""
    return Store(f"sqlite:///{tmp_path / 'buergeramt.sqlite3'}", catalogue_ttl=0)


def next_saturday() -> datetime:
    today = datetime.now(UTC).date()
    return datetime.combine(
        today + timedelta(days=(5 - today.weekday()) % 7 + 7), datetime.min.time()
    )


def saturday_slots(store: Store) -> list[str]:
    day = next_saturday().date()
    found = list_slots(store, POLICY, datetime.now(UTC), "meldebescheinigung", day, day)
    return [f"{s.start.astimezone().isoformat()}" for s in found]


def ok(tmp_path: Path, *args: str) -> str:
    result = run(tmp_path, *args)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


def test_it_sets_hours_exceptions_and_service_of_counters(tmp_path):
    ok(tmp_path, "db", "upgrade")
    listing = ok(tmp_path, "counters", "list")
    assert "Schalter 1" in listing and "Mo–Fr 08:00–12:00; Mi 14:00–17:30" in listing
    assert "no appliance: takes no bookings" in listing

    store = sqlite_store(tmp_path)
    assert saturday_slots(store) == []
    ok(tmp_path, "counters", "activate", "Schalter 2", "--without-appliance")
    ok(tmp_path, "counters", "hours", "Schalter 2", "mon-fri 08:00-12:00", "sa 09:00-10:00")
    assert len(saturday_slots(store)) == 4
    listing = ok(tmp_path, "counters", "list")
    assert "Sa 09:00–10:00 (own hours)" in listing
    assert "takes bookings without an appliance" in listing

    saturday = next_saturday().date().isoformat()
    ok(tmp_path, "counters", "exception", "add", "2", saturday, "--closed", "--reason", "Umzug")
    assert saturday_slots(store) == []
    assert f"{saturday} closed (Umzug)" in ok(tmp_path, "counters", "list")
    ok(tmp_path, "counters", "exception", "add", "2", saturday, "--hours", "11:00-11:30")
    assert len(saturday_slots(store)) == 2
    ok(tmp_path, "counters", "exception", "remove", "2", saturday)
    assert len(saturday_slots(store)) == 4

    ok(tmp_path, "devices", "add", "--counter", "1", "--name", "Pi 4711")
    assert "Pi 4711" in ok(tmp_path, "counters", "list")
    ok(tmp_path, "counters", "hours", "2", "--reset")
    assert saturday_slots(store) == []
    store.dispose()


def test_deactivating_a_counter_with_appointments_ahead_lists_them_or_moves_them(tmp_path):
    ok(tmp_path, "db", "upgrade")
    ok(tmp_path, "counters", "activate", "1", "--without-appliance")
    store = sqlite_store(tmp_path)
    ok(tmp_path, "counters", "hours", "1", "sat 09:00-10:00")
    start = next_saturday().replace(hour=9, tzinfo=ZoneInfo("Europe/Berlin"))
    request = BookingRequest("meldebescheinigung", start, "Erika Muster", "erika@example.org")
    booked = book(store, POLICY, datetime.now(UTC), request).appointment

    refused = run(tmp_path, "counters", "deactivate", "1")
    assert refused.returncode == 1
    assert "1 appointment(s) ahead" in refused.stderr and "--move" in refused.stderr
    assert str(booked.id) in refused.stderr and "Erika Muster" in refused.stderr
    assert "active" in ok(tmp_path, "counters", "list").splitlines()[0]

    stuck = run(tmp_path, "counters", "deactivate", "1", "--move")  # counter 2 is not open then
    assert stuck.returncode == 1 and "nothing was changed" in stuck.stderr

    ok(tmp_path, "counters", "activate", "2", "--without-appliance")
    ok(tmp_path, "counters", "hours", "2", "sat 08:00-12:00")
    moved = ok(tmp_path, "counters", "deactivate", "1", "--move")
    assert f"{booked.id}" in moved and "Schalter 2" in moved
    assert "inactive" in ok(tmp_path, "counters", "list").splitlines()[0]
    store.dispose()


def test_bad_counter_commands_say_what_is_wrong(tmp_path):
    ok(tmp_path, "db", "upgrade")
    for args, needle in [
        (["counters", "hours", "9", "mon 08:00-12:00"], "no counter with id or name '9'"),
        (["counters", "hours", "1", "mon 12:00-08:00"], "close after it opens"),
        (["counters", "hours", "1"], "--reset"),
        (["counters", "exception", "add", "1", "2026-13-01", "--closed"], "DATE"),
        (["counters", "exception", "add", "1", "2026-12-01"], "--closed or --hours"),
        (["counters", "exception", "remove", "1", "2026-12-01"], "no exception on 2026-12-01"),
    ]:
        result = run(tmp_path, *args)
        assert result.returncode != 0, args
        assert needle in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
