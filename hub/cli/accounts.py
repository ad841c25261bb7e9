"""`buergeramt devices` and `buergeramt users`: counter appliances and staff accounts."""

from __future__ import annotations

import getpass
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
    """Staff accounts: clerks sign in at appliances; admins, supervisors and IT at /admin
    (docs/admin-guide.md). The people page at /admin/people does the same."""


ROLE = click.Choice(["clerk", "supervisor", "it", "admin"])


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


@users.command("add")
@click.argument("username")
@click.option("--role", type=ROLE, default="clerk", show_default=True)
@click.option("--name", "display_name", default="", help="Name shown on the counter screen.")
@click.password_option(help="At least 8 characters; asked for when not given.")
def users_add(username: str, role: str, display_name: str, password: str) -> None:
    """Create a staff account (audited). Admin roles set up their second factor at their first
    sign-in to /admin."""
    from hub.operations.accounts import AccountError
    from hub.operations.staff import create_staff

    try:
        user_id = create_staff(
            open_store(current_settings()),
            _actor(),
            username,
            password,
            role,
            datetime.now(UTC),
            display_name,
        )
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"user {user_id} ({username}, {role}) added")


def _user_id(username: str) -> int:
    from hub.operations.staff import list_staff

    wanted = username.strip().lower()
    found = [p.id for p in list_staff(open_store(current_settings())) if p.username == wanted]
    if not found:
        raise click.ClickException(f"no user {username!r}")
    return found[0]


@users.command("password")
@click.argument("username")
@click.password_option(help="At least 8 characters; asked for when not given.")
def users_password(username: str, password: str) -> None:
    """Set a new password (audited); the second factor is set up again at the next sign-in and
    a lockout is lifted. For a person who forgot their password or lost their phone."""
    from hub.operations.accounts import AccountError
    from hub.operations.staff import reset_password

    try:
        reset_password(
            open_store(current_settings()),
            _actor(),
            _user_id(username),
            password,
            datetime.now(UTC),
        )
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"new password for {username}; the second factor is set up at the next sign-in")


@users.command("disable")
@click.argument("username")
@click.option("--enable", is_flag=True, help="Enable the account again instead.")
def users_disable(username: str, enable: bool) -> None:
    """Disable an account (it can no longer sign in anywhere; open sessions end), or --enable."""
    from hub.operations.accounts import AccountError
    from hub.operations.staff import set_active

    try:
        set_active(
            open_store(current_settings()), _actor(), _user_id(username), enable, datetime.now(UTC)
        )
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{username} {'enabled' if enable else 'disabled'}")
