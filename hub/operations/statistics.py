"""The office's statistics (issue 18, point 5; docs/admin-guide.md, "Statistics"): aggregates
only, each one query the database answers with counts, sums and percentiles, never a list of
people.

Everything is computed from what the retention job (hub/operations/retention.py) leaves in
place: an appointment's times, service, counter and status, its call's state, outcome, waiting
time and step-by-step events, and the payments. The one exception is the citizen's device
check, which retention forgets with the name: that figure covers only appointments not yet
forgotten and says how many were (`device_check`). Connection figures come from the call's
events (admitted → connected, lost, dropped); whether media went through the TURN relay is not
stored anywhere, so there is no relayed share.

Periods are whole days in Berlin; weekday, hour and month are Berlin's too (SQLite keeps no time
zones, so its local time is the stored UTC time shifted by Berlin's offset, span by span).
Percentiles are nearest-rank (the value at rank ⌈p·n⌉), the same on both databases: PostgreSQL's
percentile_disc, and on SQLite the same rank picked with window functions.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import partial
from itertools import pairwise
from typing import Any

from sqlalchemy import (
    CTE,
    ColumnElement,
    Float,
    Integer,
    Select,
    String,
    and_,
    case,
    cast,
    extract,
    func,
    literal,
    null,
    select,
    union_all,
)
from sqlalchemy.engine import Connection

from hub.booking.slots import Counter
from hub.booking.status import Status
from hub.booking.timezone import BERLIN, end_of_local_day, local_date, start_of_local_day
from hub.operations.retention import FORGOTTEN_NAME
from hub.store import Store
from hub.store.models import (
    AppointmentRow,
    CallRow,
    PaymentRequestRow,
    ServiceRow,
)

APPOINTMENTS = AppointmentRow.__table__
CALLS = CallRow.__table__
PAYMENTS = PaymentRequestRow.__table__
SERVICES = ServiceRow.__table__

# Every figure, in the order the page shows them.
FIGURES = (
    "services",
    "weekdays",
    "hours",
    "capacity",
    "lead_time",
    "no_show",
    "outcomes",
    "wait",
    "duration",
    "setup",
    "drops",
    "device_check",
    "fees",
)
# How an ended call ended, as calls.outcome names it; "open": a past appointment without one.
OUTCOMES = ("done", "follow_up", "no_show", "dropped", "cancelled", "open")
DEVICE_CHECKS = ("ready", "audio_only", "needs_help", "none", "forgotten")
LONGEST_PERIOD_DAYS = 3 * 366  # a longer period is refused (it would only be slow)


class PeriodError(ValueError):
    """A period the statistics cannot be asked for."""


@dataclass(frozen=True)
class Period:
    """Whole Berlin days from `first_day` to `last_day` inclusive, optionally one service."""

    first_day: date
    last_day: date
    service_id: str | None = None

    def __post_init__(self) -> None:
        if self.last_day < self.first_day:
            raise PeriodError("the period ends before it begins")
        if (self.last_day - self.first_day).days >= LONGEST_PERIOD_DAYS:
            raise PeriodError("the period is longer than three years")

    @property
    def start(self) -> datetime:
        return start_of_local_day(self.first_day)

    @property
    def end(self) -> datetime:
        return end_of_local_day(self.last_day)

    def months(self) -> list[str]:
        """The months the period touches, as YYYY-MM."""
        found, year, month = [], self.first_day.year, self.first_day.month
        while (year, month) <= (self.last_day.year, self.last_day.month):
            found.append(f"{year:04d}-{month:02d}")
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return found


@dataclass(frozen=True)
class Table:
    """One figure's numbers: stable column keys and rows of plain values (None: no value)."""

    figure: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]


@dataclass(frozen=True)
class ServiceName:
    """A service as the statistics name it (inactive ones too: their past counts)."""

    id: str
    name_de: str
    name_en: str
    duration_minutes: int


