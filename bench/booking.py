"""Booking benchmark on PostgreSQL: slot listing latency with a year of history, and a surge.

Writes bench/results/booking.json with slot_listing_p95_ms, bookings_per_s, double_bookings.
Run: .venv/bin/python bench/booking.py  (needs PostgreSQL; see BUERGERAMT_BENCH_POSTGRES_URL)
"""

from __future__ import annotations

import random
import sys
import threading
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import insert, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Hub, ScratchPostgres, percentile, write_results
from hub.booking.schedule import SEED_PERIODS, WeeklySchedule
from hub.booking.slots import grid_units
from hub.booking.timezone import BERLIN, local_date
from hub.store import Store
from hub.store.audit import double_bookings
from hub.store.migrate import upgrade
from hub.store.models import AppointmentRow, CounterRow, OccupancyRow, ScheduleRow
from hub.store.seed import STANDARD_SCHEDULE, seed_defaults

COUNTERS = 20
SERVICE = "meldebescheinigung"  # 10 minutes
DURATION = timedelta(minutes=10)
STEP = timedelta(minutes=15)
NOW = datetime(2026, 3, 2, 7, 0, tzinfo=BERLIN)  # a Monday, before opening
LISTING_REQUESTS = 200
SURGE_CLIENTS = int(__import__("os").environ.get("SURGE_CLIENTS", "32"))
SURGE_WEEKS = (3, 4)  # weeks (counted from NOW) left empty for the surges: 1 and 2 processes
rng = random.Random(20260302)


def prepare(url: str) -> Store:
    """Migrated database with the default data and 20 counters on the standard schedule."""
    upgrade(url)
    store = Store(url)
    with store.transaction() as session:
        seed_defaults(session, without_appliance=True)
        schedule = session.scalar(select(ScheduleRow).where(ScheduleRow.name == STANDARD_SCHEDULE))
        for n in range(3, COUNTERS + 1):
            session.add(
                CounterRow(name=f"Schalter {n}", schedule_id=schedule.id, without_appliance=True)
            )
    return store


def slot_starts(first, last):
    """Every slot start of the standard schedule between two local dates."""
    for period in WeeklySchedule(SEED_PERIODS).open_intervals(first, last):
        start = period.start
        while start + DURATION <= period.end:
            yield start
            start += STEP


def populate(store: Store) -> int:
    """A year of past appointments (85 % of slots) and some of the next eight weeks."""
    today = local_date(NOW)
    surge = surge_days()
    with store.transaction() as session:
        counters = list(session.scalars(select(CounterRow.id)))
    appointments, units = [], []
    created = NOW - timedelta(days=400)

    def fill(first, last, share):
        for start in slot_starts(first, last):
            if local_date(start) in surge:
                continue
            for counter in counters:
                if rng.random() < share:
                    ident = uuid.uuid4()
                    appointments.append(
                        {
                            "id": ident,
                            "service_id": SERVICE,
                            "counter_id": counter,
                            "start_at": start,
                            "end_at": start + DURATION,
                            "status": "booked",
                            "name": "Bench",
                            "email": f"{ident.hex[:12]}@example.org",
                            "locale": "de",
                            "manage_token_hash": uuid.uuid4().hex * 2,
                            "join_token_hash": uuid.uuid4().hex * 2,
                            "created_at": created,
                            "updated_at": created,
                        }
                    )
                    span = type("S", (), {"start": start, "end": start + DURATION})
                    units.extend(
                        {"counter_id": counter, "minute": m, "appointment_id": ident}
                        for m in grid_units(span)
                    )  # type: ignore[arg-type]

    fill(today - timedelta(days=365), today - timedelta(days=1), 0.85)
    fill(today, today + timedelta(days=13), 0.6)
    fill(today + timedelta(days=14), today + timedelta(days=55), 0.2)
    batch = 5000
    with store.transaction() as session:
        for i in range(0, len(appointments), batch):
            session.execute(insert(AppointmentRow), appointments[i : i + batch])
        for i in range(0, len(units), batch):
            session.execute(insert(OccupancyRow), units[i : i + batch])
    return len(appointments)


def surge_days(week: int | None = None):
    """The working days of one surge week, or of all of them."""
    weeks = SURGE_WEEKS if week is None else (week,)
    days = set()
    for w in weeks:
        first = local_date(NOW) + timedelta(days=7 * (w - 1))
        days |= {first + timedelta(days=d) for d in range(5)}
    return days


def measure_listing(hub: Hub) -> list[float]:
    """Latency (ms) of listing eight weeks of free slots, one request after another."""
    today = local_date(NOW)
    url = f"{hub.url}/api/v1/services/{SERVICE}/slots?from={today}&to={today + timedelta(days=55)}"
    timings = []
    with httpx.Client(timeout=30) as client:
        for _ in range(10):
            client.get(url)  # warm up caches and connections
        for _ in range(LISTING_REQUESTS):
            began = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - began) * 1000)
            assert response.status_code == 200
    return timings


