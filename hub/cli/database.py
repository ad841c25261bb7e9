"""`buergeramt db`: the database schema and the default data."""

from __future__ import annotations

import click

from hub.cli.common import current_settings, open_store


@click.group()
def db() -> None:
    """Database schema and default data."""


@db.command("upgrade")
@click.option(
    "--seed/--no-seed",
    default=True,
    show_default=True,
    help="Fill an empty database with the default services, hours and counters.",
)
def db_upgrade(seed: bool) -> None:
    """Apply all migrations (and seed an empty database)."""
    from hub.operations.catalogue import seed as seed_catalogue
    from hub.store.migrate import upgrade

    settings = current_settings()
    upgrade(settings.effective_database_url)
    if seed:
        seeded = seed_catalogue(open_store(settings))
        click.echo("seeded default data" if seeded else "data present, not seeded")
    click.echo("schema is current")