def services(store: Store) -> list[ServiceName]:
    """Every service, in display order."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(
                SERVICES.c.id, SERVICES.c.name_de, SERVICES.c.name_en, SERVICES.c.duration_minutes
            ).order_by(SERVICES.c.position, SERVICES.c.id)
        ).all()
    return [ServiceName(r[0], r[1], r[2], r[3]) for r in rows]


# --- local time and durations, per dialect -----------------------------------------------


def offset_spans(start: datetime, end: datetime) -> list[tuple[datetime, int]]:
    """Berlin's UTC offset (minutes) from each instant on, covering [start, end): the first
    entry starts at `start`, a new one at each change (found hourly; Berlin changes on the hour
    in UTC)."""

    def offset(at: datetime) -> int:
        delta = at.astimezone(BERLIN).utcoffset()
        assert delta is not None
        return int(delta.total_seconds() // 60)

    at = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    spans = [(start, offset(start))]
    while at < end:
        day_after = at + timedelta(days=1)
        if offset(day_after) != spans[-1][1]:
            hour = at
            while offset(hour) == spans[-1][1]:
                hour += timedelta(hours=1)
            spans.append((hour, offset(hour)))
            at = hour
        else:
            at = day_after
    return spans


class _Clock:
    """SQL for Berlin's weekday, hour and month of a UTC column, and for seconds between two."""

    def __init__(self, dialect: str, start: datetime, end: datetime) -> None:
        self.postgres = dialect == "postgresql"
        self.spans = [] if self.postgres else offset_spans(start - timedelta(days=1), end)

    def local(self, column: ColumnElement[Any]) -> ColumnElement[Any]:
        if self.postgres:
            return func.timezone("Europe/Berlin", column)
        first, *rest = self.spans
        shift: ColumnElement[Any] = literal(f"{first[1]:+d} minutes")
        if rest:
            shift = case(
                *(
                    (column < at, f"{before[1]:+d} minutes")
                    for before, (at, _) in _pairs(self.spans)
                ),
                else_=f"{rest[-1][1]:+d} minutes",
            )
        return func.datetime(column, shift)

    def weekday(self, column: ColumnElement[Any], local: bool = False) -> ColumnElement[int]:
        """0 = Monday … 6 = Sunday (`local`: the column is local time already)."""
        at = column if local else self.local(column)
        if self.postgres:
            return cast(extract("isodow", at), Integer) - 1
        return (cast(func.strftime("%w", at), Integer) + 6) % 7

    def hour(self, column: ColumnElement[Any], local: bool = False) -> ColumnElement[int]:
        at = column if local else self.local(column)
        if self.postgres:
            return cast(extract("hour", at), Integer)
        return cast(func.strftime("%H", at), Integer)

    def month(self, column: ColumnElement[Any], local: bool = False) -> ColumnElement[Any]:
        """The month: its first 7 characters as text are YYYY-MM (see `_month`)."""
        at = column if local else self.local(column)
        if self.postgres:  # the month's first moment: cheaper than formatting each row
            return func.date_trunc("month", at)
        return func.strftime("%Y-%m", at)

    def seconds(self, later: ColumnElement[Any], earlier: ColumnElement[Any]) -> ColumnElement[Any]:
        if self.postgres:  # date_part: a double, cheaper than EXTRACT's numeric
            return func.date_part("epoch", later - earlier)
        return func.round((func.julianday(later) - func.julianday(earlier)) * 86400.0, 3)


def _pairs(spans: list[tuple[datetime, int]]) -> list[tuple[tuple[datetime, int], ...]]:
    return list(pairwise(spans))


# --- one statement for all figures --------------------------------------------------------
#
# A materialised CTE `x` holds one row per appointment of the period (booked or cancelled, of
# the chosen service) with its call's milestones, every key and duration computed once; each
# figure is one branch of a UNION ALL over it, shaped alike: (figure, k1, k2, n, v1 … v4).
# One scan of appointments and calls serves the whole page.

