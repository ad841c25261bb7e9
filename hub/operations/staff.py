"""Staff signing in to the admin area (docs/admin-guide.md): password (argon2) then a TOTP code
(pyotp), with a lockout after repeated failures; accounts made, disabled and reset by admins.
Every change is audited (hub.operations.audit)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import pyotp
from sqlalchemy import select

from hub.notify.sealing import Sealer
from hub.operations.accounts import (
    AccountError,
    Staff,
    _checked_user,
    _hasher,
    add_user,
    check_password_rules,
)
from hub.operations.audit import record
from hub.store import Store
from hub.store.engine import retrying
from hub.store.models import UserRow

# Who may open what (hub/web/admin): admin everything; supervisor the office's catalogue,
# appointments and statistics; IT the devices; a clerk only their own day (at the counter).
STAFF_ROLES = ("admin", "supervisor", "it", "clerk")
ADMIN_ROLES = STAFF_ROLES  # may sign in to /admin (a clerk to see their own day only)
MAX_FAILURES = 5  # in a row; then the account is locked for LOCKOUT
LOCKOUT = timedelta(minutes=15)
ISSUER = "Bürgeramt Virtuell"

Refusal = Literal["wrong", "locked", "not_staff"]


@dataclass(frozen=True)
class PasswordChecked:
    """The first step passed: who, and whether they still have to set up their second factor."""

    staff: Staff
    has_totp: bool


class SignInRefused(Exception):
    """Why a sign-in failed (`wrong` says nothing about which part was wrong)."""

    def __init__(self, reason: Refusal, until: datetime | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.until = until


def check_password(store: Store, username: str, password: str, now: datetime) -> PasswordChecked:
    """The first step. A locked account is refused before its password is checked; the
    MAX_FAILURES-th wrong password in a row locks it for LOCKOUT."""
    name = username.strip().lower() if isinstance(username, str) else ""
    with store.transaction() as session:
        locked = session.scalar(select(UserRow.locked_until).where(UserRow.username == name))
    if locked is not None and locked > now:
        raise SignInRefused("locked", locked)
    user = _checked_user(store, name, password)
    if user is None:
        _failed(store, name, now)
        raise SignInRefused("wrong")
    if user.role not in ADMIN_ROLES:
        raise SignInRefused("not_staff")
    _succeeded(store, user.id)
    staff = Staff(user.id, user.username, user.display_name, user.role)
    return PasswordChecked(staff, user.totp_sealed is not None)


def _failed(store: Store, username: str, now: datetime) -> None:
    def attempt() -> None:
        with store.transaction() as session:
            user = session.scalar(select(UserRow).where(UserRow.username == username))
            if user is None:
                return
            user.failed_sign_ins += 1
            if user.failed_sign_ins >= MAX_FAILURES:
                user.locked_until = now + LOCKOUT
                user.failed_sign_ins = 0
                record(session, now, "system", "staff.locked", f"user:{user.username}", None, {
                    "until": user.locked_until.isoformat()
                })  # fmt: skip

    retrying(attempt)


def _succeeded(store: Store, user_id: int) -> None:
    def attempt() -> None:
        with store.transaction() as session:
            user = session.get_one(UserRow, user_id)
            user.failed_sign_ins, user.locked_until = 0, None

    retrying(attempt)


def new_totp_secret() -> str:
    """A fresh base32 secret to show while a person sets up their authenticator app."""
    return pyotp.random_base32()


def provisioning_uri(secret: str, username: str) -> str:
    """The otpauth:// address authenticator apps read (typed or scanned)."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def _code_step(secret: str, code: str, now: datetime, last: int | None) -> int | None:
    """The time step `code` belongs to (now, or one step either side), if not used before."""
    code = "".join(code.split())
    if not (len(code) == 6 and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    step = int(now.timestamp()) // totp.interval
    for candidate in (step, step - 1, step + 1):
        if last is not None and candidate <= last:
            continue
        if pyotp.utils.strings_equal(totp.generate_otp(candidate), code):
            return candidate
    return None


def set_up_totp(
    store: Store,
    actor: str,
    sealer: Sealer,
    user_id: int,
    secret: str,
    code: str,
    now: datetime,
) -> bool:
    """Keep `secret` as the person's second factor once `code` shows their app has it;
    audited as done by `actor` (the person, as the pages name them: `web:<name>`)."""
    step = _code_step(secret, code, now, None)
    if step is None:
        return False
    with store.transaction() as session:
        user = session.get_one(UserRow, user_id)
        user.totp_sealed, user.totp_last_step = sealer.seal(secret), step
        record(session, now, actor, "staff.totp_set", f"user:{user.username}", None, None)
    return True


def check_totp(store: Store, sealer: Sealer, user_id: int, code: str, now: datetime) -> bool:
    """The second step: a code of the person's app, each code once. A wrong one counts as a
    failed sign-in (MAX_FAILURES lock the account)."""

    def attempt() -> bool:
        with store.transaction() as session:
            user = session.get_one(UserRow, user_id)
            if user.totp_sealed is None or (user.locked_until and user.locked_until > now):
                return False
            step = _code_step(sealer.unseal(user.totp_sealed), code, now, user.totp_last_step)
            if step is None:
                return False
            user.totp_last_step = step
            return True

    ok = retrying(attempt)
    if not ok:
        with store.transaction() as session:
            name = session.get_one(UserRow, user_id).username
        _failed(store, name, now)
    return ok


def staff_by_id(store: Store, user_id: int) -> Staff | None:
    """An active account as it stands now (a session checks it on every request: a disabled
    account or a changed role takes effect at once)."""
    with store.transaction() as session:
        user = session.get(UserRow, user_id)
        if user is None or not user.active:
            return None
        return Staff(user.id, user.username, user.display_name, user.role)


@dataclass(frozen=True)
class StaffEntry:
    """An account as the people page lists it."""

    id: int
    username: str
    display_name: str
    role: str
    active: bool
    has_totp: bool
    locked_until: datetime | None


def list_staff(store: Store) -> list[StaffEntry]:
    """Every account, by name."""
    with store.transaction() as session:
        rows = session.scalars(select(UserRow).order_by(UserRow.username)).all()
        return [
            StaffEntry(
                r.id,
                r.username,
                r.display_name,
                r.role,
                r.active,
                r.totp_sealed is not None,
                r.locked_until,
            )
            for r in rows
        ]


def create_staff(
    store: Store,
    actor: str,
    username: str,
    password: str,
    role: str,
    now: datetime,
    display_name: str = "",
) -> int:
    """A new account (AccountError names what is wrong), audited."""
    if role not in STAFF_ROLES:
        raise AccountError(f"role must be one of {', '.join(STAFF_ROLES)}")
    user_id = add_user(store, username, password, role, now, display_name)
    with store.transaction() as session:
        user = session.get_one(UserRow, user_id)
        after = {"role": role, "display_name": user.display_name}
        record(session, now, actor, "staff.create", f"user:{user.username}", None, after)
    return user_id


def reset_password(store: Store, actor: str, user_id: int, password: str, now: datetime) -> None:
    """A new password, set by an admin; the second factor is set up again at the next sign-in
    (a person who lost their phone is helped the same way); the lock is lifted."""
    check_password_rules(password)
    with store.transaction() as session:
        user = session.get(UserRow, user_id)
        if user is None:
            raise AccountError(f"no account {user_id}")
        user.password_hash = _hasher.hash(password)
        user.totp_sealed, user.totp_last_step = None, None
        user.failed_sign_ins, user.locked_until = 0, None
        record(session, now, actor, "staff.reset", f"user:{user.username}", None, None)


def set_active(
    store: Store, actor: str, user_id: int, active: bool, now: datetime, own_id: int | None = None
) -> None:
    """Disable an account (it cannot sign in anywhere; its sessions end) or enable it again.
    `own_id`: the account of whoever does it (nobody locks themselves out)."""
    with store.transaction() as session:
        user = session.get(UserRow, user_id)
        if user is None:
            raise AccountError(f"no account {user_id}")
        if user.id == own_id and not active:
            raise AccountError("you cannot disable your own account")
        before = {"active": user.active}
        user.active = active
        action = "staff.enable" if active else "staff.disable"
        record(session, now, actor, action, f"user:{user.username}", before, {"active": active})


def set_role(store: Store, actor: str, user_id: int, role: str, now: datetime) -> str:
    """Give an account another role (it takes effect with its next request), audited with the
    role before and after; returns the account's name. The last active administrator keeps
    the role: without one, nobody could manage the accounts on the pages any more."""
    if role not in STAFF_ROLES:
        raise AccountError(f"role must be one of {', '.join(STAFF_ROLES)}")
    with store.transaction() as session:
        # Every active administrator's row locked (PostgreSQL; SQLite writes one at a time):
        # two administrators taking the role from each other at once cannot both succeed.
        admins = session.scalars(
            select(UserRow.id)
            .where(UserRow.role == "admin", UserRow.active.is_(True))
            .with_for_update()
        ).all()
        user = session.get(UserRow, user_id)
        if user is None:
            raise AccountError(f"no account {user_id}")
        if user.role == role:
            return user.username
        if user.role == "admin" and role != "admin" and set(admins) <= {user.id}:
            raise AccountError("the last administrator keeps the role")
        before = {"role": user.role}
        user.role = role
        record(session, now, actor, "staff.role", f"user:{user.username}", before, {"role": role})
        return user.username
