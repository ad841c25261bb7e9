"""`buergeramt services`, `buergeramt closures` and `buergeramt holidays`: what citizens can
book, and when not.

The rules are in hub.operations (catalogue, services, fees, holidays), which the admin pages
call too; this only parses and prints."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from hub.cli.common import catalogue_error, current_settings, open_store, who


@click.group()
def services() -> None:
    """The services citizens can book."""


@services.command("list")
def services_list() -> None:
    """Show every service with duration and fee."""
    from hub.operations.catalogue import list_services

    for s in list_services(open_store(current_settings())):
        state = "" if s.active else "  (inactive)"
        click.echo(
            f"{s.id:32} {s.duration_minutes:4} min {s.fee_cents / 100:8.2f} EUR  {s.name_de}{state}"
        )


@services.command("set")
@click.argument("service_id")
@click.option("--fee-cents", type=click.IntRange(0, 10_000_000))
@click.option("--duration", type=click.IntRange(5, 480), help="Minutes, a multiple of 5.")
@click.option("--active/--inactive", default=None, help="Whether citizens see and book it.")
@click.option(
    "--counters",
    help="Where it is offered: 'all', or counters by id or name separated by commas.",
)
def services_set(
    service_id: str,
    fee_cents: int | None,
    duration: int | None,
    active: bool | None,
    counters: str | None,
) -> None:
    """Change a service's fee, duration, availability or counters (the admin pages change
    names, descriptions and checklists too)."""
    from hub.operations.catalogue import CatalogueError
    from hub.operations.counters import CounterError, find_counter
    from hub.operations.services import change_service

    store = open_store(current_settings())
    changes: dict[str, object] = {}
    if fee_cents is not None:
        changes["fee_cents"] = fee_cents
    if duration is not None:
        changes["duration_minutes"] = duration
    if active is not None:
        changes["active"] = active
    if counters is not None:
        refs = [r.strip() for r in counters.split(",") if r.strip()]
        try:
            chosen = None if refs == ["all"] else frozenset(find_counter(store, r) for r in refs)
        except CounterError as exc:
            raise click.BadParameter(str(exc), param_hint="--counters") from None
        changes["counters"] = chosen
    try:
        change_service(store, service_id, actor=who(), now=datetime.now(UTC), **changes)
    except CatalogueError as exc:
        raise catalogue_error(
            exc, fee_cents="--fee-cents", duration_minutes="--duration", counters="--counters"
        ) from None
    click.echo(f"updated {service_id}")


@click.group()
def closures() -> None:
    """Days on which the office is closed (besides public holidays)."""


@closures.command("add")
@click.option("--from", "first", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--to", "last", type=click.DateTime(["%Y-%m-%d"]), help="Defaults to --from.")
@click.option("--reason", default="", help="Shown to staff, e.g. 'Betriebsausflug'.")
@click.option("--schedule", "schedule_name", default="Standard", show_default=True)
@click.option(
    "--cancel-appointments",
    is_flag=True,
    help="Cancel the appointments on those days and mail each citizen a link to book again.",
)
def closures_add(
    first: datetime,
    last: datetime | None,
    reason: str,
    schedule_name: str,
    cancel_appointments: bool,
) -> None:
    """Close the office on a day or a range of days. Booked appointments stay as they are
    (and are listed) unless --cancel-appointments."""
    from hub.booking.timezone import BERLIN
    from hub.operations.catalogue import CatalogueError, add_closure

    first_day = first.date()
    last_day = last.date() if last else first_day
    if last_day < first_day:  # in the options' own words; add_closure refuses it too
        raise click.BadParameter("--to lies before --from", param_hint="--to")
    try:
        added = add_closure(
            open_store(current_settings()),
            first_day,
            last_day,
            reason,
            schedule_name,
            actor=who(),
            now=datetime.now(UTC),
            cancel=cancel_appointments,
        )
    except CatalogueError as exc:
        raise catalogue_error(exc, last_day="--to", reason="--reason") from None
    click.echo(f"closed {first_day} to {last_day} (closure {added.id})")
    if added.hits:
        done = "cancelled, citizens mailed" if added.cancelled else "they stay booked"
        click.echo(f"{len(added.hits)} appointment(s) on those days ({done}):", err=True)
        for h in added.hits:
            click.echo(
                f"  {h.start.astimezone(BERLIN):%Y-%m-%d %H:%M}  {h.service_id:24}"
                f" {h.counter_name:16} {h.id}",
                err=True,
            )


@closures.command("list")
@click.option("--all", "everything", is_flag=True, help="Also the closures that are over.")
def closures_list(everything: bool) -> None:
    """Closures from today on (id, days, schedule, reason)."""
    from hub.booking.timezone import local_date
    from hub.operations.catalogue import list_closures

    today = local_date(datetime.now(UTC))
    for c in list_closures(open_store(current_settings()), None if everything else today):
        reason = f"  {c.reason}" if c.reason else ""
        click.echo(f"{c.id:4}  {c.first_day} to {c.last_day}  {c.schedule}{reason}")


@closures.command("remove")
@click.argument("closure_id", type=int)
def closures_remove(closure_id: int) -> None:
    """Open the days of a closure again (appointments it cancelled stay cancelled)."""
    from hub.operations.catalogue import CatalogueError, remove_closure

    try:
        gone = remove_closure(
            open_store(current_settings()), closure_id, actor=who(), now=datetime.now(UTC)
        )
    except CatalogueError as exc:
        raise catalogue_error(exc) from None
    click.echo(f"removed closure {gone.id} ({gone.first_day} to {gone.last_day})")


@services.command("fees")
@click.argument("service_id")
def services_fees(service_id: str) -> None:
    """Show a service's fee items: code, amount, quantity, booking keys, label."""
    from hub.booking.fees import format_euros
    from hub.operations.catalogue import CatalogueError
    from hub.operations.fees import list_fee_items

    try:
        items = list_fee_items(open_store(current_settings()), service_id)
    except CatalogueError as exc:
        raise catalogue_error(exc) from None
    if not items:
        click.echo(f"{service_id}: no fees")
    for i in items:
        quantity = "variable" if i.variable_quantity else "fixed"
        keys = f"KZ {i.kassenzeichen or '-'} HHSt {i.haushaltsstelle or '-'}"
        click.echo(
            f"{i.code:24} {format_euros(i.amount_cents):>12}  {quantity:8} {keys}  {i.label_de}"
        )


