"""Enrolment in the store: tokens for batches of cards, appliances' keys from pending to
approved or revoked, challenges, and the devices behind access tokens (hub.fleet.enrolment
holds the rules)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub.booking.tokens import hash_token, new_token
from hub.fleet.enrolment import (
    APPROVED,
    CHALLENGE_TTL,
    NONCE_KEEP,
    PENDING,
    REVOKED,
    EnrolmentRefused,
    challenge_digest,
    nonce_digest,
    read_access,
    token_usable,
)
from hub.operations import accounts
from hub.operations.accounts import AccountError, Device
from hub.store import Store
from hub.store.engine import retrying
from hub.store.models import (
    CounterRow,
    DeviceChallengeRow,
    DeviceKeyRow,
    DeviceNonceRow,
    DeviceRow,
    EnrolmentTokenRow,
)
from protocol import enrolment as wire


class NotPending(AccountError):
    """No pending appliance shows this claim code (or several do)."""


@dataclass(frozen=True)
class EnrolmentToken:
    """A token as `buergeramt enrol tokens list` shows it (never the token itself)."""

    id: int
    batch: str
    created_at: datetime
    expires_at: datetime
    uses_left: int | None
    counter_id: int | None
    created_by: str
    revoked: bool


@dataclass(frozen=True)
class Key:
    """An appliance's key as IT sees it."""

    id: int
    state: str
    claim_code: str
    fingerprint: str
    hostname: str
    version: str
    enrolled_at: datetime
    device_id: int | None


def create_token(
    store: Store,
    batch: str,
    expires_at: datetime,
    uses: int | None,
    counter_id: int | None,
    created_by: str,
    now: datetime,
) -> tuple[EnrolmentToken, str]:
    """A new enrolment token; returns it with the secret (shown only once)."""
    batch = batch.strip()
    if not batch or len(batch) > 100:
        raise AccountError("a batch name is 1 to 100 characters")
    if expires_at <= now:
        raise AccountError("the token would expire at once")
    if uses is not None and uses < 1:
        raise AccountError("--uses must be at least 1")
    secret = new_token()
    with store.transaction() as session:
        if counter_id is not None and session.get(CounterRow, counter_id) is None:
            raise AccountError(f"no counter with id {counter_id}")
        row = EnrolmentTokenRow(
            token_hash=hash_token(secret),
            batch=batch,
            created_at=now,
            expires_at=expires_at,
            uses_left=uses,
            counter_id=counter_id,
            created_by=created_by[:100],
        )
        session.add(row)
        session.flush()
        return _token(row), secret


def _token(row: EnrolmentTokenRow) -> EnrolmentToken:
    return EnrolmentToken(
        row.id,
        row.batch,
        row.created_at,
        row.expires_at,
        row.uses_left,
        row.counter_id,
        row.created_by,
        row.revoked_at is not None,
    )


def list_tokens(store: Store) -> list[EnrolmentToken]:
    """Every enrolment token, newest first."""
    with store.transaction() as session:
        rows = session.scalars(select(EnrolmentTokenRow).order_by(EnrolmentTokenRow.id.desc()))
        return [_token(row) for row in rows]


def revoke_token(store: Store, token_id: int, now: datetime) -> None:
    """No appliance enrols with this token any more (those enrolled stay)."""
    with store.transaction() as session:
        row = session.get(EnrolmentTokenRow, token_id)
        if row is None:
            raise AccountError(f"no enrolment token with id {token_id}")
        if row.revoked_at is None:
            row.revoked_at = now


@dataclass(frozen=True)
class Enrolled:
    """The answer to an enrolment request."""

    state: str
    claim_code: str
    fingerprint: str
    device_id: int | None


def enrol(store: Store, request: wire.EnrolmentRequest, now: datetime) -> Enrolled:
    """Record a verified enrolment request (hub.fleet.enrolment.read_enrolment); refusals
    (replayed, revoked, token_refused) write nothing."""

    def attempt() -> Enrolled:
        with store.transaction() as session:
            session.execute(delete(DeviceNonceRow).where(DeviceNonceRow.seen_at < now - NONCE_KEEP))
            digest = nonce_digest(request.public_key, request.nonce)
            if session.get(DeviceNonceRow, digest) is not None:
                raise EnrolmentRefused(wire.REPLAYED, "this request was seen before")
            session.add(DeviceNonceRow(digest=digest, seen_at=now))
            key = session.scalars(
                select(DeviceKeyRow).where(DeviceKeyRow.public_key == request.public_key)
            ).first()
            if key is None:
                key = _new_key(session, request, now)
            elif key.state == REVOKED:
                raise EnrolmentRefused(wire.REVOKED, "this key was revoked; make a new one")
            session.flush()
            return Enrolled(key.state, key.claim_code, key.fingerprint, key.device_id)

    try:
        return retrying(attempt)
    except IntegrityError:
        # Another request of this key committed first: its nonce (then this is a replay, and
        # the second attempt says so) or its key (then this one answers the key's state).
        return retrying(attempt)