def surge(hub: Hub, week: int) -> dict[str, float]:
    """Many clients book the surge week's mornings at once until every slot is gone.

    A client that gets 409 drops that time from its choices, as a citizen would after the page
    reloads; so the surge ends when every counter is full.
    """
    days = surge_days(week)
    open_starts = [s for s in slot_starts(min(days), max(days)) if s.astimezone(BERLIN).hour < 12]
    capacity = len(open_starts) * COUNTERS
    lock = threading.Lock()
    latencies: list[float] = []
    outcome = {"booked": 0, "conflicts": 0, "other": 0}

    def client_loop(n: int) -> None:
        local_rng = random.Random(n)
        with httpx.Client(timeout=60) as client:
            while True:
                with lock:
                    if not open_starts:
                        return
                    start = local_rng.choice(open_starts)
                body = {
                    "service_id": SERVICE,
                    "start": start.isoformat(),
                    "name": "Erika Mustermann",  # names hold no digits
                    "email": f"surge{n}-{local_rng.random():.12f}@example.org",
                }
                began = time.perf_counter()
                response = client.post(f"{hub.url}/api/v1/appointments", json=body)
                elapsed = (time.perf_counter() - began) * 1000
                with lock:
                    latencies.append(elapsed)
                    if response.status_code == 201:
                        outcome["booked"] += 1
                    elif response.status_code == 409:
                        outcome["conflicts"] += 1
                        if start in open_starts:
                            open_starts.remove(start)
                    else:
                        outcome["other"] += 1

    threads = [threading.Thread(target=client_loop, args=(n,)) for n in range(SURGE_CLIENTS)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - began
    return {
        "capacity": capacity,
        "booked": outcome["booked"],
        "conflicts": outcome["conflicts"],
        "other_errors": outcome["other"],
        "wall_s": wall,
        "bookings_per_s": outcome["booked"] / wall,
        "attempts_per_s": len(latencies) / wall,
        "booking_p50_ms": percentile(latencies, 50),
        "booking_p95_ms": percentile(latencies, 95),
    }


def main() -> None:
    database = ScratchPostgres()
    env = {"clock_start": NOW.isoformat(), "rate_limit_enabled": "false"}
    try:
        store = prepare(database.url)
        hub = Hub(database.url, **env)
        try:
            baseline = measure_listing(hub)  # empty database, same process and machine
        finally:
            hub.stop()
        loaded_rows = populate(store)
        hub = Hub(database.url, **env)
        try:
            loaded = measure_listing(hub)
            one = surge(hub, SURGE_WEEKS[0])
        finally:
            hub.stop()
        # As deployed: one hub process per core, sharing the port (SO_REUSEPORT).
        hubs = [Hub(database.url, **env)]
        hubs.append(Hub(database.url, port=hubs[0].port, **env))
        try:
            two = surge(hubs[0], SURGE_WEEKS[1])
        finally:
            for h in hubs:
                h.stop()
        with store.transaction() as session:
            doubles = double_bookings(session)
        store.dispose()
    finally:
        database.drop()
    p95, base95 = percentile(loaded, 95), percentile(baseline, 95)
    metrics = {
        "slot_listing_p50_ms": round(percentile(loaded, 50), 2),
        "slot_listing_p95_ms": round(p95, 2),
        "slot_listing_empty_db_p95_ms": round(base95, 2),
        "slot_listing_p95_ratio_vs_empty_db": round(p95 / base95, 2),
        "bookings_per_s": round(two["bookings_per_s"], 1),
        "bookings_per_s_one_process": round(one["bookings_per_s"], 1),
        "bookings_per_s_ratio_two_vs_one_process": round(
            two["bookings_per_s"] / one["bookings_per_s"], 2
        ),
        "booking_attempts_per_s": round(two["attempts_per_s"], 1),
        "booking_p50_ms": round(two["booking_p50_ms"], 2),
        "booking_p95_ms": round(two["booking_p95_ms"], 2),
        "surge_capacity": two["capacity"] + one["capacity"],
        "surge_booked": two["booked"] + one["booked"],
        "surge_conflicts": two["conflicts"] + one["conflicts"],
        "surge_other_errors": two["other_errors"] + one["other_errors"],
        "double_bookings": doubles,
    }
    write_results(
        "booking",
        metrics,
        setup={
            "database": "PostgreSQL",
            "counters": COUNTERS,
            "appointments_in_db": loaded_rows,
            "listing_range_days": 56,
            "listing_requests": LISTING_REQUESTS,
            "surge_clients": SURGE_CLIENTS,
            "hub_processes": 2,
            "targets": {
                "slot_listing_p95_ms": "< 50",
                "bookings_per_s": ">= 200",
                "double_bookings": "0",
            },
        },
    )
    if doubles or metrics["surge_booked"] != metrics["surge_capacity"]:
        sys.exit("booking benchmark found an inconsistency")


if __name__ == "__main__":
    main()
