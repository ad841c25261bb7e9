"""The office's statistics (issue 18, point 5; docs/admin-guide.md, "Statistics"): aggregates
only, a few queries the database answers with grouped counts, sums and percentiles, never a
list of people.

Everything is computed anew for each request (nothing is cached, so no figure is stale) from
what the retention job (hub/operations/retention.py) leaves in
place: an appointment's times, service, counter and status, its call's state, outcome, waiting
time, milestones and media path, and the payments. The one exception is the citizen's device
check, which retention forgets with the name: that figure covers only appointments not yet
forgotten and says how many were (`device_check`). Connection figures come from the call's
milestones (admitted, connected, connections lost, ended; hub/operations/calls.py keeps them
with each step) and from `calls.relayed` (migration 0021: whether a party reported its media
going through the TURN server; NULL where nobody said, so the relayed share is of the calls
whose path is known).

All of it is read from appointment_statistics: one narrow row per appointment with the facts of
its call, which the database's triggers keep whenever appointments or calls change (migration
0022; docs/architecture.md, "Statistics"). A year's figures read those rows a few times;
reading the wide appointment rows joined with their calls each time cost most of the page's
time. On PostgreSQL the statements run at once on their own connections.

Periods are whole days in Berlin; weekday, hour and month are Berlin's too: an appointment
stores those of its start (appointments.local_*, migration 0020; not personal, retention leaves
them), since converting a year of start times costs more than the rest of the counting. A row
without them is converted in SQL (SQLite keeps no time zones, so its local time is the stored
UTC time shifted by Berlin's offset, span by span). Percentiles are nearest-rank (the value at
rank ⌈p·n⌉), the same on both databases: PostgreSQL's percentile_disc, and on SQLite the same
rank picked with window functions.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import partial
from itertools import pairwise
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    case,
    cast,
    extract,
    func,
    literal,
    null,
    select,
    union_all,
)
from sqlalchemy.dialects.postgresql import array
from sqlalchemy.engine import Connection

from hub.booking.slots import Counter
from hub.booking.status import Status
from hub.booking.timezone import BERLIN, end_of_local_day, local_date, start_of_local_day
from hub.store import Store
from hub.store.models import (
    AppointmentStatisticsRow,
    PaymentRequestRow,
    ServiceRow,
)

# What the figures count of each appointment and its call, one narrow row each, kept by the
# database's triggers (migration 0022): every statement below reads these instead of the wide
# appointment rows joined with their calls.
ROWS = AppointmentStatisticsRow.__table__
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
    "relayed",
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
    """SQL for Berlin's weekday, hour and month of a UTC column."""

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

    def weekday(self, column: ColumnElement[Any]) -> ColumnElement[int]:
        """0 = Monday … 6 = Sunday."""
        if self.postgres:
            return cast(extract("isodow", self.local(column)), Integer) - 1
        return (cast(func.strftime("%w", self.local(column)), Integer) + 6) % 7

    def hour(self, column: ColumnElement[Any]) -> ColumnElement[int]:
        if self.postgres:
            return cast(extract("hour", self.local(column)), Integer)
        return cast(func.strftime("%H", self.local(column)), Integer)

    def month(self, column: ColumnElement[Any]) -> ColumnElement[int]:
        """The month as the number YYYYMM."""
        at = self.local(column)
        if self.postgres:
            return cast(extract("year", at) * 100 + extract("month", at), Integer)
        return cast(func.strftime("%Y%m", at), Integer)


def _pairs(spans: list[tuple[datetime, int]]) -> list[tuple[tuple[datetime, int], ...]]:
    return list(pairwise(spans))


# --- the counting figures: grouped statements -----------------------------------------------
#
# Every appointment of the period (booked or cancelled, of the chosen service) with its call is
# counted by a few keys, with a few sums beside each count; the figures are sums over those
# groups, made here in Python (a few hundred grouped rows for a year). The keys:
#   booked, due: 1 or 0 (booked, not cancelled; its start before now); s: the service;
#   wd, hr, mo: Berlin weekday, hour and month (YYYYMM) of the start, as stored with it;
#   dk: the device check; o: the call's outcome ("open": none); adm, con: 1 or 0 (admitted,
#   media flowed).
# The sums (added up in the database, so that they do not split the groups):
#   length: the booked length in seconds; intr: how often a connection was lost; interrupted:
#   calls that lost it at least once; path_known, relayed: calls whose media path a party
#   reported, and those of them relayed by the TURN server.