@services.command("fee-set")
@click.argument("service_id")
@click.argument("code")
@click.option("--label", "label_de", required=True, help="What clerk and citizen read (German).")
@click.option("--label-en", default="", help="The label in English.")
@click.option("--purpose", required=True, help="Booking text for the bank: ≤ 27 of A-Z 0-9 -.")
@click.option("--amount-cents", required=True, type=click.IntRange(0, 999_999))
@click.option("--kassenzeichen", default="", help="The cash office's Kassenzeichen.")
@click.option("--haushaltsstelle", default="", help="The budget line the fee is booked to.")
@click.option(
    "--variable-quantity/--fixed-quantity",
    default=False,
    help="Whether the clerk may ask for more than one.",
)
def services_fee_set(
    service_id: str,
    code: str,
    label_de: str,
    label_en: str,
    purpose: str,
    amount_cents: int,
    kassenzeichen: str,
    haushaltsstelle: str,
    variable_quantity: bool,
) -> None:
    """Add a fee item to a service, or change the one with this CODE."""
    from hub.booking.fees import FeeError, FeeItem
    from hub.operations.catalogue import CatalogueError
    from hub.operations.fees import set_fee_item

    options = {
        "code": "CODE",
        "label_de": "--label",
        "label_en": "--label-en",
        "purpose": "--purpose",
        "amount_cents": "--amount-cents",
        "kassenzeichen": "--kassenzeichen",
        "haushaltsstelle": "--haushaltsstelle",
    }
    try:
        item = FeeItem(
            code,
            label_de,
            label_en,
            purpose,
            amount_cents,
            kassenzeichen,
            haushaltsstelle,
            variable_quantity,
        )
        set_fee_item(open_store(current_settings()), service_id, item, actor=who())
    except FeeError as exc:
        raise catalogue_error(CatalogueError(str(exc), exc.field), **options) from None
    except CatalogueError as exc:
        raise catalogue_error(exc, **options) from None
    click.echo(f"set fee {code} of {service_id}")


