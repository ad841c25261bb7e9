"""`buergeramt counters …`: add, hours, exceptions, in and out of service.

The rules are in hub.operations.counters; this only parses and prints."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click

from hub.cli.common import catalogue_error, current_settings, open_store, who

if TYPE_CHECKING:  # SQLAlchemy comes with the `hub` extra; `buergeramt appliance` runs without it
    from hub.operations.counters import Booking
    from hub.store import Store


@click.group()
def counters() -> None:
    """Counters (one clerk each) and their schedules."""


@counters.command("add")
@click.argument("name")
@click.option("--schedule", "schedule_name", default="Standard", show_default=True)
def counters_add(name: str, schedule_name: str) -> None:
    """Add a counter keeping the named schedule (it takes bookings once an appliance is
    enrolled for it: buergeramt devices add)."""
    from hub.operations.catalogue import CatalogueError, add_counter

    try:
        add_counter(open_store(current_settings()), name, schedule_name, actor=who())
    except CatalogueError as exc:
        raise catalogue_error(exc) from None
    click.echo(f"added counter {name!r}")


def _counter_id(store: Store, ref: str) -> int:
    from hub.operations.counters import CounterError, find_counter

    try:
        return find_counter(store, ref)
    except CounterError as exc:
        raise click.ClickException(str(exc)) from None


def _when(start: datetime) -> str:
    from hub.booking.timezone import BERLIN

    return f"{start.astimezone(BERLIN):%Y-%m-%d %H:%M}"


def _echo_bookings(
    bookings: Iterable[Booking], err: bool = False, names: dict[int, str] | None = None
) -> None:
    for b in bookings:
        at = f"  -> {names.get(b.counter_id, b.counter_id)}" if names else ""
        click.echo(f"  {_when(b.start)}  {b.service_id:24} {b.name:24} {b.id}{at}", err=err)


def _warn_outside(bookings: list[Booking]) -> None:
    if bookings:
        click.echo(
            f"warning: {len(bookings)} appointment(s) ahead lie outside the new hours; they stay"
            " booked (tell the citizens, or move them):",
            err=True,
        )
        _echo_bookings(bookings, err=True)


@counters.command("list")
def counters_list() -> None:
    """Counters with hours, exceptions ahead, appliances and whether they take bookings."""
    from hub.booking.schedule import format_hours, format_span
    from hub.booking.timezone import BERLIN
    from hub.operations.counters import list_counters

    today = datetime.now(UTC).astimezone(BERLIN).date()
    for c in list_counters(open_store(current_settings())):
        state = "active" if c.active else "inactive"
        if not c.active:
            takes = "takes no bookings"
        elif c.appliances:
            takes = "takes bookings"
        elif c.without_appliance:
            takes = "takes bookings without an appliance"
        else:
            takes = "no appliance: takes no bookings"
        click.echo(f"{c.id:4}  {c.name:24} {state:9} {takes}")
        source = "own hours" if c.own_hours else f"schedule {c.schedule_name!r}"
        click.echo(f"      hours: {format_hours(c.schedule.periods)} ({source})")
        for e in c.exceptions_from(today):
            spans = ", ".join(format_span(o, cl) for o, cl in e.spans) or "closed"
            reason = f" ({e.reason})" if e.reason else ""
            click.echo(f"      {e.day.isoformat()} {spans}{reason}")
        click.echo(f"      appliances: {', '.join(c.appliances) or 'none'}")


@counters.command("hours")
@click.argument("counter")
@click.argument("specs", nargs=-1)
@click.option("--reset", is_flag=True, help="Back to the hours of the counter's schedule.")
def counters_hours(counter: str, specs: tuple[str, ...], reset: bool) -> None:
    """Set a counter's weekly hours, e.g. 'mon-fri 08:00-12:00' 'wed 14:00-17:30'.

    Days: mon … sun (or Mo … So), ranges mon-fri, lists mon,wed; several spans
    08:00-12:00,14:00-16:00; 24:00 is midnight. The counter keeps its schedule's closures
    and public holidays.
    """
    from hub.booking.schedule import parse_hours
    from hub.operations.counters import CounterError, set_hours

    if reset == bool(specs):
        raise click.UsageError("give the hours (e.g. 'mon-fri 08:00-12:00') or --reset")
    try:
        periods = None if reset else parse_hours(specs)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="hours") from None
    store = open_store(current_settings())
    counter_id = _counter_id(store, counter)
    try:
        outside = set_hours(store, counter_id, periods, datetime.now(UTC), actor=who())
    except CounterError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"counter {counter_id}: {'schedule hours' if reset else 'own hours'} set")
    _warn_outside(outside)


@counters.group("exception")
def counters_exception() -> None:
    """A counter's hours on one date: closed, or open at other hours."""