def _new_key(session: Session, request: wire.EnrolmentRequest, now: datetime) -> DeviceKeyRow:
    token = session.scalars(
        select(EnrolmentTokenRow).where(EnrolmentTokenRow.token_hash == hash_token(request.token))
    ).first()
    if token is None or not token_usable(
        token.expires_at, token.uses_left, token.revoked_at is not None, now
    ):
        raise EnrolmentRefused(wire.TOKEN_REFUSED, "unknown, expired or used-up token")
    if token.uses_left is not None:  # counted down in the database: two at once get one use
        used = session.execute(
            update(EnrolmentTokenRow)
            .where(EnrolmentTokenRow.id == token.id, EnrolmentTokenRow.uses_left > 0)
            .values(uses_left=EnrolmentTokenRow.uses_left - 1)
            .execution_options(synchronize_session="fetch")
        )
        if used.rowcount != 1:  # type: ignore[attr-defined]  # a CursorResult for an UPDATE
            raise EnrolmentRefused(wire.TOKEN_REFUSED, "unknown, expired or used-up token")
    raw = wire.unb64url(request.public_key)
    key = DeviceKeyRow(
        public_key=request.public_key,
        fingerprint=wire.fingerprint(raw),
        claim_code=wire.claim_code(raw),
        state=PENDING,
        hostname=request.hostname,
        version=request.version,
        enrolled_at=now,
        token_id=token.id,
    )
    session.add(key)
    if token.counter_id is not None:
        _approve(session, key, token.counter_id, "", f"token:{token.batch}", now)
    return key


def _approve(
    session: Session, key: DeviceKeyRow, counter_id: int, name: str, by: str, now: datetime
) -> DeviceRow:
    counter = session.get(CounterRow, counter_id)
    if counter is None:
        raise AccountError(f"no counter with id {counter_id}")
    # A key-enrolled device holds no credential: its row keeps the hash of one nobody is told.
    device = DeviceRow(
        name=name or f"{counter.name} appliance ({key.hostname})"[:100],
        counter_id=counter_id,
        credential_hash=hash_token(new_token()),
        created_at=now,
    )
    session.add(device)
    session.flush()
    key.state, key.device_id = APPROVED, device.id
    key.approved_at, key.approved_by = now, by[:100]
    return device


def _key(row: DeviceKeyRow) -> Key:
    return Key(
        row.id,
        row.state,
        row.claim_code,
        row.fingerprint,
        row.hostname,
        row.version,
        row.enrolled_at,
        row.device_id,
    )


def pending(store: Store) -> list[Key]:
    """The keys waiting for IT's approval, oldest first."""
    with store.transaction() as session:
        rows = session.scalars(
            select(DeviceKeyRow).where(DeviceKeyRow.state == PENDING).order_by(DeviceKeyRow.id)
        )
        return [_key(row) for row in rows]


def key_by_id(store: Store, key_id: int) -> Key | None:
    """One appliance's key as it stands now (pending, approved or revoked), or None."""
    with store.transaction() as session:
        row = session.get(DeviceKeyRow, key_id)
        return _key(row) if row is not None else None


def _pending_by_code(session: Session, code: str) -> DeviceKeyRow:
    wanted = wire.normalise_claim_code(code)
    rows = session.scalars(
        select(DeviceKeyRow).where(DeviceKeyRow.claim_code == wanted, DeviceKeyRow.state == PENDING)
    ).all()
    if not rows:
        raise NotPending(f"no pending appliance with claim code {wanted}")
    if len(rows) > 1:  # 30 bits: rare, but two keys may share a code
        raise NotPending(f"{len(rows)} pending appliances show {wanted}; reject and re-flash one")
    return rows[0]


def approve(
    store: Store, code: str, counter_id: int, name: str, approved_by: str, now: datetime
) -> tuple[Key, int]:
    """Approve the pending appliance showing `code` for a counter; returns it and its device id."""
    with store.transaction() as session:
        key = _pending_by_code(session, code)
        device = _approve(session, key, counter_id, name.strip(), approved_by, now)
        return _key(key), device.id