@services.command("fee-remove")
@click.argument("service_id")
@click.argument("code")
def services_fee_remove(service_id: str, code: str) -> None:
    """Remove the fee item CODE from a service."""
    from hub.operations.catalogue import CatalogueError
    from hub.operations.fees import remove_fee_item

    try:
        remove_fee_item(open_store(current_settings()), service_id, code, actor=who())
    except CatalogueError as exc:
        raise catalogue_error(exc, code="CODE") from None
    click.echo(f"removed fee {code} of {service_id}")


@click.group()
def holidays() -> None:
    """Public holidays: whose state's apply, and single ones the office works on."""


@holidays.command("list")
@click.option("--year", type=click.IntRange(2000, 2100), help="Defaults to this year.")
@click.option("--schedule", "schedule_name", default="Standard", show_default=True)
def holidays_list(year: int | None, schedule_name: str) -> None:
    """The holidays of a year: date, name, and whether the office keeps it closed."""
    from hub.booking.timezone import local_date
    from hub.operations.catalogue import CatalogueError
    from hub.operations.holidays import calendar

    year = year or local_date(datetime.now(UTC)).year
    try:
        shown = calendar(open_store(current_settings()), schedule_name, range(year, year + 1))
    except CatalogueError as exc:
        raise catalogue_error(exc, schedule="--schedule") from None
    click.echo(f"public holidays of {shown.state or 'no state'} ({schedule_name})")
    for h in shown.holidays:
        click.echo(f"{h.day}  {'closed' if h.observed else 'OPEN  '}  {h.name}")


@holidays.command("state")
@click.argument("state")
@click.option("--schedule", "schedule_name", default="Standard", show_default=True)
def holidays_state(state: str, schedule_name: str) -> None:
    """Keep the holidays of German state STATE (BW, BY, BE, … as in ISO 3166-2:DE) or 'none'."""
    from hub.operations.catalogue import CatalogueError
    from hub.operations.holidays import set_state

    code = None if state.lower() == "none" else state.upper()
    try:
        set_state(
            open_store(current_settings()),
            schedule_name,
            code,
            actor=who(),
            now=datetime.now(UTC),
        )
    except CatalogueError as exc:
        raise catalogue_error(exc, state="STATE", schedule="--schedule") from None
    click.echo(f"public holidays of {code or 'no state'} apply to {schedule_name}")


@holidays.command("work")
@click.argument("day", type=click.DateTime(["%Y-%m-%d"]))
@click.option("--closed", is_flag=True, help="Keep the holiday closed again instead.")
@click.option("--schedule", "schedule_name", default="Standard", show_default=True)
def holidays_work(day: datetime, closed: bool, schedule_name: str) -> None:
    """Work on the public holiday DAY with the weekly hours (or, with --closed, keep it)."""
    from hub.operations.catalogue import CatalogueError
    from hub.operations.holidays import set_observed

    try:
        set_observed(
            open_store(current_settings()),
            schedule_name,
            day.date(),
            closed,
            actor=who(),
            now=datetime.now(UTC),
        )
    except CatalogueError as exc:
        raise catalogue_error(exc, day="DAY", schedule="--schedule") from None
    click.echo(f"{day.date()}: {'closed' if closed else 'open with the weekly hours'}")
