"""Enrolment over the network: the bodies of /api/v1/enrolment and /api/v1/device/*, and the
pure helpers both ends share (base64url, the key's fingerprint and claim code, signatures).

An appliance makes its own Ed25519 key; the public key travels as base64url without padding of
its 32 raw bytes. See docs/enrolment.md for the states and the error codes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from datetime import UTC, datetime
from typing import Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from pydantic import Field, field_validator

from protocol.appliance import Device
from protocol.base import News, Request

ENROLMENT_PATH = "/api/v1/enrolment"
CHALLENGE_PATH = "/api/v1/device/challenge"
TOKEN_PATH = "/api/v1/device/token"
SIGNATURE_HEADER = "X-Signature"

PUBLIC_KEY_BYTES = 32
NONCE_MIN_BYTES = 16
NONCE_MAX_BYTES = 64
CHALLENGE_BYTES = 32
MAX_CLOCK_SKEW_SECONDS = 5 * 60
MAX_HOSTNAME = 64
MAX_VERSION = 32
MAX_TOKEN = 128

# Error codes (in the API's envelope {"error": {"code", "message"}}).
REPLAYED = "replayed"
TOKEN_REFUSED = "token_refused"
REVOKED = "revoked"
PENDING = "pending"
BAD_SIGNATURE = "bad_signature"
CHALLENGE_EXPIRED = "challenge_expired"
STALE_TIMESTAMP = "stale_timestamp"
UNKNOWN_KEY = "unknown_key"

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

KeyState = Literal["pending", "approved", "revoked"]


def b64url(data: bytes) -> str:
    """Base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    """The bytes of base64url with or without padding (ValueError when it is not that)."""
    if not text.isascii() or any(c not in _B64URL for c in text.rstrip("=")):
        raise ValueError("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as error:
        raise ValueError("not base64url") from error


_B64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def fingerprint(public_key_raw: bytes) -> str:
    """The key's fingerprint as shown to people: SHA-256, first 32 hex digits, grouped by 4."""
    digest = hashlib.sha256(public_key_raw).hexdigest()[:32]
    return " ".join(digest[i : i + 4] for i in range(0, 32, 4))


def claim_code(public_key_raw: bytes) -> str:
    """The short code the kiosk shows: SHA-256's first 30 bits in Crockford base32, "ABC-DEF"."""
    bits = int.from_bytes(hashlib.sha256(public_key_raw).digest()[:4], "big") >> 2
    chars = "".join(CROCKFORD[(bits >> shift) & 31] for shift in range(25, -1, -5))
    return f"{chars[:3]}-{chars[3:]}"


def normalise_claim_code(text: str) -> str:
    """A claim code as typed by a person: case, dashes and spaces ignored; I/L → 1, O → 0."""
    plain = text.upper().replace("-", "").replace(" ", "")
    plain = plain.translate(str.maketrans("ILO", "110"))
    return f"{plain[:3]}-{plain[3:]}" if len(plain) == 6 else plain


def public_key_raw(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    """The 32 raw bytes of a key's public half."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw)


def sign(private_key: Ed25519PrivateKey, data: bytes) -> str:
    """A signature of `data`, base64url."""
    return b64url(private_key.sign(data))


def verify(public_key_b64: str, signature_b64: str, data: bytes) -> bool:
    """Whether `signature_b64` is the key's signature of `data` (False on any malformed part)."""
    try:
        raw = unb64url(public_key_b64)
        signature = unb64url(signature_b64)
        if len(raw) != PUBLIC_KEY_BYTES:
            return False
        Ed25519PublicKey.from_public_bytes(raw).verify(signature, data)
    except (ValueError, InvalidSignature):
        return False
    return True


def utc_timestamp(moment: datetime) -> str:
    """An aware moment as ISO 8601 UTC ("2026-11-30T16:00:00Z")."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_timestamp(text: str) -> datetime:
    """An ISO 8601 moment with its offset, as aware UTC (ValueError without an offset)."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError("timestamp without a UTC offset")
    return moment.astimezone(UTC)


def _public_key(value: str) -> str:
    raw = unb64url(value)
    if len(raw) != PUBLIC_KEY_BYTES:
        raise ValueError("a public key is 32 bytes")
    if b64url(raw) != value:  # one spelling per key: no padding, no stray low bits
        raise ValueError("a public key is unpadded canonical base64url")
    return value


PublicKeyField = Field(min_length=43, max_length=44)


# --- appliance → hub ---


class EnrolmentRequest(Request):
    """The signed body of POST /api/v1/enrolment (its signature in the X-Signature header)."""

    token: str = Field(min_length=1, max_length=MAX_TOKEN)
    public_key: str = PublicKeyField
    hostname: str = Field(min_length=1, max_length=MAX_HOSTNAME)
    version: str = Field(min_length=1, max_length=MAX_VERSION)
    nonce: str = Field(min_length=22, max_length=88)
    timestamp: str = Field(min_length=10, max_length=40)

    _check_key = field_validator("public_key")(_public_key)

    @field_validator("nonce")
    @classmethod
    def _nonce(cls, value: str) -> str:
        if not NONCE_MIN_BYTES <= len(unb64url(value)) <= NONCE_MAX_BYTES:
            raise ValueError("a nonce is 16 to 64 bytes")
        return value

    @field_validator("timestamp")
    @classmethod
    def _timestamp(cls, value: str) -> str:
        parse_timestamp(value)
        return value

    def moment(self) -> datetime:
        """When the appliance says it sent this."""
        return parse_timestamp(self.timestamp)


class ChallengeRequest(Request):
    """POST /api/v1/device/challenge."""

    public_key: str = PublicKeyField

    _check_key = field_validator("public_key")(_public_key)


class TokenRequest(Request):
    """POST /api/v1/device/token: the challenge signed with the device's key."""

    public_key: str = PublicKeyField
    challenge: str = Field(min_length=43, max_length=44)
    signature: str = Field(min_length=86, max_length=88)

    _check_key = field_validator("public_key")(_public_key)


def signed_enrolment(
    private_key: Ed25519PrivateKey, request: EnrolmentRequest
) -> tuple[bytes, str]:
    """The exact body bytes to send and their signature for the X-Signature header."""
    body = request.model_dump_json().encode()
    return body, sign(private_key, body)


# --- hub → appliance ---


class Enrolment(News):
    """The answer to an enrolment: 202 while pending, 201 when approved."""

    state: KeyState
    claim_code: str
    fingerprint: str
    device_id: int | None = None


class Challenge(News):
    """A challenge to sign (single use, `expires_in` seconds)."""

    challenge: str
    expires_in: int


class AccessToken(News):
    """A short-lived access token: `auth: {"access_token": ...}` on /appliance."""

    access_token: str
    expires_in: int
    device: Device


class TokenRenewed(News):
    """`token_renew` done over the live connection."""

    ok: Literal[True] = True
    access_token: str
    expires_in: int
