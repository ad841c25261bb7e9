"""`buergeramt services` and `buergeramt closures`: what citizens can book, and when not.

The rules are in hub.operations.catalogue; this only parses and prints."""

from __future__ import annotations

from datetime import datetime

import click

from hub.cli.common import catalogue_error, current_settings, open_store


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
@click.option("--active/--inactive", default=None)
def services_set(
    service_id: str, fee_cents: int | None, duration: int | None, active: bool | None
) -> None:
    """Change a service's fee, duration or availability."""
    from hub.operations.catalogue import CatalogueError, update_service

    try:
        update_service(
            open_store(current_settings()),
            service_id,
            fee_cents=fee_cents,
            duration_minutes=duration,
            active=active,
        )
    except CatalogueError as exc:
        raise catalogue_error(exc, fee_cents="--fee-cents", duration_minutes="--duration") from None
    click.echo(f"updated {service_id}")


@click.group()
def closures() -> None:
    """Days on which the office is closed (besides public holidays)."""


@closures.command("add")
@click.option("--from", "first", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--to", "last", type=click.DateTime(["%Y-%m-%d"]), help="Defaults to --from.")
@click.option("--reason", default="", help="Shown to staff, e.g. 'Betriebsausflug'.")
@click.option("--schedule", "schedule_name", default="Standard", show_default=True)
def closures_add(first: datetime, last: datetime | None, reason: str, schedule_name: str) -> None:
    """Close the office on a day or a range of days. Booked appointments stay as they are."""
    from hub.operations.catalogue import CatalogueError, add_closure

    first_day = first.date()
    last_day = last.date() if last else first_day
    if last_day < first_day:  # in the options' own words; add_closure refuses it too
        raise click.BadParameter("--to lies before --from", param_hint="--to")
    try:
        add_closure(open_store(current_settings()), first_day, last_day, reason, schedule_name)
    except CatalogueError as exc:
        raise catalogue_error(exc, last_day="--to") from None
    click.echo(f"closed {first_day} to {last_day}")
