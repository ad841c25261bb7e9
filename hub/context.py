"""Accessors for what create_app() registers on the current app."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from flask import current_app

if TYPE_CHECKING:
    from hub.config import Settings
    from hub.notify.outbox import MailPolicy
    from hub.store import Store


def store() -> Store:
    """The database of the current app."""
    return current_app.extensions["store"]


def hub_settings() -> Settings:
    """The settings the current app was created with."""
    return current_app.extensions["settings"]


def now() -> datetime:
    """The current time from the app's injected clock (UTC)."""
    return current_app.extensions["clock"]()


def mails() -> MailPolicy:
    """What mails the current app sends and how it seals their links."""
    return current_app.extensions["mails"]
