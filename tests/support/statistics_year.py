"""A year of the office for the statistics (issue 18, point 5): tens of thousands of appointments
with their calls, call events, outcomes, device checks and payments, spread over services,
counters, weekdays and opening hours, written with bulk inserts (PostgreSQL's COPY, SQLite's
executemany) in seconds. Deterministic for a given `seed`.

The rows are what the hub itself would have written (the call lifecycle's transitions with their
times, the media path the citizen's page reported, payment requests in final states), not
bookings through hub.operations: a year of those would take many minutes. No occupancy rows: the
statistics do not read them.

Used by tests/integration/test_statistics.py, tests/browser/test_admin_statistics.py and
bench/admin.py.
"""

from __future__ import annotations

import bisect
import itertools
import random
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Table, Uuid, select
from sqlalchemy.engine import Connection

from hub.booking.catalogue import SEED_SERVICES
from hub.booking.fees import SEED_FEES
from hub.booking.schedule import Interval
from hub.booking.timezone import local_date, local_parts
from hub.store import Store
from hub.store.models import (
    AppointmentRow,
    CallEventRow,
    CallRow,
    CounterRow,
    PaymentRequestRow,
    ScheduleRow,
)
from hub.store.seed import STANDARD_SCHEDULE

APPOINTMENTS: Table = AppointmentRow.__table__
CALLS: Table = CallRow.__table__
EVENTS: Table = CallEventRow.__table__
PAYMENTS: Table = PaymentRequestRow.__table__

# How often each service is booked (Heidelberg's mix, roughly: registrations lead).
WEIGHTS = {
    "anmeldung": 30,
    "abmeldung": 8,
    "meldebescheinigung": 20,
    "melderegisterauskunft": 6,
    "fuehrungszeugnis": 12,
    "heidelberg-pass": 8,
    "landesfamilienpass": 5,
    "bewohnerparkausweis": 8,
    "schwerbehindertenparkausweis": 3,
}


@dataclass(frozen=True)
class Year:
    """What was seeded: the period and how many rows of each kind."""

    first_day: Any
    last_day: Any
    now: datetime
    appointments: int
    calls: int
    events: int
    payments: int


def bulk_insert(conn: Connection, table: Table, columns: Sequence[str], rows: Iterable[tuple]):
    """Insert `rows` (tuples in the order of `columns`) fast: COPY on PostgreSQL, executemany
    with the columns' own bind processing on SQLite."""
    rows = list(rows)
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        from psycopg.types.json import Json

        json_at = [i for i, c in enumerate(columns) if c == "lines"]
        raw = conn.connection.driver_connection
        names = ", ".join(columns)
        with raw.cursor() as cursor, cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
            for row in rows:
                if json_at:
                    row = tuple(Json(v) if i in json_at else v for i, v in enumerate(row))
                copy.write_row(row)
        return
    converters = [_sqlite_value(table.c[c].type, conn.dialect) for c in columns]
    converted = [
        tuple(v if v is None or p is None else p(v) for p, v in zip(converters, row, strict=True))
        for row in rows
    ]
    marks = ", ".join("?" for _ in columns)
    cursor = conn.connection.driver_connection.cursor()
    cursor.executemany(
        f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})", converted
    )
    cursor.close()


def _sqlite_value(column_type: Any, dialect: Any) -> Any:
    """How SQLite stores a column's Python values: the type's own bind processing, with a
    shortcut for the two hot ones (UTC times as naive text, UUIDs as hex)."""
    from hub.store.types import UTCDateTime

    if isinstance(column_type, UTCDateTime):
        return lambda at: at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(column_type, Uuid):
        return lambda ident: ident.hex
    return column_type.bind_processor(dialect)


APPOINTMENT_COLUMNS = (
    "id", "service_id", "counter_id", "start_at", "end_at", "status", "name", "email", "locale",
    "manage_token_hash", "join_token_hash", "created_at", "updated_at", "cancelled_at",
    "revision", "device_check", "device_checked_at", "local_month", "local_weekday", "local_hour",
)  # fmt: skip
CALL_COLUMNS = (
    "appointment_id", "state", "outcome", "counter_id", "citizen_seen_at", "waiting_since",
    "updated_at", "notes", "admitted_at", "connected_at", "ended_at", "interruptions", "relayed",
)  # fmt: skip
EVENT_COLUMNS = ("appointment_id", "event", "before", "after", "outcome", "at", "counter_id")
PAYMENT_COLUMNS = (
    "id", "appointment_id", "request_id", "lines", "total_cents", "purpose", "redirect_url",
    "state", "created_at", "expires_at", "final_at", "channel", "last_error",
)  # fmt: skip