# The keys each counting figure is grouped by, and the sums it reads.
COUNTED_BY: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "services": (("booked", "s"), ()),
    "weekdays": (("booked", "wd"), ()),
    "hours": (("booked", "hr"), ()),
    "device_check": (("booked", "dk"), ()),
    "outcomes": (("booked", "due", "s", "o"), ()),
    "capacity": (("booked", "mo"), ("length",)),
    "no_show": (("booked", "mo", "due", "o"), ()),
    "drops": (("booked", "mo", "adm", "o"), ("intr", "interrupted")),
    "setup": (("booked", "mo", "adm", "con"), ()),
    "relayed": (("booked", "mo", "adm"), ("path_known", "relayed")),
}
# The figures counted together (one GROUP BY): the appointments' own facts, and their calls'.
# Finer grains would give fewer rows to add up here, but cost the database more than they save.
GRAINS = (
    ("services", "weekdays", "hours", "device_check"),
    ("outcomes", "capacity", "no_show", "drops", "setup", "relayed"),
)


def _in_period(period: Period) -> list[ColumnElement[bool]]:
    r = ROWS.c
    conditions = [r.start_at >= period.start, r.start_at < period.end]
    if period.service_id is not None:
        conditions.append(r.service_id == period.service_id)
    return conditions


def _keys(clock: _Clock, now: datetime) -> dict[str, Callable[[], ColumnElement[Any]]]:
    r = ROWS.c
    return {
        "booked": lambda: case((r.status == Status.BOOKED, 1), else_=0),
        "due": lambda: case((r.start_at < now, 1), else_=0),
        "s": lambda: r.service_id,
        # Stored with the appointment; converted here only where a row lacks them.
        "wd": lambda: func.coalesce(r.local_weekday, clock.weekday(r.start_at)),
        "hr": lambda: func.coalesce(r.local_hour, clock.hour(r.start_at)),
        "mo": lambda: _start_month(clock),
        "dk": lambda: r.device_check,
        "o": lambda: func.coalesce(r.outcome, "open"),
        "adm": lambda: case((r.admitted, 1), else_=0),
        "con": lambda: case((r.connected, 1), else_=0),
    }


def _start_month(clock: _Clock) -> ColumnElement[Any]:
    r = ROWS.c
    return func.coalesce(r.local_month, clock.month(r.start_at))


@dataclass(frozen=True)
class _Counting:
    """A grouped statement, its key and sum columns, and which figures each grain (the first
    column: a mask saying which keys its rows leave out) answers."""

    statement: Any
    names: tuple[str, ...]
    sums: tuple[str, ...]
    grains: dict[int, tuple[str, ...]]


def _countings(clock: _Clock, period: Period, now: datetime, figures: set[str]) -> list[_Counting]:
    """The statements counting the appointments by each grain's keys. On PostgreSQL one per
    grain, run at once; on SQLite, which runs them one after the other, one UNION ALL of a
    GROUP BY per grain over a materialised CTE, so that the rows are read once."""
    grains = [tuple(f for f in grain if f in figures) for grain in GRAINS]
    grains = [grain for grain in grains if grain]
    if clock.postgres:
        return [_grouped(clock, period, now, [grain]) for grain in grains]
    return [_grouped(clock, period, now, grains)] if grains else []