_VALUES = 9


# What each figure reads from the CTE (only those columns are computed).
NEEDS: dict[str, set[str]] = {
    "services": {"s"},
    "weekdays": {"l"},
    "hours": {"l"},
    "capacity": {"mo", "minutes", "due", "o"},
    "no_show": {"mo", "minutes", "due", "o"},
    "outcomes": {"s", "o", "due"},
    "device_check": {"dk"},
    "drops": {"mo", "adm", "con", "intr", "o"},
    "setup": {"mo", "adm", "setup"},
    "lead_time": {"s", "lead"},
    "wait": {"s", "wait"},
    "duration": {"s", "dur"},
    "fees": set(),
}


def _appointments(clock: _Clock, period: Period, now: datetime, columns: set[str]) -> CTE:
    a, c = APPOINTMENTS.c, CALLS.c
    admitted = c.admitted_at.is_not(None)
    conditions = [
        a.start_at >= period.start,
        a.start_at < period.end,
        a.status.in_([Status.BOOKED, Status.CANCELLED]),
    ]
    if period.service_id is not None:
        conditions.append(a.service_id == period.service_id)
    made: dict[str, Callable[[], ColumnElement[Any]]] = {
        "s": lambda: a.service_id,
        "due": lambda: case((a.start_at < now, 1), else_=0),
        "l": lambda: clock.local(a.start_at),
        "mo": lambda: clock.month(a.start_at),
        "minutes": lambda: clock.seconds(a.end_at, a.start_at) / 60,
        "lead": lambda: clock.seconds(a.start_at, a.created_at),
        "o": lambda: func.coalesce(c.outcome, "open"),
        "dk": lambda: case(
            (a.device_check.is_not(None), a.device_check),
            (a.name == FORGOTTEN_NAME, "forgotten"),
            else_="none",
        ),
        "adm": lambda: case((admitted, 1), else_=0),
        "con": lambda: case((and_(admitted, c.connected_at.is_not(None)), 1), else_=0),
        "wait": lambda: clock.seconds(c.admitted_at, c.waiting_since),
        "setup": lambda: clock.seconds(c.connected_at, c.admitted_at),
        "dur": lambda: clock.seconds(c.ended_at, c.admitted_at),
        "intr": lambda: func.coalesce(c.interruptions, 0),
    }
    chosen = [case((a.status == Status.BOOKED, 1), else_=0).label("booked")]
    chosen += [made[name]().label(name) for name in made if name in columns]
    return (
        select(*chosen)
        .select_from(APPOINTMENTS.outerjoin(CALLS, c.appointment_id == a.id))
        .where(*conditions)
        .cte("x")
        .prefix_with("MATERIALIZED")
    )


def _row(
    figure: str, keys: list[ColumnElement[Any]], n: ColumnElement[Any], values: list[Any]
) -> list[ColumnElement[Any]]:
    """The columns of one branch, padded to the common shape."""
    padded_keys = [cast(k, String) for k in keys] + [cast(null(), String)] * (2 - len(keys))
    padded = [cast(v, Float) for v in values] + [cast(null(), Float)] * (_VALUES - len(values))
    return [literal(figure, String).label("fig"), *padded_keys, cast(n, Integer), *padded]


def _counted(
    figure: str, x: CTE, keys: list[ColumnElement[Any]], values: list[Any], *where: Any
) -> Select[Any]:
    """Rows counted per `keys`, with sums in `values`."""
    query = select(*_row(figure, keys, func.count(), values)).where(*where)
    return query.group_by(*keys) if keys else query