def _counters(store: Store, counters: int) -> list[int]:
    """`counters` counters on the standard schedule, taking bookings (the seed has two)."""
    with store.transaction() as session:
        schedule = session.scalar(select(ScheduleRow).where(ScheduleRow.name == STANDARD_SCHEDULE))
        assert schedule is not None
        have = list(session.scalars(select(CounterRow).order_by(CounterRow.id)))
        for n in range(len(have) + 1, counters + 1):
            session.add(
                CounterRow(name=f"Schalter {n}", schedule_id=schedule.id, without_appliance=True)
            )
        session.flush()
        ids = list(session.scalars(select(CounterRow.id).order_by(CounterRow.id)))
    store.forget_catalogue()
    return ids


def seed_year(
    store: Store,
    now: datetime,
    appointments: int = 90_000,
    counters: int = 20,
    seed: int = 18,
) -> Year:
    """About a year of appointments up to a week after `now` (most lie before it), on
    `counters` counters keeping the standard hours (Mon–Fri mornings, Wed and Thu afternoons)."""
    rng = random.Random(seed)
    paths = random.Random(f"{seed}-paths")  # a stream of its own: the rest stays as it was
    counter_ids = _counters(store, counters)
    schedule = store.catalogue().counters[0].schedule
    last_day = local_date(now) + timedelta(days=6)
    first_day = last_day - timedelta(days=364)
    openings: list[Interval] = list(schedule.open_intervals(first_day, last_day))
    ends, total = [], 0.0
    for opening in openings:
        total += (opening.end - opening.start).total_seconds()
        ends.append(total)
    services = [s for s in SEED_SERVICES if s.id in WEIGHTS]
    service_ends = list(itertools.accumulate(WEIGHTS[s.id] for s in services))
    fees = {k: v[0] for k, v in SEED_FEES.items()}

    appointment_rows, call_rows, event_rows, payment_rows = [], [], [], []
    for n in range(appointments):
        service = services[bisect.bisect(service_ends, rng.random() * service_ends[-1])]
        length = timedelta(minutes=service.duration_minutes)
        while True:  # an opening, by its length; a start on the 5-minute grid inside it
            opening = openings[bisect.bisect_left(ends, rng.random() * total)]
            room = (opening.end - opening.start - length) // timedelta(minutes=5)
            if room >= 0:
                break
        start = opening.start + timedelta(minutes=5 * rng.randint(0, room))
        end = start + length
        counter = rng.choice(counter_ids)
        lead = timedelta(seconds=min(56 * 86400, max(900, rng.expovariate(1 / (6 * 86400)))))
        created = start - lead
        if created > now:
            created = now - timedelta(minutes=rng.randint(1, 600))
        ident = uuid.UUID(int=rng.getrandbits(128), version=4)
        cancelled = rng.random() < 0.05
        check = None
        if not cancelled and rng.random() < 0.8:
            draw = rng.random()
            check = "ready" if draw < 0.85 else "audio_only" if draw < 0.95 else "needs_help"
        appointment_rows.append(
            (
                ident, service.id, counter, start, end, "cancelled" if cancelled else "booked",
                f"Person {n}", f"p{n}@example.org", "de", ident.hex + "m", ident.hex + "j",
                created, created, created + (start - created) / 2 if cancelled else None, 0,
                check, start - timedelta(hours=1) if check else None, *local_parts(start),
            )
        )  # fmt: skip
        if cancelled or start >= now:
            continue
        _call(
            rng,
            paths,
            ident,
            service.id,
            counter,
            start,
            end,
            call_rows,
            event_rows,
            payment_rows,
            fees,
        )

    appointment_rows.sort(key=lambda row: row[0])  # in key order: the indexes fill in order
    call_rows.sort(key=lambda row: row[0])
    event_rows.sort(key=lambda row: row[0])
    with store.engine.begin() as conn:
        bulk_insert(conn, APPOINTMENTS, APPOINTMENT_COLUMNS, appointment_rows)
        bulk_insert(conn, CALLS, CALL_COLUMNS, call_rows)
        bulk_insert(conn, EVENTS, EVENT_COLUMNS, event_rows)
        bulk_insert(conn, PAYMENTS, PAYMENT_COLUMNS, payment_rows)
    if store.dialect == "postgresql":
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")
    return Year(
        first_day,
        last_day,
        now,
        len(appointment_rows),
        len(call_rows),
        len(event_rows),
        len(payment_rows),
    )