def _grouped(
    clock: _Clock, period: Period, now: datetime, grains: list[tuple[str, ...]]
) -> _Counting:
    keyed = [tuple(dict.fromkeys(k for f in grain for k in COUNTED_BY[f][0])) for grain in grains]
    names = tuple(dict.fromkeys(k for keys in keyed for k in keys))
    summed = tuple(dict.fromkeys(s for grain in grains for f in grain for s in COUNTED_BY[f][1]))
    made = _keys(clock, now)
    query = select(
        *(made[n]().label(n) for n in names),
        *(value.label(f"v_{k}") for k, value in _sum_inputs(summed)),
    ).where(*_in_period(period), ROWS.c.status.in_([Status.BOOKED, Status.CANCELLED]))
    if len(keyed) == 1:
        x: Any = query.subquery("x")
        columns = [x.c[n] for n in names]
        statement: Any = select(
            literal(0), *columns, func.count(), *(_aggregate(x, k) for k in summed)
        ).group_by(*columns)
        return _Counting(statement, names, summed, {0: grains[0]})

    def mask(keys: tuple[str, ...]) -> int:  # a bit set for each key left out
        return sum(1 << (len(names) - 1 - i) for i, n in enumerate(names) if n not in keys)

    x = query.cte("x").prefix_with("MATERIALIZED")
    statement = union_all(
        *(
            select(
                literal(mask(keys)),
                *(x.c[n] if n in keys else null() for n in names),
                func.count(),
                *(_aggregate(x, k) for k in summed),
            ).group_by(*(x.c[k] for k in keys))
            for keys in keyed
        )
    )
    masks = {mask(keys): grain for keys, grain in zip(keyed, grains, strict=True)}
    return _Counting(statement, names, summed, masks)


def _sum_inputs(summed: tuple[str, ...]) -> list[tuple[str, ColumnElement[Any]]]:
    """The per-row values the sums add up (a count: 1 or NULL)."""
    r = ROWS.c
    values: dict[str, Callable[[], ColumnElement[Any]]] = {
        "length": lambda: r.length_s,
        "intr": lambda: r.interruptions,
        "interrupted": lambda: case((r.interruptions > 0, 1)),
        "path_known": lambda: case((r.relayed.is_not(None), 1)),
        "relayed": lambda: case((r.relayed.is_(True), 1)),
    }
    return [(k, values[k]()) for k in summed]


def _aggregate(x: Any, name: str) -> ColumnElement[Any]:
    """The sum of one per-row value over a group (0 for none)."""
    return func.coalesce(func.sum(x.c[f"v_{name}"]), 0)


Counts = dict[tuple[Any, ...], list[Any]]  # keys -> [appointments, *sums]


def _tallies(counting: _Counting, rows: list[Any], into: dict[str, Counts]) -> None:
    """Per counting figure: appointments (and the figure's sums) by its keys."""
    at = {n: i + 1 for i, n in enumerate(counting.names)}
    counted = len(counting.names) + 1  # the count's column; the sums follow
    sum_at = {s: counted + 1 + i for i, s in enumerate(counting.sums)}
    reading: dict[int, list[tuple[Counts, Callable[[Any], Any], list[int]]]] = {}
    for mask, figures in counting.grains.items():
        reading[mask] = []
        for figure in figures:
            keys, sums = COUNTED_BY[figure]
            into[figure] = {}
            reading[mask].append(
                (into[figure], itemgetter(*(at[k] for k in keys)), [sum_at[s] for s in sums])
            )
    for row in rows:
        n = row[counted]
        for counts, key_of, added in reading[int(row[0])]:
            key = key_of(row)  # every figure has at least two keys: a tuple
            found = counts.get(key)
            if found is None:
                counts[key] = [n, *(row[i] for i in added)]
            else:
                found[0] += n
                for j, i in enumerate(added, 1):
                    found[j] += row[i]


# --- the sorting figures: percentiles -----------------------------------------------------
#
# Count, median and 90th percentile (nearest rank) of a duration, per service and for all
# (lead time, wait, call length) or per month (connection set-up), over whole microseconds
# (bigint sorts faster than double; SQLite's are whole milliseconds). PostgreSQL:
# percentile_disc, one statement per key so that they run at once; SQLite: the ranks picked
# with window functions.

SPREADS = ("lead_time", "wait", "duration", "setup")
# Each a duration of the appointment (lead time) or of its call (NULL unless admitted).
DURATIONS = {
    "lead_time": "lead_us",
    "wait": "wait_us",
    "duration": "duration_us",
    "setup": "setup_us",
}
# The PostgreSQL statements: per service, and per month.
SORTED_TOGETHER = (("lead_time", "wait", "duration"), ("setup",))

Spreads = dict[str, dict[Any, tuple[int, float | None, float | None]]]


