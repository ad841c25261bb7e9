"""What every `buergeramt` command needs: the settings and the database, opened the same way.

The sub-command modules import this, never the root group in hub/cli/__init__.py.
"""

from __future__ import annotations

import getpass
from typing import TYPE_CHECKING

import click

from hub.config import Settings, load_settings

if TYPE_CHECKING:  # SQLAlchemy comes with the `hub` extra; `buergeramt appliance` runs without it
    from hub.operations.catalogue import CatalogueError
    from hub.store import Store


def current_settings() -> Settings:
    """The hub's settings (BUERGERAMT_* environment, config file)."""
    return load_settings()


def open_store(settings: Settings) -> Store:
    """The database the settings name."""
    from hub.store import Store

    return Store(settings.effective_database_url)


def who() -> str:
    """Who is at the command line, as the audit log names them (`cli:<user>`)."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def catalogue_error(exc: CatalogueError, **options: str) -> click.ClickException:
    """The refusal of a catalogue operation as the CLI shows it: against the option that gave
    the value at fault (`options` maps the operation's field names to option names)."""
    if exc.field in options:
        return click.BadParameter(str(exc), param_hint=options[exc.field])
    return click.ClickException(str(exc))