def _call(
    rng: random.Random,
    paths: random.Random,
    ident: uuid.UUID,
    service_id: str,
    counter: int,
    start: datetime,
    end: datetime,
    calls: list,
    events: list,
    payments: list,
    fees: dict,
) -> None:
    """The call of one past appointment, step by step as the lifecycle records it; `paths`
    decides the media path of calls that connected (one in ten unreported, as from a page
    before the report; of the others about one in eight relayed by the TURN server)."""
    fate = rng.random()
    if fate < 0.02:
        return  # nobody joined, nobody closed it: no call row
    steps: list[tuple[str, str, str, str | None, datetime]] = []

    def step(event: str, before: str, after: str, at: datetime, outcome: str | None = None):
        steps.append((event, before, after, outcome, at))

    waiting_since = None
    if fate < 0.09:  # no-show: closed by the clerk, or by the hub after waiting in vain
        if rng.random() < 0.3:
            waiting_since = start - timedelta(minutes=rng.randint(1, 5))
            step("join", "scheduled", "waiting", waiting_since)
            step("end", "waiting", "ended", end + timedelta(minutes=15), "no_show")
        else:
            step("end", "scheduled", "ended", start + timedelta(minutes=6), "no_show")
        outcome = "no_show"
    else:
        waiting_since = start - timedelta(seconds=rng.randint(0, 600))
        step("join", "scheduled", "waiting", waiting_since)
        admit = max(waiting_since, start) + timedelta(seconds=round(rng.expovariate(1 / 150)))
        step("admit", "waiting", "admitted", admit)
        step("offer", "admitted", "connecting", admit + timedelta(milliseconds=400))
        if rng.random() < 0.02:  # never connected
            step("lost", "connecting", "reconnecting", admit + timedelta(seconds=20))
            step("end", "reconnecting", "ended", admit + timedelta(seconds=80), "dropped")
            outcome = "dropped"
        else:
            at = admit + timedelta(milliseconds=rng.randint(800, 9000))
            step("connected", "connecting", "in_call", at)
            draw = rng.random()
            for _ in range(0 if draw < 0.9 else 1 if draw < 0.98 else 2):
                at += timedelta(seconds=rng.randint(30, 200))
                step("lost", "in_call", "reconnecting", at)
                at += timedelta(seconds=rng.randint(2, 15))
                step("connected", "reconnecting", "in_call", at)
            talk = (end - start) * rng.uniform(0.4, 1.3)
            finish = max(at + timedelta(seconds=10), admit + talk)
            if rng.random() < 0.02:
                step("lost", "in_call", "reconnecting", finish)
                step("end", "reconnecting", "ended", finish + timedelta(seconds=60), "dropped")
                outcome = "dropped"
            else:
                outcome = "follow_up" if rng.random() < 0.15 else "done"
                step("end", "in_call", "ended", finish, "done")
                step("record", "ended", "ended", finish + timedelta(seconds=20), outcome)
                fee = fees.get(service_id)
                if fee is not None and outcome == "done":
                    _payment(rng, ident, fee, admit + (finish - admit) / 2, payments)
    relayed = None
    if any(step[0] == "connected" for step in steps) and paths.random() >= 0.1:
        relayed = paths.random() < 0.12
    last = steps[-1][4]
    first = {}
    for event, _, _, _, at in steps:
        first.setdefault(event, at)
    calls.append(
        (
            ident, "ended", outcome, counter, None, waiting_since, last,
            "Notiz" if rng.random() < 0.1 else None, first.get("admit"), first.get("connected"),
            first.get("end"), sum(1 for step in steps if step[0] == "lost"), relayed,
        )
    )  # fmt: skip
    events.extend((ident, e, b, a, o, at, counter) for e, b, a, o, at in steps)


def _payment(rng: random.Random, ident: uuid.UUID, fee: Any, asked: datetime, out: list) -> None:
    quantity = 2 if rng.random() < 0.15 else 1
    draw = rng.random()
    state = "paid" if draw < 0.9 else "failed" if draw < 0.95 else "cancelled"
    line = {
        "code": fee.code,
        "label": fee.label_de,
        "quantity": quantity,
        "unit_cents": fee.amount_cents,
    }
    out.append(
        (
            uuid.UUID(int=rng.getrandbits(128), version=4), ident,
            uuid.UUID(int=rng.getrandbits(128)).hex, [line], fee.amount_cents * quantity,
            fee.purpose, "http://hub.invalid/pay", state, asked, asked + timedelta(minutes=30),
            asked + timedelta(seconds=rng.randint(20, 240)), "call", "",
        )
    )  # fmt: skip
