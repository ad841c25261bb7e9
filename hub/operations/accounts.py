"""Devices (counter appliances) and staff accounts: creating, revoking, signing in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update

from hub.booking.tokens import hash_token, looks_like_token, new_token
from hub.offload import off_loop
from hub.store import Store
from hub.store.engine import retrying
from hub.store.models import ClerkSessionRow, CounterRow, DeviceKeyRow, DeviceRow, UserRow

# admin: everything; supervisor: the office; it: the devices; clerk: their own counter day.
ROLES = ("clerk", "admin", "supervisor", "it")
_hasher = PasswordHasher()
# Verified against when the user does not exist, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not a password")


class AccountError(ValueError):
    """A request about devices or accounts that cannot be met; the message says why."""


@dataclass(frozen=True)
class Device:
    """An appliance as the hub knows it."""

    id: int
    name: str
    counter_id: int
    counter_name: str
    revoked: bool
    online: bool


@dataclass(frozen=True)
class Clerk:
    """A signed-in clerk."""

    id: int
    username: str
    display_name: str


def add_device(store: Store, counter_id: int, name: str, now: datetime) -> tuple[Device, str]:
    """Register an appliance for a counter; returns it with its credential (shown only once)."""
    credential = new_token()
    with store.transaction() as session:
        counter = session.get(CounterRow, counter_id)
        if counter is None:
            raise AccountError(f"no counter with id {counter_id}")
        row = DeviceRow(
            name=name or f"{counter.name} appliance",
            counter_id=counter_id,
            credential_hash=hash_token(credential),
            created_at=now,
        )
        session.add(row)
        session.flush()
        return Device(row.id, row.name, counter_id, counter.name, False, False), credential


def revoke_device(store: Store, device_id: int, now: datetime) -> None:
    """Revoke an appliance: it is refused from now on, and hub processes drop its connection."""
    with store.transaction() as session:
        row = session.get(DeviceRow, device_id)
        if row is None:
            raise AccountError(f"no device with id {device_id}")
        if row.revoked_at is None:
            row.revoked_at = now
        session.execute(  # an enrolled key's access tokens are refused from now on
            update(DeviceKeyRow)
            .where(DeviceKeyRow.device_id == device_id, DeviceKeyRow.state != "revoked")
            .values(state="revoked", revoked_at=now)
        )
        session.execute(
            update(ClerkSessionRow)
            .where(ClerkSessionRow.device_id == device_id, ClerkSessionRow.ended_at.is_(None))
            .values(ended_at=now)
        )


def list_devices(store: Store, now: datetime, stale: timedelta) -> list[Device]:
    """Every device, with whether a hub process saw it connected within `stale`."""
    with store.transaction() as session:
        rows = session.execute(
            select(DeviceRow, CounterRow.name)
            .join(CounterRow, CounterRow.id == DeviceRow.counter_id)
            .order_by(DeviceRow.id)
        ).all()
        return [
            Device(
                d.id,
                d.name,
                d.counter_id,
                counter_name,
                d.revoked_at is not None,
                d.sid is not None and d.seen_at is not None and now - d.seen_at < stale,
            )
            for d, counter_name in rows
        ]


def authenticate_device(store: Store, credential: str) -> Device | None:
    """The unrevoked device holding `credential`, or None."""
    if not isinstance(credential, str) or not looks_like_token(credential):
        return None

    def attempt() -> Device | None:
        with store.transaction() as session:
            found = session.execute(
                select(DeviceRow, CounterRow.name)
                .join(CounterRow, CounterRow.id == DeviceRow.counter_id)
                .where(DeviceRow.credential_hash == hash_token(credential))
            ).first()
            if found is None or found[0].revoked_at is not None:
                return None
            d, counter_name = found
            return Device(d.id, d.name, d.counter_id, counter_name, False, d.sid is not None)

    return retrying(attempt)


def add_user(
    store: Store, username: str, password: str, role: str, now: datetime, display_name: str = ""
) -> int:
    """Create a staff account; the password is stored as an argon2 hash."""
    username = username.strip().lower()
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    if not username or len(username) > 64 or not all(c.isalnum() or c in "._-" for c in username):
        raise AccountError("username: 1 to 64 letters, digits, '.', '_' or '-'")
    check_password_rules(password)
    with store.transaction() as session:
        if session.scalar(select(UserRow.id).where(UserRow.username == username)) is not None:
            raise AccountError(f"user {username!r} exists already")
        row = UserRow(
            username=username,
            display_name=display_name or username,
            role=role,
            password_hash=_hasher.hash(password),
            created_at=now,
        )
        session.add(row)
        session.flush()
        return row.id


def check_password_rules(password: str) -> None:
    """AccountError unless `password` is long enough to keep (and not absurdly long)."""
    if not isinstance(password, str) or len(password) < 8:
        raise AccountError("password: at least 8 characters")
    if len(password) > 200:
        raise AccountError("password: at most 200 characters")


def _verify(password_hash: str, password: str) -> bool:
    def check() -> bool:
        try:
            return _hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    # argon2 costs some 50 ms of CPU by design; in a native thread it holds up nobody else.
    return off_loop(check)


def _checked_user(store: Store, username: str, password: str) -> UserRow | None:
    """The active account with this name and password, or None (as slow for a wrong name as
    for a wrong password)."""
    if not isinstance(username, str) or not isinstance(password, str):
        return None
    with store.transaction() as session:
        user = session.scalar(select(UserRow).where(UserRow.username == username.strip().lower()))
    # Verified outside any transaction: it yields to other greenlets, and one of them waiting
    # for SQLite's write lock would block the whole process.
    ok = _verify(user.password_hash if user else _DUMMY_HASH, password)
    return user if user is not None and ok and user.active else None


@dataclass(frozen=True)
class Staff:
    """A staff account whose password was just checked."""

    id: int
    username: str
    display_name: str
    role: str


def verify_staff(
    store: Store, username: str, password: str, roles: tuple[str, ...] = ROLES
) -> Staff | None:
    """The active account of one of `roles` with this name and password, or None (HTTP Basic
    on the admin pages until issue 18 brings sign-in with sessions)."""
    user = _checked_user(store, username, password)
    if user is None or user.role not in roles:
        return None
    return Staff(user.id, user.username, user.display_name, user.role)


def sign_in(
    store: Store, device_id: int, username: str, password: str, now: datetime, ttl: timedelta
) -> tuple[Clerk, str] | None:
    """Sign a clerk in at a device; returns the clerk and a session token, or None."""
    user = _checked_user(store, username, password)
    if user is None or user.role != "clerk":
        return None
    token = new_token()
    with store.transaction() as session:
        session.add(
            ClerkSessionRow(
                token_hash=hash_token(token),
                user_id=user.id,
                device_id=device_id,
                created_at=now,
                expires_at=now + ttl,
            )
        )
        return Clerk(user.id, user.username, user.display_name), token


def resume(store: Store, device_id: int, token: str, now: datetime) -> Clerk | None:
    """The clerk of a live session token issued at this device, or None."""
    if not isinstance(token, str) or not looks_like_token(token):
        return None
    with store.transaction() as session:
        found = session.execute(
            select(UserRow)
            .join(ClerkSessionRow, ClerkSessionRow.user_id == UserRow.id)
            .where(
                ClerkSessionRow.token_hash == hash_token(token),
                ClerkSessionRow.device_id == device_id,
                ClerkSessionRow.ended_at.is_(None),
                ClerkSessionRow.expires_at > now,
                UserRow.active.is_(True),
            )
        ).scalar_one_or_none()
        return Clerk(found.id, found.username, found.display_name) if found else None


def sign_out(store: Store, token: str, now: datetime) -> None:
    """End a clerk session."""
    with store.transaction() as session:
        session.execute(
            update(ClerkSessionRow)
            .where(ClerkSessionRow.token_hash == hash_token(token))
            .values(ended_at=now)
        )