def _sorting(clock: _Clock, period: Period, figures: set[str]) -> list[tuple[tuple[str, ...], Any]]:
    """The statements of the percentile figures asked for, each with the figures it answers:
    on PostgreSQL one per key, run at once; on SQLite one over a materialised CTE."""
    r = ROWS.c
    made: list[tuple[tuple[str, ...], Any]] = []
    groups = SORTED_TOGETHER if clock.postgres else (SPREADS,)
    for together in groups:
        wanted = tuple(f for f in together if f in figures)
        if not wanted:
            continue
        columns = [r.service_id.label("s")]
        if "setup" in wanted:
            columns.append(_start_month(clock).label("mo"))
        columns += [r[DURATIONS[figure]].label(figure) for figure in wanted]
        where = [*_in_period(period), r.status == Status.BOOKED]
        if "lead_time" not in wanted:  # every other duration begins at the admission
            where.append(r.admitted)
        query = select(*columns).where(*where)
        if clock.postgres:
            x = query.subquery("x")
            key, rollup = (x.c.mo, False) if "setup" in wanted else (x.c.s, True)
            made.append((wanted, _percentiles(x, wanted, key, rollup)))
        else:
            cte = query.cte("x").prefix_with("MATERIALIZED")
            branches = []
            for figure in wanted:
                key = cte.c.mo if figure == "setup" else cte.c.s
                branches += _ranked(cte, figure, key, total=figure != "setup")
            made.append((wanted, union_all(*branches)))
    return made


def _percentiles(x: Any, figures: tuple[str, ...], key: Any, rollup: bool) -> Select[Any]:
    """PostgreSQL: per key (and with `rollup` for all, key NULL) each value's count and
    [median, p90] in microseconds (the two percentiles share one sort)."""
    columns: list[Any] = [key]
    for figure in figures:
        value = x.c[figure]
        columns += [
            func.count(value),
            func.percentile_disc(array([0.5, 0.9])).within_group(value),
        ]
    return select(*columns).group_by(func.rollup(key) if rollup else key)


