"""`buergeramt services` and `buergeramt closures`: what citizens can book, and when not."""

from __future__ import annotations

from datetime import datetime

import click

from hub.cli.common import current_settings, open_store


@click.group()
def services() -> None:
    """The services citizens can book."""


@services.command("list")
def services_list() -> None:
    """Show every service with duration and fee."""
    from sqlalchemy import select

    from hub.store.models import ServiceRow

    with open_store(current_settings()).transaction() as session:
        for row in session.scalars(select(ServiceRow).order_by(ServiceRow.position)):
            state = "" if row.active else "  (inactive)"
            click.echo(
                f"{row.id:32} {row.duration_minutes:4} min {row.fee_cents / 100:8.2f} EUR"
                f"  {row.name_de}{state}"
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
    from hub.booking.rules import validate_duration
    from hub.store.models import ServiceRow

    if duration is not None:
        try:
            validate_duration(duration)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--duration") from None
    with open_store(current_settings()).transaction() as session:
        row = session.get(ServiceRow, service_id)
        if row is None:
            raise click.ClickException(f"no service with id {service_id!r}")
        if fee_cents is not None:
            row.fee_cents = fee_cents
        if duration is not None:
            row.duration_minutes = duration
        if active is not None:
            row.active = active
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
    from sqlalchemy import select

    from hub.store.models import ClosureRow, ScheduleRow

    first_day = first.date()
    last_day = last.date() if last else first_day
    if last_day < first_day:
        raise click.BadParameter("--to lies before --from", param_hint="--to")
    with open_store(current_settings()).transaction() as session:
        schedule = session.scalar(select(ScheduleRow).where(ScheduleRow.name == schedule_name))
        if schedule is None:
            raise click.ClickException(f"no schedule named {schedule_name!r}")
        session.add(
            ClosureRow(
                schedule_id=schedule.id, first_day=first_day, last_day=last_day, reason=reason
            )
        )
    click.echo(f"closed {first_day} to {last_day}")
