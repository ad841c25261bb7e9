"""Statistics over a seeded year (issue 18, point 5): 90,000 appointments with calls, call
events, outcomes, device checks and payments (tests/support/statistics_year.py), on SQLite and
PostgreSQL. Each figure of hub.operations.statistics is checked against a count made here
independently: plain SQL over the raw rows (the calls' events, not the milestones the
statistics read), with Berlin's weekday, hour and month and the percentiles worked out in
Python. Then the page: a supervisor sees every figure with its plot, each CSV equals its table,
IT gets 403; and the figures survive the retention job's blanking.

One database per backend for the whole module (seeding takes seconds); the retention test
comes last because it changes it."""

from __future__ import annotations

import csv
import io
import re
import shutil
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser

import holidays
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from hub import create_app
from hub.booking.timezone import BERLIN
from hub.operations import statistics as stats
from hub.operations.accounts import add_user
from hub.operations.retention import forget_past
from hub.store import Store
from hub.store.migrate import upgrade
from hub.store.seed import seed_defaults
from tests.integration.test_admin_sign_in import PASSWORD, Clock, first_sign_in
from tests.support.environment import MONDAY_EARLY, POSTGRES_URL, need_postgres
from tests.support.hub import make_settings
from tests.support.statistics_year import seed_year

NOW = MONDAY_EARLY  # Monday 2 March 2026, 07:00 in Berlin; the year ends a week later
TOLERANCE = 0.002  # seconds: SQLite computes durations from Julian days, rounded to 1 ms


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def year(request, sqlite_template, tmp_path_factory):
    """A database of its own holding the seeded year: (store, Year)."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("statistics") / "hub.sqlite3"
        shutil.copy(sqlite_template, path)
        url, drop = f"sqlite:///{path}", None
    else:
        need_postgres()
        name = "bv_stats_" + re.sub(r"\W", "", request.node.name)[-20:].lower()
        admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
        upgrade(url)

        def drop():
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()

    store = Store(url)
    with store.transaction() as session:
        seed_defaults(session, without_appliance=True)
    seeded = seed_year(store, NOW)
    yield store, seeded
    store.dispose()
    if drop:
        drop()


def period_of(seeded, service=None) -> stats.Period:
    return stats.Period(seeded.first_day, seeded.last_day, service)


def rows(store, sql: str, **params) -> list:
    with store.engine.connect() as conn:
        return list(conn.execute(text(sql), params))


def utc(value) -> datetime:
    """A raw timestamp as the driver returns it (SQLite: naive UTC text)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def local(value) -> datetime:
    return utc(value).astimezone(BERLIN)


def month(value) -> str:
    return local(value).strftime("%Y-%m")