def _ranked(x: Any, figure: str, key: Any, total: bool) -> list[Select[Any]]:
    """SQLite: (figure, key, count, median, p90) of one value per key (and with `total` for
    all, key NULL), the ranks picked with window functions."""
    value = x.c[figure]

    def per(key: Any | None) -> Select[Any]:
        window: dict[str, Any] = {"partition_by": key} if key is not None else {}
        ranked = (
            select(
                (key if key is not None else null()).label("g"),
                value.label("v"),
                func.row_number().over(order_by=value, **window).label("rn"),
                func.count().over(**window).label("n"),
            )
            .where(value.is_not(None))
            .subquery()
        )
        return select(
            literal(figure),
            ranked.c.g,
            func.max(ranked.c.n),
            func.max(case((ranked.c.rn == (ranked.c.n + 1) // 2, ranked.c.v))),
            func.max(case((ranked.c.rn == (ranked.c.n * 9 + 9) // 10, ranked.c.v))),
        ).group_by(ranked.c.g)

    return [per(key), per(None)] if total else [per(key)]


def _spreads(postgres: bool, figures: tuple[str, ...], rows: list[Any], into: Spreads) -> None:
    """The rows of one sorting statement as {figure: {key: (count, median, p90)}} in seconds."""
    for row in rows:
        if postgres:
            for at, figure in enumerate(figures):
                n, both = row[1 + 2 * at], row[2 + 2 * at]
                if n:  # a service whose appointments had no admitted call: no wait
                    p50, p90 = both
                    into.setdefault(figure, {})[row[0]] = (int(n), _micro(p50), _micro(p90))
        else:
            figure, key, n, p50, p90 = row
            if n:
                into.setdefault(figure, {})[key] = (int(n), _micro(p50), _micro(p90))


def _micro(value: Any) -> float | None:
    return None if value is None else value / 1_000_000


MONTHLY_COUNTS = ("capacity", "no_show", "drops", "setup", "relayed")


def _month_name(number: int) -> str:
    """YYYY-MM of a month number YYYYMM."""
    return f"{number // 100:04d}-{number % 100:02d}"


class _Figures:
    """The tables, made from the counts, the percentiles, the offered time and the fees."""

    def __init__(
        self,
        period: Period,
        names: list[ServiceName],
        tallies: dict[str, Counts],
        spreads: Spreads,
    ) -> None:
        self.period = period
        self.names = names
        self.tallies = tallies
        self.spreads = spreads
        self.months = period.months()
        self.monthly = self._monthly()

    def shown(self, counted: set[Any]) -> list[str]:
        """The services a per-service table lists: the chosen one, or every one with numbers
        (in display order)."""
        if self.period.service_id is not None:
            return [self.period.service_id]
        return [s.id for s in self.names if s.id in counted]

    def _monthly(self) -> dict[str, dict[str, float]]:
        """Per month, the sums the monthly figures show (booked appointments only)."""
        sums: dict[str, dict[str, float]] = {m: defaultdict(float) for m in self.months}
        for figure in MONTHLY_COUNTS:
            for key, (n, *summed) in self.tallies.get(figure, {}).items():
                booked, month, *rest = key
                at = sums.get(_month_name(int(month))) if booked else None
                if at is None:
                    continue
                if figure == "capacity":
                    at["seconds"] += summed[0]
                elif figure == "no_show":
                    due, outcome = rest
                    at["due"] += n * due
                    at["no_show"] += n * (due and outcome == "no_show")
                elif rest[0]:  # admitted: the connection figures count calls let in
                    if figure == "drops":
                        losses, interrupted = summed
                        at["admitted"] += n
                        at["interrupted"] += interrupted
                        at["interruptions"] += losses
                        at["dropped"] += n * (rest[1] == "dropped")
                    elif figure == "setup":
                        at["setup_admitted"] += n
                        at["connected"] += n * rest[1]
                    else:
                        at["path_known"] += summed[0]
                        at["relayed"] += summed[1]
        return sums

    def table(
        self,
        figure: str,
        offered: dict[str, int],
        fees: dict[tuple[str, str], tuple[int, int]],
    ) -> Table:
        t = {key: int(counts[0]) for key, counts in self.tallies.get(figure, {}).items()}
        m = self.monthly

        def count(*key: Any) -> int:
            return t.get(key, 0)

        if figure == "services":
            rows: Any = [(s, count(1, s), count(0, s)) for s in self.shown({k[1] for k in t})]
            return Table(figure, ("service", "booked", "cancelled"), tuple(rows))
        if figure == "weekdays":
            return Table(figure, ("weekday", "booked"), tuple((d, count(1, d)) for d in range(7)))
        if figure == "hours":
            hours = {int(h): c for (booked, h), c in t.items() if booked}
            span = range(min(hours), max(hours) + 1) if hours else range(0)
            return Table(figure, ("hour", "booked"), tuple((h, hours.get(h, 0)) for h in span))
        if figure == "device_check":
            rows = [(k, count(1, k)) for k in DEVICE_CHECKS]
            return Table(figure, ("result", "appointments"), tuple(rows))
        if figure == "outcomes":
            counted = {s for (booked, due, s, _o) in t if booked and due}
            rows = [(s, *(count(1, 1, s, o) for o in OUTCOMES)) for s in self.shown(counted)]
            return Table(figure, ("service", *OUTCOMES), tuple(rows))
        if figure == "capacity":
            rows = [(k, offered[k], round(m[k]["seconds"] / 60)) for k in self.months]
            return Table(figure, ("month", "offered_minutes", "booked_minutes"), tuple(rows))
        if figure == "no_show":
            rows = [(k, int(m[k]["due"]), int(m[k]["no_show"])) for k in self.months]
            return Table(figure, ("month", "due", "no_show"), tuple(rows))
        if figure == "drops":
            names = ("admitted", "interrupted", "interruptions", "dropped")
            rows = [(k, *(int(m[k][n]) for n in names)) for k in self.months]
            return Table(figure, ("month", *names), tuple(rows))
        if figure == "setup":
            spread = {_month_name(int(k)): v for k, v in self.spreads.get("setup", {}).items()}
            rows = [
                (k, int(m[k]["setup_admitted"]), int(m[k]["connected"]), *spread.get(k, _NONE)[1:])
                for k in self.months
            ]
            columns = ("month", "admitted", "connected", "median_s", "p90_s")
            return Table(figure, columns, tuple(rows))
        if figure == "relayed":
            rows = [(k, int(m[k]["path_known"]), int(m[k]["relayed"])) for k in self.months]
            return Table(figure, ("month", "path_known", "relayed"), tuple(rows))
        if figure == "fees":
            shown = self.shown({s for _, s in fees})
            rows = [(k, s, *fees.get((k, s), (0, 0))) for k in self.months for s in shown]
            return Table(figure, ("month", "service", "payments", "cents"), tuple(rows))
        return self.spread(figure)

    def spread(self, figure: str) -> Table:
        """Count, median and p90 per service, and for all services when none is chosen."""
        found = self.spreads.get(figure, {})
        keys: list[str | None] = list(self.shown(set(found)))
        if self.period.service_id is None and keys:
            keys.append(None)
        extra = figure == "duration"
        booked = {s.id: s.duration_minutes for s in self.names}
        columns = ("service", *(("booked_minutes",) if extra else ()), "count", "median_s", "p90_s")
        rows = []
        for key in keys:
            more = (booked.get(key) if key else None,) if extra else ()
            rows.append((key, *more, *found.get(key, _NONE)))
        return Table(figure, columns, tuple(rows))


_NONE: tuple[int, float | None, float | None] = (0, None, None)


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


def _fees(conn: Connection, period: Period) -> dict[tuple[str, str], tuple[int, int]]:
    """{(month of payment, service): (payments, cents)} of the fees paid in the period (the
    platform confirmed them)."""
    r, p = ROWS.c, PAYMENTS.c  # the appointment's service from its narrow row
    month = _month_of(p.final_at, period).label("m")
    conditions = [p.state == "paid", p.final_at >= period.start, p.final_at < period.end]
    if period.service_id is not None:
        conditions.append(r.service_id == period.service_id)
    rows = conn.execute(
        select(month, r.service_id, func.count(), func.sum(p.total_cents))
        .select_from(PAYMENTS.join(ROWS, r.appointment_id == p.appointment_id))
        .where(*conditions)
        .group_by(month, r.service_id)
    ).all()
    return {(m, s): (int(n), int(cents)) for m, s, n, cents in rows}


def _month_of(column: ColumnElement[Any], period: Period) -> ColumnElement[Any]:
    """YYYY-MM of the Berlin month an instant of the period lies in, by comparing it with the
    months' first instants (cheaper than converting each row to Berlin time)."""
    months = period.months()
    starts = [start_of_local_day(date(int(m[:4]), int(m[5:]), 1)) for m in months[1:]]
    if not starts:
        return literal(months[0], String)
    return case(
        *((column < start, month) for start, month in zip(starts, months, strict=False)),
        else_=months[-1],
    )


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


def _read_fees(store: Store, period: Period) -> dict[tuple[str, str], tuple[int, int]]:
    with store.engine.connect() as conn:
        return _fees(conn, period)


def compute(
    store: Store, period: Period, now: datetime, figures: tuple[str, ...] = FIGURES
) -> dict[str, Table]:
    """The named figures for `period` as of `now`, read-only: the counting statements (every
    figure but the percentiles and the fees), the percentiles' statements, one over the
    payments. On PostgreSQL they run at once on their own connections (two cores halve the
    wait); SQLite reads them one after the other."""
    unknown = set(figures) - set(FIGURES)
    if unknown:
        raise ValueError(f"no such figure: {', '.join(sorted(unknown))}")
    wanted = set(figures)
    clock = _Clock(store.dialect, period.start, period.end)
    sorting = _sorting(clock, period, wanted)
    countings = _countings(clock, period, now, wanted)
    jobs: list[Callable[[], Any]] = [partial(_read, store, st) for _, st in sorting]
    jobs += [partial(_read, store, counting.statement) for counting in countings]
    if "fees" in wanted:
        jobs.append(partial(_read_fees, store, period))
    together = clock.postgres and len(jobs) > 1
    running = [_pool().submit(job) for job in jobs] if together else []
    names = services(store)  # meanwhile
    offered = offered_minutes(store.catalogue().counters, period) if "capacity" in wanted else {}
    answers = [job.result() for job in running] if together else [job() for job in jobs]
    spreads: Spreads = {}
    for (answered, _), rows in zip(sorting, answers, strict=False):
        _spreads(clock.postgres, answered, rows, spreads)
    tallies: dict[str, Counts] = {}
    for counting, rows in zip(countings, answers[len(sorting) :], strict=False):
        _tallies(counting, rows, tallies)
    fees: dict[tuple[str, str], tuple[int, int]] = answers[-1] if "fees" in wanted else {}
    made = _Figures(period, names, tallies, spreads)
    return {figure: made.table(figure, offered, fees) for figure in figures}
