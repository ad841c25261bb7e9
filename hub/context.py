"""Accessors for what create_app() registers on the current app."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from flask import current_app

if TYPE_CHECKING:
    from hub.config import Settings
    from hub.notify.outbox import MailPolicy
    from hub.payments.provider import PaymentProvider
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


def payment_provider() -> PaymentProvider | None:
    """The city's payment platform (one client per app, shared with the `payments` job), or
    None when no platform is configured."""
    return provider_of(current_app.extensions)


def provider_of(extensions: dict[str, object]) -> PaymentProvider | None:
    """The payment provider kept in an app's extensions, made on first use."""
    from hub.payments.xbezahldienste import XBezahldienste

    if "payment_provider" not in extensions:
        extensions["payment_provider"] = XBezahldienste.from_settings(
            extensions["settings"]  # type: ignore[arg-type]
        )
    return extensions["payment_provider"]  # type: ignore[return-value]