def nearest_rank(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, -(-int(p * 10) * len(ordered) // 10)) - 1]


def bounds(period: stats.Period) -> dict:
    return {"s": period.start, "e": period.end}


IN_PERIOD = "a.start_at >= :s AND a.start_at < :e"


def check_spread(table: stats.Table, expected: dict, service_column: bool = True) -> None:
    """count, median and p90 per key (None: all) equal the values counted here."""
    got = {row[0]: row[-3:] for row in table.rows}
    assert set(got) == set(expected)
    for key, values in expected.items():
        n, p50, p90 = got[key]
        assert n == len(values), key
        assert p50 == pytest.approx(nearest_rank(values, 0.5), abs=TOLERANCE), key
        assert p90 == pytest.approx(nearest_rank(values, 0.9), abs=TOLERANCE), key


def per_service_and_all(pairs) -> dict:
    found: dict = defaultdict(list)
    for service, value in pairs:
        found[service].append(value)
        found[None].append(value)
    return found


def test_the_seeded_year_is_a_year_of_calls(year):
    store, seeded = year
    assert seeded.appointments == 90_000
    assert seeded.calls > 80_000 and seeded.events > 400_000 and seeded.payments > 20_000
    counted = rows(store, "SELECT count(*) FROM call_events")[0][0]
    assert counted == seeded.events


def test_appointments_per_service_weekday_and_hour_equal_plain_counts(year):
    store, seeded = year
    period = period_of(seeded)
    got = stats.compute(store, period, NOW, ("services", "weekdays", "hours"))

    counted = rows(
        store,
        f"SELECT a.service_id, a.status, count(*) FROM appointments a WHERE {IN_PERIOD}"
        " GROUP BY a.service_id, a.status",
        **bounds(period),
    )
    expected = defaultdict(lambda: [0, 0])
    for service, status, n in counted:
        if status in ("booked", "cancelled"):
            expected[service][0 if status == "booked" else 1] = n
    assert {s: [b, c] for s, b, c in got["services"].rows} == dict(expected)
    assert sum(b for _s, b, _c in got["services"].rows) > 80_000

    starts = [
        local(r[0])
        for r in rows(
            store,
            f"SELECT a.start_at FROM appointments a WHERE {IN_PERIOD} AND a.status = 'booked'",
            **bounds(period),
        )
    ]
    weekdays = Counter(at.weekday() for at in starts)
    assert dict(got["weekdays"].rows) == {d: weekdays.get(d, 0) for d in range(7)}
    assert weekdays[5] == weekdays[6] == 0 and weekdays[2] > weekdays[0]  # Wednesday afternoons
    hours = Counter(at.hour for at in starts)
    span = range(min(hours), max(hours) + 1)
    assert dict(got["hours"].rows) == {h: hours.get(h, 0) for h in span}
    assert min(hours) == 8 and hours[12] == hours[13] == 0  # the lunch break


def test_offered_and_booked_counter_time_per_month(year):
    store, seeded = year
    period = period_of(seeded)
    (table,) = stats.compute(store, period, NOW, ("capacity",)).values()
    # Offered, counted here: 20 counters on the standard hours, BW's public holidays off.
    open_hours = {0: 4, 1: 4, 2: 7.5, 3: 6, 4: 4}
    public = holidays.country_holidays("DE", subdiv="BW", years=[2025, 2026])
    offered: Counter = Counter()
    day = period.first_day
    while day <= period.last_day:
        if day.weekday() in open_hours and day not in public:
            offered[day.strftime("%Y-%m")] += 20 * open_hours[day.weekday()] * 60
        day += timedelta(days=1)
    booked: Counter = Counter()
    for start, end in rows(
        store,
        f"SELECT a.start_at, a.end_at FROM appointments a WHERE {IN_PERIOD}"
        " AND a.status = 'booked'",
        **bounds(period),
    ):
        booked[month(start)] += (utc(end) - utc(start)).total_seconds() / 60
    assert [r[0] for r in table.rows] == period.months()
    for m, o, b in table.rows:
        assert o == offered[m], m
        assert b == round(booked[m]), m
    assert 0.5 < sum(r[2] for r in table.rows) / sum(r[1] for r in table.rows) < 1.0


def test_lead_time_median_and_p90_per_service(year):
    store, seeded = year
    period = period_of(seeded)
    (table,) = stats.compute(store, period, NOW, ("lead_time",)).values()
    pairs = [
        (s, (utc(start) - utc(created)).total_seconds())
        for s, start, created in rows(
            store,
            f"SELECT a.service_id, a.start_at, a.created_at FROM appointments a"
            f" WHERE {IN_PERIOD} AND a.status = 'booked'",
            **bounds(period),
        )
    ]
    check_spread(table, per_service_and_all(pairs))
    assert table.rows[-1][0] is None  # all services together, last


def test_no_shows_and_outcomes_equal_plain_counts(year):
    store, seeded = year
    period = period_of(seeded)
    got = stats.compute(store, period, NOW, ("no_show", "outcomes"))
    due = rows(
        store,
        f"SELECT a.service_id, a.start_at, c.outcome FROM appointments a"
        f" LEFT JOIN calls c ON c.appointment_id = a.id"
        f" WHERE {IN_PERIOD} AND a.status = 'booked' AND a.start_at < :now",
        now=NOW,
        **bounds(period),
    )
    per_month: dict = defaultdict(lambda: [0, 0])
    for _s, start, outcome in due:
        per_month[month(start)][0] += 1
        per_month[month(start)][1] += outcome == "no_show"
    assert {m: [d, x] for m, d, x in got["no_show"].rows if d} == dict(per_month)
    no_shows = sum(x for _m, _d, x in got["no_show"].rows)
    assert 0.05 < no_shows / len(due) < 0.09

    outcomes = defaultdict(Counter)
    for s, _start, outcome in due:
        outcomes[s][outcome or "open"] += 1
    assert got["outcomes"].columns[1:] == stats.OUTCOMES
    for service, *counts in got["outcomes"].rows:
        assert dict(zip(stats.OUTCOMES, counts, strict=True)) == {
            o: outcomes[service][o] for o in stats.OUTCOMES
        }
    assert {r[0] for r in got["outcomes"].rows} == set(outcomes)


def call_facts(store, period):
    """Per admitted call of a booked appointment, from its events alone: service, month,
    admitted, the last entry into the waiting room before it, first connected, ended, losses,
    outcome."""
    events = defaultdict(list)
    for ident, event, before, at in rows(
        store,
        f"SELECT e.appointment_id, e.event, e.before, e.at FROM call_events e"
        f" JOIN appointments a ON a.id = e.appointment_id"
        f" WHERE {IN_PERIOD} AND a.status = 'booked'",
        **bounds(period),
    ):
        events[ident].append((utc(at), event, before))
    facts = []
    for service, start, ident, outcome in rows(
        store,
        f"SELECT a.service_id, a.start_at, a.id, c.outcome FROM appointments a"
        f" JOIN calls c ON c.appointment_id = a.id WHERE {IN_PERIOD} AND a.status = 'booked'",
        **bounds(period),
    ):
        steps = sorted(events[ident])
        admitted = [at for at, event, _b in steps if event == "admit"]
        if not admitted:
            continue
        joined = max(
            at
            for at, event, before in steps
            if event == "join" and before == "scheduled" and at <= admitted[0]
        )
        connected = [at for at, event, _b in steps if event == "connected"]
        ended = [at for at, event, _b in steps if event == "end"]
        facts.append(
            {
                "service": service,
                "month": month(start),
                "wait": (admitted[0] - joined).total_seconds(),
                "setup": (connected[0] - admitted[0]).total_seconds() if connected else None,
                "duration": (ended[0] - admitted[0]).total_seconds() if ended else None,
                "lost": sum(1 for _at, event, _b in steps if event == "lost"),
                "outcome": outcome,
            }
        )
    return facts


def test_wait_call_length_set_up_and_drops_equal_the_events(year):
    store, seeded = year
    period = period_of(seeded)
    got = stats.compute(store, period, NOW, ("wait", "duration", "setup", "drops"))
    facts = call_facts(store, period)
    assert len(facts) > 70_000

    check_spread(got["wait"], per_service_and_all((f["service"], f["wait"]) for f in facts))
    durations = per_service_and_all(
        (f["service"], f["duration"]) for f in facts if f["duration"] is not None
    )
    check_spread(got["duration"], durations)
    booked = {s.id: s.duration_minutes for s in stats.services(store)}
    for row in got["duration"].rows:
        assert row[1] == (booked[row[0]] if row[0] else None)

    by_month = defaultdict(list)
    for f in facts:
        by_month[f["month"]].append(f)
    for m, admitted, connected, p50, p90 in got["setup"].rows:
        calls = by_month.get(m, [])
        setups = [f["setup"] for f in calls if f["setup"] is not None]
        assert (admitted, connected) == (len(calls), len(setups)), m
        if setups:
            assert p50 == pytest.approx(nearest_rank(setups, 0.5), abs=TOLERANCE)
            assert p90 == pytest.approx(nearest_rank(setups, 0.9), abs=TOLERANCE)
        else:
            assert p50 is None and p90 is None
    for m, admitted, interrupted, interruptions, dropped in got["drops"].rows:
        calls = by_month.get(m, [])
        assert admitted == len(calls)
        assert interrupted == sum(1 for f in calls if f["lost"])
        assert interruptions == sum(f["lost"] for f in calls)
        assert dropped == sum(1 for f in calls if f["outcome"] == "dropped")
    assert sum(r[4] for r in got["drops"].rows) > 1000


def test_the_relayed_share_equals_the_calls_reported_paths(year):
    store, seeded = year
    period = period_of(seeded)
    (table,) = stats.compute(store, period, NOW, ("relayed",)).values()
    # Calls let in (an admission among their events) whose path a party reported.
    paths = rows(
        store,
        f"SELECT a.start_at, c.relayed FROM appointments a"
        f" JOIN calls c ON c.appointment_id = a.id"
        f" WHERE {IN_PERIOD} AND a.status = 'booked' AND c.relayed IS NOT NULL"
        f" AND EXISTS (SELECT 1 FROM call_events e"
        f" WHERE e.appointment_id = a.id AND e.event = 'admit')",
        **bounds(period),
    )
    known: Counter = Counter()
    relayed: Counter = Counter()
    for start, through_relay in paths:
        known[month(start)] += 1
        relayed[month(start)] += bool(through_relay)
    assert table.columns == ("month", "path_known", "relayed")
    assert [r[0] for r in table.rows] == period.months()
    assert {m: (k, r) for m, k, r in table.rows if k} == {m: (known[m], relayed[m]) for m in known}
    unknown = rows(
        store,
        f"SELECT count(*) FROM appointments a JOIN calls c ON c.appointment_id = a.id"
        f" WHERE {IN_PERIOD} AND a.status = 'booked' AND c.relayed IS NULL"
        f" AND c.connected_at IS NOT NULL",
        **bounds(period),
    )[0][0]
    assert unknown > 1000  # calls nobody reported a path for are left out, not counted direct
    assert 0.08 < sum(relayed.values()) / sum(known.values()) < 0.16

    one = period_of(seeded, "fuehrungszeugnis")
    (narrowed,) = stats.compute(store, one, NOW, ("relayed",)).values()
    counted = rows(
        store,
        f"SELECT count(c.relayed), sum(CASE WHEN c.relayed THEN 1 ELSE 0 END)"
        f" FROM appointments a JOIN calls c ON c.appointment_id = a.id"
        f" WHERE {IN_PERIOD} AND a.status = 'booked' AND a.service_id = 'fuehrungszeugnis'"
        f" AND c.admitted_at IS NOT NULL",
        **bounds(one),
    )[0]
    assert (sum(r[1] for r in narrowed.rows), sum(r[2] for r in narrowed.rows)) == tuple(counted)
    assert 0 < counted[1] < counted[0] < sum(known.values())


def test_device_checks_and_fees_equal_plain_counts(year):
    store, seeded = year
    period = period_of(seeded)
    got = stats.compute(store, period, NOW, ("device_check", "fees"))
    checks = dict(
        rows(
            store,
            f"SELECT CASE WHEN a.device_check IS NOT NULL THEN a.device_check"
            f" WHEN a.name = '—' THEN 'forgotten' ELSE 'none' END, count(*)"
            f" FROM appointments a WHERE {IN_PERIOD} AND a.status = 'booked' GROUP BY 1",
            **bounds(period),
        )
    )
    assert dict(got["device_check"].rows) == {k: checks.get(k, 0) for k in stats.DEVICE_CHECKS}

    paid: Counter = Counter()
    count: Counter = Counter()
    for service, final_at, cents in rows(
        store,
        "SELECT a.service_id, p.final_at, p.total_cents FROM payment_requests p"
        " JOIN appointments a ON a.id = p.appointment_id"
        " WHERE p.state = 'paid' AND p.final_at >= :s AND p.final_at < :e",
        **bounds(period),
    ):
        paid[(month(final_at), service)] += cents
        count[(month(final_at), service)] += 1
    shown = {(m, s): (n, c) for m, s, n, c in got["fees"].rows}
    assert {k: v for k, v in shown.items() if v[0]} == {k: (count[k], paid[k]) for k in paid}
    assert {s for _m, s in shown} == {
        "meldebescheinigung",
        "melderegisterauskunft",
        "fuehrungszeugnis",
        "bewohnerparkausweis",
    }


def test_one_service_narrows_every_figure(year):
    store, seeded = year
    period = period_of(seeded, "fuehrungszeugnis")
    got = stats.compute(store, period, NOW)
    assert [r[0] for r in got["services"].rows] == ["fuehrungszeugnis"]
    booked = rows(
        store,
        f"SELECT count(*) FROM appointments a WHERE {IN_PERIOD}"
        " AND a.status = 'booked' AND a.service_id = 'fuehrungszeugnis'",
        **bounds(period),
    )[0][0]
    assert got["services"].rows[0][1] == booked
    assert sum(n for _d, n in got["weekdays"].rows) == booked
    assert [r[0] for r in got["lead_time"].rows] == ["fuehrungszeugnis"]  # no "all" row
    assert {s for _m, s, _n, _c in got["fees"].rows} == {"fuehrungszeugnis"}
    assert sum(r[1] for r in got["setup"].rows) == got["wait"].rows[0][1]


def test_periods_are_whole_berlin_days_and_bad_ones_are_refused():
    period = stats.Period(date(2026, 3, 29), date(2026, 3, 29))  # the day clocks go forward
    assert period.start == datetime(2026, 3, 28, 23, 0, tzinfo=UTC)
    assert period.end - period.start == timedelta(hours=23)
    assert stats.Period(date(2025, 12, 15), date(2026, 2, 1)).months() == [
        "2025-12",
        "2026-01",
        "2026-02",
    ]
    with pytest.raises(stats.PeriodError):
        stats.Period(date(2026, 3, 2), date(2026, 3, 1))
    with pytest.raises(stats.PeriodError):
        stats.Period(date(2020, 1, 1), date(2026, 3, 1))
    spans = stats.offset_spans(datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    assert spans[1:] == [
        (datetime(2026, 3, 29, 1, 0, tzinfo=UTC), 120),
        (datetime(2026, 10, 25, 1, 0, tzinfo=UTC), 60),
    ]


# --- the calls' milestones, which the statistics read -------------------------------------


def test_a_calls_milestones_follow_its_steps(store):
    from hub.calls.lifecycle import Event, Outcome
    from hub.calls.window import JoinWindow
    from hub.operations import calls
    from hub.store.models import CallRow
    from tests.support.environment import berlin
    from tests.support.realtime_clients import make_desk

    at = berlin(2026, 3, 2, 8, 50)
    desk = make_desk(store, at)
    booking = desk.book(berlin(2026, 3, 2, 9, 0))
    window = JoinWindow(timedelta(minutes=15), timedelta(minutes=15))
    device = desk.device_ids[booking.counter]
    times = [at + timedelta(seconds=s) for s in (0, 90, 91, 95, 300, 310, 900, 930)]
    calls.citizen_join(store, booking.join_token, "page", times[0], window)
    calls.admit(store, booking.id, device, booking.counter, 1, times[1], timedelta(seconds=30))
    calls.advance(store, booking.id, Event.OFFER, times[2])
    calls.advance(store, booking.id, Event.CONNECTED, times[3])
    calls.advance(store, booking.id, Event.LOST, times[4])
    calls.advance(store, booking.id, Event.CONNECTED, times[5])
    calls.advance(store, booking.id, Event.END, times[6], Outcome.DONE)
    calls.record_outcome(store, booking.id, Outcome.FOLLOW_UP, None, times[7], device)
    with store.transaction() as session:
        row = session.get(CallRow, booking.id)
        assert (row.waiting_since, row.admitted_at, row.connected_at, row.ended_at) == (
            times[0],
            times[1],
            times[3],
            times[6],
        )
        assert row.interruptions == 1 and row.outcome == "follow_up"


def test_the_migration_fills_the_milestones_of_earlier_calls(db_url):
    from hub.store.migrate import downgrade

    downgrade(db_url, "0017")
    store = Store(db_url)
    with store.transaction() as session:
        seed_defaults(session, without_appliance=True)
    start = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    ident = "0" * 31 + "1"
    with store.engine.begin() as conn:
        counter = conn.execute(text("SELECT min(id) FROM counters")).scalar()
        uid = ident if store.dialect == "sqlite" else "00000000-0000-0000-0000-000000000001"
        conn.execute(
            text(
                "INSERT INTO appointments (id, service_id, counter_id, start_at, end_at, status,"
                " name, email, locale, manage_token_hash, join_token_hash, created_at, updated_at,"
                " revision) VALUES (:id, 'anmeldung', :c, :s, :e, 'booked', 'A', 'a@b.de', 'de',"
                " 'm', 'j', :s, :s, 0)"
            ),
            {"id": uid, "c": counter, "s": stamp(store, start), "e": stamp(store, start, 20)},
        )
        conn.execute(
            text(
                "INSERT INTO calls (appointment_id, state, outcome, counter_id, updated_at)"
                " VALUES (:id, 'ended', 'done', :c, :s)"
            ),
            {"id": uid, "c": counter, "s": stamp(store, start, 15)},
        )
        steps = [("join", 0), ("admit", 1), ("connected", 2), ("lost", 5), ("connected", 6)]
        for event, minute in [*steps, ("lost", 8), ("connected", 9), ("end", 15)]:
            conn.execute(
                text(
                    "INSERT INTO call_events (appointment_id, event, before, after, at)"
                    " VALUES (:id, :ev, 'x', 'y', :at)"
                ),
                {"id": uid, "ev": event, "at": stamp(store, start, minute)},
            )
    store.dispose()
    upgrade(db_url)
    found = rows(
        Store(db_url),
        "SELECT admitted_at, connected_at, ended_at, interruptions FROM calls",
    )
    admitted, connected, ended, interruptions = found[0]
    assert [utc(admitted), utc(connected), utc(ended)] == [
        start + timedelta(minutes=m) for m in (1, 2, 15)
    ]
    assert interruptions == 2


def stamp(store, at: datetime, minutes: int = 0):
    """A time as raw SQL needs it on this database."""
    at = at + timedelta(minutes=minutes)
    return at.strftime("%Y-%m-%d %H:%M:%S.%f") if store.dialect == "sqlite" else at


# --- the appointments' Berlin month, weekday and hour, which the statistics read ----------


def local_start(store, ident) -> tuple:
    from hub.store.models import AppointmentRow

    with store.transaction() as session:
        row = session.get(AppointmentRow, ident)
        return row.local_month, row.local_weekday, row.local_hour


def test_an_appointment_keeps_its_berlin_month_weekday_and_hour_when_booked_and_moved(store):
    from hub.operations.booking import reschedule
    from tests.support.environment import berlin
    from tests.support.realtime_clients import make_desk

    desk = make_desk(store, berlin(2026, 3, 2, 7, 0))
    booking = desk.book(berlin(2026, 3, 27, 11, 0))  # a Friday, 10:00 UTC
    assert local_start(store, booking.id) == (202603, 4, 11)
    moved = berlin(2026, 4, 1, 14, 30)  # a Wednesday in summer time, 12:30 UTC
    reschedule(store, desk.store_policy, desk.now, booking.id, booking.manage_token, moved)
    assert local_start(store, booking.id) == (202604, 2, 14)


def raw_appointment(conn, store, n: int, counter: int, start: datetime) -> None:
    """An appointment as a hub before migration 0020 wrote it (no local_* columns)."""
    ident = f"{n:032x}" if store.dialect == "sqlite" else f"00000000-0000-0000-0000-{n:012x}"
    conn.execute(
        text(
            "INSERT INTO appointments (id, service_id, counter_id, start_at, end_at, status,"
            " name, email, locale, manage_token_hash, join_token_hash, created_at, updated_at,"
            " revision) VALUES (:id, 'anmeldung', :c, :s, :e, 'booked', 'A', 'a@b.de', 'de',"
            " :m, :j, :s, :s, 0)"
        ),
        {
            "id": ident,
            "c": counter,
            "s": stamp(store, start),
            "e": stamp(store, start, 20),
            "m": f"m{n}",
            "j": f"j{n}",
        },
    )


def test_the_migration_fills_the_local_start_and_rows_without_it_count_alike(db_url):
    from hub.store.migrate import downgrade

    downgrade(db_url, "0019")
    store = Store(db_url)
    with store.transaction() as session:
        seed_defaults(session, without_appliance=True)
    with store.engine.begin() as conn:
        counter = conn.execute(text("SELECT min(id) FROM counters")).scalar()
        # 01:30 on the night clocks go forward; 02:30 summer time on the night they go back
        raw_appointment(conn, store, 1, counter, datetime(2026, 3, 29, 0, 30, tzinfo=UTC))
        raw_appointment(conn, store, 2, counter, datetime(2025, 10, 26, 0, 30, tzinfo=UTC))
    store.dispose()
    upgrade(db_url)
    store = Store(db_url)
    found = rows(store, "SELECT local_month, local_weekday, local_hour FROM appointments")
    assert sorted(tuple(r) for r in found) == [(202510, 6, 2), (202603, 6, 1)]

    # Written without them (say, by a hub not yet upgraded): converted when counted.
    with store.engine.begin() as conn:
        raw_appointment(conn, store, 3, counter, datetime(2026, 3, 31, 21, 30, tzinfo=UTC))
        raw_appointment(conn, store, 4, counter, datetime(2026, 2, 28, 23, 30, tzinfo=UTC))
    period = stats.Period(date(2026, 3, 1), date(2026, 3, 31))
    got = stats.compute(store, period, NOW, ("weekdays", "hours", "capacity", "no_show"))
    assert dict(got["weekdays"].rows) == {0: 0, 1: 1, 2: 0, 3: 0, 4: 0, 5: 0, 6: 2}
    hours = dict(got["hours"].rows)
    assert (hours[0], hours[1], hours[23], sum(hours.values())) == (1, 1, 1, 3)
    assert got["capacity"].rows[0][::2] == ("2026-03", 60)
    assert got["no_show"].rows[0] == ("2026-03", 1, 0)  # only 1 March lies before NOW
    store.dispose()


# --- appointment_statistics, which the statistics read: kept by triggers ------------------


def computed_rows(store) -> list:
    """appointment_statistics as migration 0022 defines it, computed afresh from appointments
    and calls."""
    import importlib.util
    from pathlib import Path

    import hub.store

    path = Path(hub.store.__file__).parent / "migrations/versions/0022_appointment_statistics.py"
    spec = importlib.util.spec_from_file_location("migration_0022", path)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    columns = ", ".join(migration.COLUMNS)
    kept = rows(store, f"SELECT {columns} FROM appointment_statistics ORDER BY appointment_id")
    fresh = rows(store, f"{migration.select_rows(store.dialect)} ORDER BY a.id")
    return [kept, fresh]


def test_appointment_statistics_follow_every_write(store):
    """Booking, moving, cancelling, a device check, a whole call with a relayed path, the
    retention job, plain SQL without local_* and deleting: the triggers keep each appointment's
    row as migration 0022 defines it."""
    from hub.calls.lifecycle import Event, Outcome, State
    from hub.calls.window import JoinWindow
    from hub.operations import calls
    from hub.operations.booking import cancel, reschedule
    from tests.support.environment import berlin
    from tests.support.realtime_clients import make_desk

    at = berlin(2026, 3, 2, 8, 50)
    desk = make_desk(store, at)
    kept = desk.book(berlin(2026, 3, 2, 9, 0))
    moved = desk.book(berlin(2026, 3, 3, 9, 0), n=1)
    dropped = desk.book(berlin(2026, 3, 4, 9, 0), n=2, service="anmeldung")
    reschedule(
        store, desk.store_policy, at, moved.id, moved.manage_token, berlin(2026, 3, 4, 14, 30)
    )
    cancel(store, at, dropped.id, dropped.manage_token)
    assert calls.record_device_check(store, kept.join_token, "audio_only", at)
    window = JoinWindow(timedelta(minutes=15), timedelta(minutes=15))
    device = desk.device_ids[kept.counter]
    steps = [at + timedelta(seconds=s) for s in (0, 90, 91, 95, 300, 310, 900, 930)]
    calls.citizen_join(store, kept.join_token, "page", steps[0], window)
    calls.admit(store, kept.id, device, kept.counter, 1, steps[1], timedelta(seconds=30))
    calls.advance(store, kept.id, Event.OFFER, steps[2])
    calls.advance_unless(store, kept.id, Event.CONNECTED, State.IN_CALL, steps[3], relayed=True)
    calls.advance(store, kept.id, Event.LOST, steps[4])
    calls.advance(store, kept.id, Event.CONNECTED, steps[5])
    calls.advance(store, kept.id, Event.END, steps[6], Outcome.DONE)
    calls.record_outcome(store, kept.id, Outcome.FOLLOW_UP, None, steps[7], device)
    kept_rows, fresh = computed_rows(store)
    assert kept_rows == fresh and len(fresh) == 3
    row = rows(
        store,
        "SELECT status, admitted, connected, interruptions, relayed, outcome, device_check,"
        " wait_us, setup_us, duration_us FROM appointment_statistics WHERE appointment_id = :i",
        i=kept.id if store.dialect == "postgresql" else kept.id.hex,
    )[0]
    assert tuple(row) == (
        "booked",
        True,
        True,
        1,
        True,
        "follow_up",
        "audio_only",
        90_000_000,
        5_000_000,
        810_000_000,
    )

    forget_past(store, berlin(2026, 4, 20, 12, 0), timedelta(days=30))
    with store.engine.begin() as conn:
        counter = conn.execute(text("SELECT min(id) FROM counters")).scalar()
        raw_appointment(conn, store, 7, counter, datetime(2026, 3, 31, 21, 30, tzinfo=UTC))
        conn.execute(
            text("DELETE FROM appointments WHERE id = :i"),
            {"i": dropped.id if store.dialect == "postgresql" else dropped.id.hex},
        )
    kept_rows, fresh = computed_rows(store)
    assert kept_rows == fresh and len(fresh) == 3
    assert {r[-2] for r in kept_rows} >= {"forgotten"}  # device_check, after retention


# --- the page -----------------------------------------------------------------------------


class Tables(HTMLParser):
    """Each figure's table on the page: {section id: [header, *rows]} of cell texts."""

    def __init__(self) -> None:
        super().__init__()
        self.found: dict[str, list[list[str]]] = {}
        self.section: str | None = None
        self.row: list[str] | None = None
        self.cell: list[str] | None = None
        self.images: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section" and "stat" in (attrs.get("class") or ""):
            self.section = attrs["id"]
            self.found[self.section] = []
        elif tag == "img" and self.section:
            self.images[self.section] = attrs["src"]
        elif tag == "tr" and self.section:
            self.row = []
        elif tag in ("th", "td") and self.row is not None:
            self.cell = []

    def handle_endtag(self, tag):
        if tag in ("th", "td") and self.cell is not None and self.row is not None:
            self.row.append("".join(self.cell).strip())
            self.cell = None
        elif tag == "tr" and self.row is not None and self.section:
            self.found[self.section].append(self.row)
            self.row = None
        elif tag == "section":
            self.section = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


@pytest.fixture
def office(year, tmp_path):
    """The hub in-process on the seeded year, with a supervisor and an IT account."""
    store, seeded = year
    clock = Clock()
    app = create_app(
        make_settings(tmp_path, database_url=store.url), clock=clock, store=store, TESTING=True
    )
    with store.transaction() as session:
        session.execute(text("DELETE FROM audit_log"))
        session.execute(text("DELETE FROM users"))
    add_user(store, "leitung", PASSWORD, "supervisor", NOW, "Frau Leitung")
    add_user(store, "technik", PASSWORD, "it", NOW)
    return app, clock, seeded


def query(seeded, **more) -> str:
    params = {"from": seeded.first_day.isoformat(), "to": seeded.last_day.isoformat(), **more}
    return "&".join(f"{k}={v}" for k, v in params.items())


def test_the_page_shows_every_figure_and_each_csv_equals_its_table(office):
    app, clock, seeded = office
    client = app.test_client()
    first_sign_in(client, clock, "leitung")
    home = client.get("/admin/?lang=de").data.decode()
    assert 'href="/admin/statistics"' in home and "Statistik" in home

    for lang in ("de", "en"):
        answer = client.get(f"/admin/statistics?{query(seeded, lang=lang)}")
        assert answer.status_code == 200
        page = answer.data.decode()
        assert ("Termine je Anliegen" if lang == "de" else "Appointments per service") in page
        tables = Tables()
        tables.feed(page)
        assert list(tables.found) == list(stats.FIGURES)
        for figure, table in tables.found.items():
            assert tables.images[figure].startswith("data:image/svg+xml;base64,")
            assert len(table) > 1, figure
            shown = client.get(f"/admin/statistics/{figure}.csv?{query(seeded, lang=lang)}")
            assert shown.status_code == 200
            assert shown.headers["Content-Type"] == "text/csv; charset=utf-8"
            body = shown.data.decode("utf-8")
            assert body.startswith("\ufeff")
            assert list(csv.reader(io.StringIO(body[1:]), delimiter=";")) == table, figure
        if lang == "de":
            outcomes = tables.found["outcomes"]
            assert outcomes[0][:4] == [
                "Anliegen",
                "Erledigt",
                "Nachbearbeitung nötig",
                "Nicht erschienen",
            ]
            weekday = dict(tables.found["weekdays"][1:])
            assert weekday["Samstag"] == "0" and int(weekday["Mittwoch"]) > 10_000
            lead = tables.found["lead_time"][-1]
            assert lead[0] == "Alle Anliegen" and re.fullmatch(r"\d+,\d", lead[2])

    narrowed = client.get(f"/admin/statistics?{query(seeded, service='fuehrungszeugnis')}")
    tables = Tables()
    tables.feed(narrowed.data.decode())
    assert [row[0] for row in tables.found["services"][1:]] == ["Certificate of good conduct"]


def test_bad_filters_are_answered_and_other_roles_refused(office):
    app, clock, seeded = office
    client = app.test_client()
    first_sign_in(client, clock, "leitung")
    wrong = client.get("/admin/statistics?from=2026-03-02&to=2026-03-01&lang=de")
    assert wrong.status_code == 422
    assert "Der letzte Tag liegt vor dem ersten." in wrong.data.decode()
    assert client.get("/admin/statistics?from=gestern&lang=de").status_code == 422
    assert client.get("/admin/statistics?service=nichts").status_code == 422
    assert client.get(f"/admin/statistics/nothing.csv?{query(seeded)}").status_code == 404
    assert client.get("/admin/statistics/fees.csv?from=2020-01-01&to=2026-01-01").status_code == 422
    default = client.get("/admin/statistics?lang=de").data.decode()  # the last twelve months
    assert 'value="2025-04-01"' in default and 'value="2026-03-02"' in default

    it = app.test_client()
    first_sign_in(it, clock, "technik")
    assert it.get("/admin/statistics").status_code == 403
    assert it.get(f"/admin/statistics/fees.csv?{query(seeded)}").status_code == 403
    assert "/admin/statistics" not in it.get("/admin/?lang=de").data.decode()
    anonymous = app.test_client()
    assert anonymous.get("/admin/statistics").headers["Location"].startswith("/admin/sign-in")


# --- survives retention: last, it blanks the module's database -----------------------------


def test_the_figures_survive_the_retention_blanking(year):
    store, seeded = year
    period = period_of(seeded)
    before = stats.compute(store, period, NOW)
    forgotten = forget_past(store, NOW, timedelta(days=30))
    assert forgotten > 70_000
    after = stats.compute(store, period, NOW)
    for figure in stats.FIGURES:
        if figure != "device_check":
            assert after[figure] == before[figure], figure
    checks_before, checks_after = (
        dict(before["device_check"].rows),
        dict(after["device_check"].rows),
    )
    assert sum(checks_after.values()) == sum(checks_before.values())
    assert checks_before["forgotten"] == 0 and checks_after["forgotten"] > 60_000
    assert checks_after["ready"] < checks_before["ready"]