def reject(store: Store, code: str, now: datetime) -> Key:
    """Refuse the pending appliance showing `code` (its key is revoked)."""
    with store.transaction() as session:
        key = _pending_by_code(session, code)
        key.state, key.revoked_at = REVOKED, now
        return _key(key)


def new_challenge(store: Store, public_key: str, now: datetime) -> str:
    """A fresh challenge for a known, unrevoked key (kept hashed, single use)."""
    challenge = wire.b64url(secrets.token_bytes(wire.CHALLENGE_BYTES))
    with store.transaction() as session:
        key = _known_key(session, public_key)
        session.execute(delete(DeviceChallengeRow).where(DeviceChallengeRow.expires_at < now))
        session.add(
            DeviceChallengeRow(
                digest=challenge_digest(challenge), key_id=key.id, expires_at=now + CHALLENGE_TTL
            )
        )
    return challenge


def _known_key(session: Session, public_key: str) -> DeviceKeyRow:
    key = session.scalars(select(DeviceKeyRow).where(DeviceKeyRow.public_key == public_key)).first()
    if key is None:
        raise EnrolmentRefused(wire.UNKNOWN_KEY, "enrol this key first")
    if key.state == REVOKED:
        raise EnrolmentRefused(wire.REVOKED, "this key was revoked")
    return key


def redeem(store: Store, request: wire.TokenRequest, now: datetime) -> tuple[Device, str]:
    """The approved device whose key signed the challenge, with its key's fingerprint; the
    challenge is used up either way."""
    with store.transaction() as session:
        key = _known_key(session, request.public_key)
        row = session.get(DeviceChallengeRow, challenge_digest(request.challenge))
        fresh = row is not None and row.key_id == key.id and now < row.expires_at
        if row is not None and row.key_id == key.id:
            session.delete(row)
    if not fresh:
        raise EnrolmentRefused(wire.CHALLENGE_EXPIRED, "ask for a new challenge")
    try:
        signed = wire.unb64url(request.challenge)
    except ValueError:
        signed = b""
    if not wire.verify(request.public_key, request.signature, signed):
        raise EnrolmentRefused(wire.BAD_SIGNATURE, "the signature does not fit the challenge")
    with store.transaction() as session:
        key = _known_key(session, request.public_key)
        if key.state == PENDING or key.device_id is None:
            raise EnrolmentRefused(wire.PENDING, "waiting for IT to approve this appliance")
        device = _device(session, key.device_id)
        if device is None:
            raise EnrolmentRefused(wire.REVOKED, "this device was revoked")
        return device, key.fingerprint


def _device(session: Session, device_id: int) -> Device | None:
    found = session.execute(
        select(DeviceRow, CounterRow.name)
        .join(CounterRow, CounterRow.id == DeviceRow.counter_id)
        .where(DeviceRow.id == device_id)
    ).first()
    if found is None or found[0].revoked_at is not None:
        return None
    d, counter_name = found
    return Device(d.id, d.name, d.counter_id, counter_name, False, d.sid is not None)


def authenticate_access(store: Store, secret: str, token: object, now: datetime) -> Device | None:
    """The device an access token stands for, if the token is the hub's, unexpired, and the
    device and its key are still approved (checked on every use: revocation is at once)."""
    access = read_access(secret, token, now)
    if access is None:
        return None

    def attempt() -> Device | None:
        with store.transaction() as session:
            key = session.scalars(
                select(DeviceKeyRow).where(DeviceKeyRow.device_id == access.device_id)
            ).first()
            if key is None or key.state != APPROVED or key.fingerprint != access.fingerprint:
                return None
            return _device(session, access.device_id)

    return retrying(attempt)


def authenticate_bearer(store: Store, secret: str, bearer: str, now: datetime) -> Device | None:
    """The device a bearer value of an HTTP request stands for: an access token of an enrolled
    appliance, or (legacy) a device credential from `buergeramt devices add`."""
    device = authenticate_access(store, secret, bearer, now)
    return device if device is not None else accounts.authenticate_device(store, bearer)


def key_of(store: Store, device_id: int) -> str | None:
    """The fingerprint of a device's approved key; None for a device with a credential."""
    with store.transaction() as session:
        key = session.scalars(
            select(DeviceKeyRow).where(
                DeviceKeyRow.device_id == device_id, DeviceKeyRow.state == APPROVED
            )
        ).first()
        return key.fingerprint if key else None


def access_ttl(minutes: int) -> timedelta:
    """How long an access token lasts."""
    return timedelta(minutes=minutes)
