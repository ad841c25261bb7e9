"""The `buergeramt` command line: serve the hub, run the demo, manage the database and catalogue.

This root group imports the sub-command modules (they never import it back) and adds the
commands other packages register (hub/cli/registered.py): `buergeramt appliance` comes from
appliance/.
"""

from __future__ import annotations

import sys

import click

from hub.cli import (
    accounts,
    catalogue,
    counters,
    database,
    demo,
    documents,
    enrolment,
    mail,
    payments,
    provision,
    registered,
    serve,
)
from hub.config import ConfigError

# Commands that serve requests need gevent's cooperative sockets before anything else is imported.
SERVING_COMMANDS = {"hub", "demo"}


def main() -> None:
    """Entry point of the `buergeramt` script."""
    if len(sys.argv) > 1 and sys.argv[1] in SERVING_COMMANDS:
        from gevent import monkey

        monkey.patch_all()
    try:
        cli(standalone_mode=True)
    except ConfigError as exc:
        click.echo(f"buergeramt: {exc}", err=True)
        sys.exit(2)


class Root(click.Group):
    """The hub's own commands plus the registered ones, each loaded when it is asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Own and registered command names, sorted (an own command wins a name clash)."""
        return sorted({*super().list_commands(ctx), *registered.registered()})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """An own command, else a registered one (or its stand-in saying why it cannot run)."""
        command = super().get_command(ctx, cmd_name)
        if command is None and (entry_point := registered.registered().get(cmd_name)):
            command = registered.load(entry_point)
        return command


@click.group(cls=Root)
def cli() -> None:
    """Bürgeramt Virtuell: virtual citizens' office."""


for command in (
    serve.hub,
    demo.demo,
    database.db,
    catalogue.services,
    counters.counters,
    catalogue.closures,
    catalogue.holidays,
    mail.mail,
    documents.documents,
    payments.payments,
    accounts.devices,
    enrolment.enrol,
    accounts.users,
    provision.provision,
):
    cli.add_command(command)
