"""The links citizens get, built in one place from the hub's public URL and a secret.

Mails, the booking pages and the JSON API hand out the same two links: manage (read, move,
cancel) and join (the video call). The routes that answer them are `/manage/<token>` in
hub/web/views.py and `/join/<token>` in hub/web/call.py.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from urllib.parse import quote

from itsdangerous import BadSignature, URLSafeSerializer

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


def booking_url(public_url: str, service_id: str | None, lang: str) -> str:
    """The booking page of a service (its free times; route `/book/<service_id>` in
    hub/web/views.py), or the list of services when there is none to name, in `lang`."""
    path = f"/book/{quote(service_id, safe='')}" if service_id else "/"
    return f"{public_url.rstrip('/')}{path}?lang={'en' if lang == 'en' else 'de'}"


# A payment request's link (the citizen's "pay" button and the pay-later mail) names the request
# by its id, signed with the hub's secret so nobody reaches another appointment's payment by
# guessing; when it stops working is the request's own deadline, checked by the route.
_PAY_SALT = "buergeramt-payment-link"


def _pay_signer(secret_key: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret_key, salt=_PAY_SALT)


def pay_token(secret_key: str, payment_id: uuid.UUID) -> str:
    """The secret part of a payment request's link."""
    return str(_pay_signer(secret_key).dumps(payment_id.hex))


def payment_of(secret_key: str, token: str) -> uuid.UUID | None:
    """The payment request a link's token names, or None for a token this hub did not sign."""
    try:
        value = _pay_signer(secret_key).loads(token)
        return uuid.UUID(hex=value) if isinstance(value, str) else None
    except (BadSignature, ValueError):
        return None


def pay_url(public_url: str, secret_key: str, payment_id: uuid.UUID) -> str:
    """Where the citizen pays a request: the hub reads its state, then sends them on to the
    payment platform's page (route `/pay/<token>` in hub/web/pay.py)."""
    return f"{public_url.rstrip('/')}/pay/{pay_token(secret_key, payment_id)}"


def pay_return_url(public_url: str, secret_key: str, payment_id: uuid.UUID) -> str:
    """Where the platform sends the citizen back: the hub reads the status itself there (the
    return proves nothing)."""
    return f"{pay_url(public_url, secret_key, payment_id)}/back"
