"""`buergeramt documents`: what IT does to the stored documents themselves."""

from __future__ import annotations

import click

from hub.cli.common import current_settings, open_store


@click.group()
def documents() -> None:
    """The appointments' stored documents."""


@documents.command("rewrap-keys")
@click.option(
    "--old-secret",
    envvar="BUERGERAMT_OLD_SECRET_KEY",
    prompt="The secret key before the change",
    hide_input=True,
    help="The hub's previous secret_key (asked for, or BUERGERAMT_OLD_SECRET_KEY; never on the "
    "command line, where other users of the machine could read it).",
)
def rewrap_keys(old_secret: str) -> None:
    """After secret_key changed: wrap every file key that the old secret wrapped under the new
    one (only the small keys change, in one transaction; a wrong old secret changes nothing)."""
    from hub.documents.crypto import Undecryptable
    from hub.operations import documents as files

    settings = current_settings()
    store = open_store(settings)
    files.configure(store, settings)
    try:
        count = files.rewrap_keys(store, old_secret)
    except Undecryptable:
        raise click.ClickException(
            "a stored key opens neither with the old secret nor with the current one: nothing "
            "was changed; check the old secret"
        ) from None
    click.echo(f"{count} keys re-wrapped under the current secret")
