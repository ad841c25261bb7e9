"""Enrolment rules, framework-free: what makes an enrolment request acceptable, when a token
may still be used, durations as IT types them, and the hub's short-lived access tokens.

The states of a device key: pending → approved → revoked, or pending → revoked (rejected).
docs/enrolment.md tells the whole exchange.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import ValidationError

from protocol import enrolment as wire

PENDING, APPROVED, REVOKED = "pending", "approved", "revoked"
# Nonces are kept this long: a request older than the accepted skew is refused anyway.
NONCE_KEEP = timedelta(seconds=2 * wire.MAX_CLOCK_SKEW_SECONDS)
CHALLENGE_TTL = timedelta(seconds=60)
_ACCESS_CONTEXT = b"buergeramt device access v1"


class EnrolmentRefused(Exception):
    """A request refused: an error code of hub.messages.ERRORS (and docs/enrolment.md)."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(message or code)
        self.code = code


def parse_duration(text: str) -> timedelta:
    """ "7d", "12h", "30m" or "2w" as a timedelta (ValueError for anything else)."""
    match = re.fullmatch(r"\s*(\d{1,4})\s*([mhdw])\s*", text)
    if not match or int(match[1]) == 0:
        raise ValueError(f"not a duration: {text!r} (say e.g. 30m, 12h, 7d or 2w)")
    unit = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}[match[2]]
    return timedelta(**{unit: int(match[1])})


def read_enrolment(body: bytes, signature: str | None, now: datetime) -> wire.EnrolmentRequest:
    """The enrolment request in `body`, signed by the key it names and sent within the accepted
    skew of `now`; EnrolmentRefused otherwise (invalid_body, bad_signature, stale_timestamp)."""
    try:
        request = wire.EnrolmentRequest.model_validate_json(body)
    except ValidationError as error:
        raise EnrolmentRefused("invalid_body", str(error.errors()[:1])) from error
    if not signature or not wire.verify(request.public_key, signature, body):
        raise EnrolmentRefused(wire.BAD_SIGNATURE, "the signature does not fit body and key")
    skew = abs((request.moment() - now).total_seconds())
    if skew > wire.MAX_CLOCK_SKEW_SECONDS:
        raise EnrolmentRefused(wire.STALE_TIMESTAMP, f"timestamp {skew:.0f} s away")
    return request


def nonce_digest(public_key: str, nonce: str) -> str:
    """How a seen nonce is stored: per key."""
    return hashlib.sha256(f"{public_key}\n{nonce}".encode()).hexdigest()


def challenge_digest(challenge: str) -> str:
    """How a challenge is stored (the appliance must show the challenge itself)."""
    return hashlib.sha256(challenge.encode()).hexdigest()


def token_usable(expires_at: datetime, uses_left: int | None, revoked: bool, now: datetime) -> bool:
    """Whether an enrolment token may enrol one more appliance."""
    return not revoked and now < expires_at and (uses_left is None or uses_left > 0)


@dataclass(frozen=True)
class Access:
    """What an access token says: which device, with which key (its fingerprint), until when."""

    device_id: int
    fingerprint: str
    expires_at: datetime


def _mac(secret: str, payload: str) -> str:
    key = hmac.digest(secret.encode(), _ACCESS_CONTEXT, "sha256")
    return wire.b64url(hmac.digest(key, payload.encode(), "sha256"))


def issue_access(
    secret: str, device_id: int, fingerprint: str, now: datetime, ttl: timedelta
) -> str:
    """A short-lived access token for a device's approved key, signed with the hub's secret."""
    payload = f"{device_id}.{fingerprint.replace(' ', '')}.{int((now + ttl).timestamp())}"
    return f"{payload}.{_mac(secret, payload)}"


def read_access(secret: str, token: object, now: datetime) -> Access | None:
    """The access a token grants if the hub signed it and it has not expired, else None.
    The caller still checks the device's current state (revocation is at once)."""
    if not isinstance(token, str) or len(token) > 200:
        return None
    payload, _, mac = token.rpartition(".")
    parts = payload.split(".")
    if len(parts) != 3 or not (parts[0].isdigit() and parts[2].isdigit()):
        return None
    if (
        len(parts[0]) > 15
        or len(parts[2]) > 15
        or not hmac.compare_digest(mac, _mac(secret, payload))
    ):
        return None
    hex_print = parts[1]
    expires_at = datetime.fromtimestamp(int(parts[2]), now.tzinfo)
    printed = " ".join(hex_print[i : i + 4] for i in range(0, len(hex_print), 4))
    return Access(int(parts[0]), printed, expires_at) if now < expires_at else None