def _ranked(figure: str, value: Any, key: Any | None, *where: Any) -> Select[Any]:
    """SQLite: count, median and p90 (nearest rank) of `value` per `key` (None: all rows
    together), the ranks picked with window functions."""
    window: dict[str, Any] = {"partition_by": key} if key is not None else {}
    ranked = (
        select(
            (key if key is not None else literal(None)).label("g"),
            value.label("v"),
            func.row_number().over(order_by=value, **window).label("rn"),
            func.count().over(**window).label("n"),
        )
        .where(*where, value.is_not(None))
        .subquery()
    )
    return select(
        *_row(
            figure,
            [ranked.c.g] if key is not None else [],
            func.max(ranked.c.n),
            [
                func.max(case((ranked.c.rn == (ranked.c.n + 1) // 2, ranked.c.v))),
                func.max(case((ranked.c.rn == (ranked.c.n * 9 + 9) // 10, ranked.c.v))),
            ],
        )
    ).group_by(ranked.c.g)


def _percentiles(value: Any, where: ColumnElement[bool]) -> list[Any]:
    """PostgreSQL: count, median and p90 of `value` over the rows `where` holds (the two
    percentiles share one sort)."""
    return [
        func.count(value).filter(where),
        func.percentile_disc(0.5).within_group(value).filter(where),
        func.percentile_disc(0.9).within_group(value).filter(where),
    ]


# The figures of durations per service, in the order a PostgreSQL "spread" row holds them.
SPREADS = ("lead_time", "wait", "duration")


def _spreads(x: CTE, figures: set[str]) -> list[Select[Any]]:
    """PostgreSQL: the per-service durations in one row per service and one for all: each
    ordered-set aggregate sorts only its own values, and the rows are sorted by service once
    (not once per figure)."""
    where = {"lead_time": x.c.booked == 1, "wait": x.c.booked == 1, "duration": x.c.booked == 1}
    values = {"lead_time": "lead", "wait": "wait", "duration": "dur"}
    columns: list[Any] = []
    for figure in SPREADS:
        if figure in figures:
            columns += _percentiles(x.c[values[figure]], where[figure])
        else:
            columns += [null(), null(), null()]
    by_service = select(*_row("spread", [x.c.s], func.count(), columns)).group_by(x.c.s)
    return [by_service, select(*_row("spread", [], func.count(), columns))]


def _branches(x: CTE, clock: _Clock, figures: set[str]) -> list[Select[Any]]:
    """The UNION ALL's branches the figures need."""
    postgres = clock.postgres
    booked = x.c.booked == 1

    def due() -> ColumnElement[bool]:
        return and_(booked, x.c.due == 1)

    def admitted() -> ColumnElement[bool]:
        return and_(booked, x.c.adm == 1)

    total = figures & {"lead_time", "wait", "duration"}
    branches: list[Select[Any]] = []
    if "services" in figures:
        branches.append(_counted("services", x, [x.c.s, x.c.booked], []))
    if "weekdays" in figures:
        branches.append(_counted("weekdays", x, [clock.weekday(x.c.l, local=True)], [], booked))
    if "hours" in figures:
        branches.append(_counted("hours", x, [clock.hour(x.c.l, local=True)], [], booked))
    if figures & {"capacity", "no_show"}:
        values = [
            func.sum(x.c.minutes),
            func.sum(x.c.due),
            func.sum(case((and_(x.c.due == 1, x.c.o == "no_show"), 1), else_=0)),
        ]
        branches.append(_counted("months", x, [x.c.mo], values, booked))
    if "outcomes" in figures:
        branches.append(_counted("outcomes", x, [x.c.s, x.c.o], [], due()))
    if "device_check" in figures:
        branches.append(_counted("device_check", x, [x.c.dk], [], booked))
    if "drops" in figures:  # also set-up's counts of calls (the counting part asks for them)
        values = [
            func.sum(x.c.con),
            func.sum(case((x.c.intr > 0, 1), else_=0)),
            func.sum(x.c.intr),
            func.sum(case((x.c.o == "dropped", 1), else_=0)),
        ]
        branches.append(_counted("calls", x, [x.c.mo], values, admitted()))
    if "setup" in figures and postgres:
        count, p50, p90 = _percentiles(x.c.setup, admitted())
        query = select(*_row("setup", [x.c.mo], count, [p50, p90])).where(x.c.setup.is_not(None))
        branches.append(query.group_by(x.c.mo))
    elif "setup" in figures:
        branches.append(_ranked("setup", x.c.setup, x.c.mo, admitted()))
    if postgres and total:
        branches += _spreads(x, total)
    elif total:
        for figure, column in (("lead_time", "lead"), ("wait", "wait"), ("duration", "dur")):
            if figure in total:
                branches.append(_ranked(figure, x.c[column], x.c.s, booked))
                branches.append(_ranked(figure, x.c[column], None, booked))
    return branches


def offered_minutes(counters: list[Counter], period: Period) -> dict[str, int]:
    """Minutes the counters are open per month of the period, by their schedules as they are
    now (hours, closures, public holidays, exceptions)."""
    offered = dict.fromkeys(period.months(), 0)
    keeping: dict[Any, int] = {}  # counters sharing a schedule are counted once, times them
    for counter in counters:
        keeping[counter.schedule] = keeping.get(counter.schedule, 0) + 1
    for schedule, many in keeping.items():
        for interval in schedule.open_intervals(period.first_day, period.last_day):
            day = local_date(interval.start)
            month = f"{day.year:04d}-{day.month:02d}"
            if month in offered:
                offered[month] += many * int((interval.end - interval.start).total_seconds() // 60)
    return offered


def _fees(
    conn: Connection, clock: _Clock, period: Period
) -> dict[tuple[str, str], tuple[int, int]]:
    """{(month of payment, service): (payments, cents)} of the fees paid in the period (the
    platform confirmed them)."""
    a, p = APPOINTMENTS.c, PAYMENTS.c
    month = clock.month(p.final_at).label("m")
    conditions = [p.state == "paid", p.final_at >= period.start, p.final_at < period.end]
    if period.service_id is not None:
        conditions.append(a.service_id == period.service_id)
    rows = conn.execute(
        select(cast(month, String), a.service_id, func.count(), func.sum(p.total_cents))
        .select_from(PAYMENTS.join(APPOINTMENTS, a.id == p.appointment_id))
        .where(*conditions)
        .group_by(month, a.service_id)
    ).all()
    return {(_month(m) or "", s): (int(n), int(cents)) for m, s, n, cents in rows}


class _Results:
    """The statement's rows by figure and keys, and the tables made from them."""

    def __init__(self, rows: list[Any], period: Period, service_ids: list[str]) -> None:
        self.by: dict[str, dict[tuple[str | None, str | None], tuple[Any, ...]]] = {}
        for fig, k1, k2, n, *values in rows:
            if fig == "spread":  # PostgreSQL: three figures in one row
                for at, figure in enumerate(SPREADS):
                    count, p50, p90 = values[3 * at : 3 * at + 3]
                    if count:
                        self._put(figure, k1, None, (int(count), p50, p90))
                continue
            self._put(fig, k1, k2, (int(n), *values))
        self.period = period
        self.service_ids = service_ids

    def _put(self, figure: str, k1: str | None, k2: str | None, values: tuple[Any, ...]) -> None:
        if figure in MONTHLY:
            k1 = _month(k1)
        padded = values + (None,) * (_VALUES + 1 - len(values))
        self.by.setdefault(figure, {})[(k1, k2)] = padded

    def get(self, figure: str, k1: str | None, k2: str | None = None) -> tuple[Any, ...]:
        return self.by.get(figure, {}).get((k1, k2), (0,) + (None,) * _VALUES)

    def services(self, counted: set[str | None]) -> list[str]:
        """The services a per-service table lists: the chosen one, or every one with numbers
        (in display order)."""
        if self.period.service_id is not None:
            return [self.period.service_id]
        return [s for s in self.service_ids if s in counted]

    def keys(self, figure: str, at: int = 0) -> set[str | None]:
        return {key[at] for key in self.by.get(figure, {})}

    def spread(self, figure: str, extra: dict[str, tuple[Any, ...]] | None = None) -> Table:
        keys: list[str | None] = list(self.services(self.keys(figure)))
        if self.period.service_id is None and keys:
            keys.append(None)
        columns = ("service", *(("booked_minutes",) if extra else ()), "count", "median_s", "p90_s")
        rows = []
        for key in keys:
            n, p50, p90, *_ = self.get(figure, key)
            more = (extra or {}).get(key or "", (None,)) if extra else ()
            rows.append((key, *more, n, _number(p50), _number(p90)))
        return Table(figure, columns, tuple(rows))


MONTHLY = frozenset({"months", "calls", "setup"})


def _month(key: Any) -> str | None:
    """YYYY-MM of a month key as the database gave it (text of a timestamp or YYYY-MM)."""
    return None if key is None else str(key)[:7]


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def _tables(
    results: _Results,
    figures: tuple[str, ...],
    offered: dict[str, int],
    fees: dict[tuple[str, str], tuple[int, int]],
    durations: dict[str, int],
) -> dict[str, Table]:
    r, months = results, results.period.months()
    made: dict[str, Callable[[], Table]] = {
        "services": lambda: Table(
            "services",
            ("service", "booked", "cancelled"),
            tuple(
                (s, r.get("services", s, "1")[0], r.get("services", s, "0")[0])
                for s in r.services(r.keys("services"))
            ),
        ),
        "weekdays": lambda: Table(
            "weekdays",
            ("weekday", "booked"),
            tuple((d, r.get("weekdays", str(d))[0]) for d in range(7)),
        ),
        "hours": lambda: _hours(r),
        "capacity": lambda: Table(
            "capacity",
            ("month", "offered_minutes", "booked_minutes"),
            tuple((m, offered[m], round(r.get("months", m)[1] or 0)) for m in months),
        ),
        "no_show": lambda: Table(
            "no_show",
            ("month", "due", "no_show"),
            tuple(
                (m, int(r.get("months", m)[2] or 0), int(r.get("months", m)[3] or 0))
                for m in months
            ),
        ),
        "outcomes": lambda: Table(
            "outcomes",
            ("service", *OUTCOMES),
            tuple(
                (s, *(r.get("outcomes", s, o)[0] for o in OUTCOMES))
                for s in r.services(r.keys("outcomes"))
            ),
        ),
        "lead_time": lambda: r.spread("lead_time"),
        "wait": lambda: r.spread("wait"),
        "duration": lambda: r.spread("duration", {s: (d,) for s, d in durations.items()}),
        "setup": lambda: Table(
            "setup",
            ("month", "admitted", "connected", "median_s", "p90_s"),
            tuple(
                (
                    m,
                    r.get("calls", m)[0],
                    int(r.get("calls", m)[1] or 0),
                    _number(r.get("setup", m)[1]),
                    _number(r.get("setup", m)[2]),
                )
                for m in months
            ),
        ),
        "drops": lambda: Table(
            "drops",
            ("month", "admitted", "interrupted", "interruptions", "dropped"),
            tuple(
                (m, r.get("calls", m)[0], *(int(v or 0) for v in r.get("calls", m)[2:5]))
                for m in months
            ),
        ),
        "device_check": lambda: Table(
            "device_check",
            ("result", "appointments"),
            tuple((k, r.get("device_check", k)[0]) for k in DEVICE_CHECKS),
        ),
        "fees": lambda: _fee_table(r, fees),
    }
    return {name: made[name]() for name in figures}


def _hours(r: _Results) -> Table:
    counted = {int(h): r.get("hours", h)[0] for h in r.keys("hours") if h is not None}
    if not counted:
        return Table("hours", ("hour", "booked"), ())
    return Table(
        "hours",
        ("hour", "booked"),
        tuple((h, counted.get(h, 0)) for h in range(min(counted), max(counted) + 1)),
    )


def _fee_table(r: _Results, fees: dict[tuple[str, str], tuple[int, int]]) -> Table:
    shown = r.services({s for _, s in fees})
    return Table(
        "fees",
        ("month", "service", "payments", "cents"),
        tuple((m, s, *fees.get((m, s), (0, 0))) for m in r.period.months() for s in shown),
    )


# The figures whose percentiles sort (one statement), and the rest (the other).
SORTING = frozenset({"lead_time", "wait", "duration", "setup"})


def _statements(clock: _Clock, period: Period, now: datetime, figures: set[str]) -> list[Any]:
    """The counting figures in one statement and the sorting ones in another, each over a
    CTE of only the columns it reads."""
    made = []
    counting = figures - SORTING - {"fees"}
    if "setup" in figures:
        counting.add("drops")  # set-up's counts of calls come with the drops
    for part in (counting, figures & SORTING):
        needs = set().union(*(NEEDS[f] for f in part)) if part else set()
        if part:
            x = _appointments(clock, period, now, needs)
            # setup's percentiles only with the sorting part, its counts with the others
            wanted = part - {"setup"} if part is counting else part
            branches = _branches(x, clock, wanted)
            if branches:
                made.append(union_all(*branches))
    return made


_POOL: list[ThreadPoolExecutor] = []


def _pool() -> ThreadPoolExecutor:
    """Threads for the statements run at once (greenlets under gevent), kept for the next
    page: starting them anew costs more than an idle one."""
    if not _POOL:
        _POOL.append(ThreadPoolExecutor(max_workers=6, thread_name_prefix="statistics"))
    return _POOL[0]


def _read(store: Store, statement: Any) -> list[Any]:
    with store.engine.connect() as conn, conn.begin():
        if store.dialect == "postgresql":  # the percentiles sort in memory, not on disk
            conn.exec_driver_sql("SET LOCAL work_mem = '32MB'")
        return list(conn.execute(statement))


def _read_fees(
    store: Store, clock: _Clock, period: Period
) -> dict[tuple[str, str], tuple[int, int]]:
    with store.engine.connect() as conn:
        return _fees(conn, clock, period)


def compute(
    store: Store, period: Period, now: datetime, figures: tuple[str, ...] = FIGURES
) -> dict[str, Table]:
    """The named figures for `period` as of `now`, read-only: one statement for the counting
    figures, one for those that sort (percentiles), one over the payments. On PostgreSQL they
    run at once on their own connections (a year takes a few hundred milliseconds of the
    database's time; two cores halve the wait); SQLite reads them one after the other."""
    unknown = set(figures) - set(FIGURES)
    if unknown:
        raise ValueError(f"no such figure: {', '.join(sorted(unknown))}")
    clock = _Clock(store.dialect, period.start, period.end)
    statements = _statements(clock, period, now, set(figures))
    jobs: list[Callable[[], Any]] = [partial(_read, store, st) for st in statements]
    if "fees" in figures:
        jobs.append(partial(_read_fees, store, clock, period))
    together = clock.postgres and len(jobs) > 1
    running = [_pool().submit(job) for job in jobs] if together else []
    names = services(store)  # meanwhile
    offered = offered_minutes(store.catalogue().counters, period) if "capacity" in figures else {}
    answers = [job.result() for job in running] if together else [job() for job in jobs]
    fees: dict[tuple[str, str], tuple[int, int]] = answers.pop() if "fees" in figures else {}
    rows = [row for answer in answers for row in answer]
    durations = {s.id: s.duration_minutes for s in names}
    results = _Results(rows, period, [s.id for s in names])
    return _tables(results, figures, offered, fees, durations)
