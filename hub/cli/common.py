"""What every `buergeramt` command needs: the settings and the database, opened the same way.

The sub-command modules import this, never the root group in hub/cli/__init__.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hub.config import Settings, load_settings

if TYPE_CHECKING:  # SQLAlchemy comes with the `hub` extra; `buergeramt appliance` runs without it
    from hub.store import Store


def current_settings() -> Settings:
    """The hub's settings (BUERGERAMT_* environment, config file)."""
    return load_settings()


def open_store(settings: Settings) -> Store:
    """The database the settings name."""
    from hub.store import Store

    return Store(settings.effective_database_url)