@counters_exception.command("add")
@click.argument("counter")
@click.argument("day", metavar="DATE", type=click.DateTime(["%Y-%m-%d"]))
@click.option("--closed", is_flag=True, help="Closed all day.")
@click.option(
    "--hours", "spans", help="Open only then, e.g. 10:00-14:00 or 08:00-10:00,13:00-15:00."
)
@click.option("--reason", default="", help="Shown to staff, e.g. 'Fortbildung'.")
def counters_exception_add(
    counter: str, day: datetime, closed: bool, spans: str | None, reason: str
) -> None:
    """Close a counter on DATE, or open it at other hours that day (replaces an earlier one).

    The exception is the last word for that date: it wins over the weekly hours, closures and
    public holidays.
    """
    from hub.booking.schedule import parse_spans
    from hub.operations.counters import CounterError, set_exception

    if closed == (spans is not None):
        raise click.UsageError("give --closed or --hours")
    try:
        parsed = () if closed else parse_spans(spans or "")
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--hours") from None
    store = open_store(current_settings())
    counter_id = _counter_id(store, counter)
    try:
        outside = set_exception(
            store, counter_id, day.date(), parsed, datetime.now(UTC), reason, actor=who()
        )
    except CounterError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"counter {counter_id}: {'closed' if closed else spans} on {day.date()}")
    _warn_outside(outside)


@counters_exception.command("remove")
@click.argument("counter")
@click.argument("day", metavar="DATE", type=click.DateTime(["%Y-%m-%d"]))
def counters_exception_remove(counter: str, day: datetime) -> None:
    """Drop a counter's exception for DATE: its weekly hours apply again."""
    from hub.operations.counters import CounterError, remove_exception

    store = open_store(current_settings())
    counter_id = _counter_id(store, counter)
    try:
        remove_exception(store, counter_id, day.date(), actor=who())
    except CounterError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"counter {counter_id}: weekly hours on {day.date()}")


@counters.command("activate")
@click.argument("counter")
@click.option(
    "--without-appliance",
    is_flag=True,
    help="Take bookings even while no appliance is enrolled for the counter.",
)
def counters_activate(counter: str, without_appliance: bool) -> None:
    """Put a counter in service. It takes bookings once an appliance is enrolled for it
    (buergeramt devices add), or at once with --without-appliance."""
    from hub.operations.counters import activate

    store = open_store(current_settings())
    info = activate(store, _counter_id(store, counter), without_appliance, actor=who())
    if info.takes_bookings:
        click.echo(f"counter {info.id} ({info.name}) is active and takes bookings")
    else:
        click.echo(
            f"counter {info.id} ({info.name}) is active; it takes bookings once an appliance is"
            f" enrolled (buergeramt devices add --counter {info.id}) or with --without-appliance"
        )


@counters.command("deactivate")
@click.argument("counter")
@click.option(
    "--move",
    is_flag=True,
    help="Hand its appointments ahead to other counters open and free at their times.",
)
def counters_deactivate(counter: str, move: bool) -> None:
    """Take a counter out of service: it takes no more bookings.

    A counter with appointments ahead is left as it is, and they are listed, unless --move
    finds another counter for every one of them.
    """
    from hub.operations.counters import UpcomingAppointments, deactivate, list_counters

    store = open_store(current_settings())
    counter_id = _counter_id(store, counter)
    try:
        done = deactivate(store, counter_id, datetime.now(UTC), move, actor=who())
    except UpcomingAppointments as exc:
        click.echo(f"buergeramt: {exc}:", err=True)
        _echo_bookings(exc.bookings, err=True)
        raise SystemExit(1) from None
    names = {c.id: c.name for c in list_counters(store)}
    click.echo(f"counter {counter_id} is out of service")
    if done.moved:
        click.echo(f"moved {len(done.moved)} appointment(s):")
        _echo_bookings(done.moved, names=names)
