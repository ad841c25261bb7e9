"""`buergeramt devices` and `buergeramt users`: counter appliances and staff accounts."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from hub.cli.common import current_settings, open_store
from hub.cli.enrolment import devices_approve, devices_pending, revoke
from hub.cli.fleet import devices_list
from hub.cli.remote import (
    devices_action,
    devices_actions,
    devices_logs,
    devices_ring,
    devices_settings,
    devices_update,
)


@click.group()
def devices() -> None:
    """Counter appliances and their credentials."""


@devices.command("add")
@click.option("--counter", "counter_id", required=True, type=int, help="Counter id.")
@click.option("--name", default="", help="A name to recognise the device by.")
def devices_add(counter_id: int, name: str) -> None:
    """Register an appliance and print its credential (shown only this once)."""
    from hub.operations.accounts import AccountError, add_device

    try:
        device, credential = add_device(
            open_store(current_settings()), counter_id, name, datetime.now(UTC)
        )
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"device {device.id} ({device.name}) at counter {device.counter_name}")
    click.echo("credential (store it on the appliance; it is not shown again):")
    click.echo(credential)


devices.add_command(devices_list)


devices.add_command(devices_pending)
devices.add_command(devices_approve)
for _command in (
    devices_action,
    devices_settings,
    devices_actions,
    devices_logs,
    devices_update,
    devices_ring,
):
    devices.add_command(_command)


@devices.command("revoke")
@click.argument("target")
def devices_revoke(target: str) -> None:
    """Revoke an appliance by device id (its credential or key and access tokens are refused,
    hub processes close its connection within a second), or reject a pending one by claim code."""
    from hub.operations.accounts import AccountError

    try:
        click.echo(revoke(target))
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None


@click.group()
def users() -> None:
    """Staff accounts (clerks sign in at appliances)."""


@users.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(["clerk", "admin"]), default="clerk", show_default=True)
@click.option("--name", "display_name", default="", help="Name shown on the counter screen.")
@click.password_option(help="At least 8 characters; asked for when not given.")
def users_add(username: str, role: str, display_name: str, password: str) -> None:
    """Create a staff account."""
    from hub.operations.accounts import AccountError, add_user

    try:
        user_id = add_user(
            open_store(current_settings()),
            username,
            password,
            role,
            datetime.now(UTC),
            display_name,
        )
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"user {user_id} ({username}, {role}) added")
