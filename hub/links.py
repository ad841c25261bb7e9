"""The links citizens get, built in one place from the hub's public URL and a secret.

Mails, the booking pages and the JSON API hand out the same two links: manage (read, move,
cancel) and join (the video call). The routes that answer them are `/manage/<token>` in
hub/web/views.py and `/join/<token>` in hub/web/call.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from hub.booking.tokens import join_token_for


@dataclass(frozen=True)
class Links:
    """An appointment's two links."""

    manage: str
    join: str


def manage_url(public_url: str, manage_token: str) -> str:
    """The link that reads, moves and cancels the appointment."""
    return f"{public_url.rstrip('/')}/manage/{manage_token}"


def join_url(public_url: str, join_token: str) -> str:
    """The link to the appointment's video call."""
    return f"{public_url.rstrip('/')}/join/{join_token}"


def links_for(public_url: str, manage_token: str) -> Links:
    """Both links of an appointment; the join secret is derived from the manage secret."""
    return Links(
        manage_url(public_url, manage_token), join_url(public_url, join_token_for(manage_token))
    )
