"""The clerk's screen lock: a PIN chosen at sign-in for quick re-entry, locking when idle,
and signing out after too many wrong PINs or a long absence. Plain Python; the clock is
passed in (seconds on any monotonic scale)."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from enum import StrEnum

PIN_PATTERN = re.compile(r"^[0-9]{4,8}$")


class Unlock(StrEnum):
    """What entering a PIN did."""

    OPENED = "opened"
    WRONG = "wrong"
    SIGN_OUT = "sign_out"  # too many wrong PINs: the full sign-in is needed again


def _hash(pin: str, salt: bytes) -> bytes:
    # scrypt makes guessing a stolen hash slow; the PIN itself only ever lives in memory.
    return hashlib.scrypt(pin.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)


@dataclass
class ScreenLock:
    """Whether the kiosk shows the clerk's work or the PIN pad."""

    idle_seconds: float = 300.0  # lock after this long without a touch (never during a call)
    sign_out_seconds: float = 3600.0  # locked this long: sign the clerk out
    attempts: int = 5
    locked: bool = False
    failures: int = 0
    last_activity: float = 0.0
    locked_at: float = 0.0
    _salt: bytes = field(default=b"", repr=False)
    _pin: bytes | None = field(default=None, repr=False)

    @staticmethod
    def valid_pin(pin: str) -> bool:
        """4 to 8 digits."""
        return bool(PIN_PATTERN.match(pin))

    @property
    def armed(self) -> bool:
        """A clerk is signed in with a PIN."""
        return self._pin is not None

    def start(self, pin: str, now: float) -> None:
        """A clerk signed in and chose `pin`."""
        if not self.valid_pin(pin):
            raise ValueError("the PIN must have 4 to 8 digits")
        self._salt = secrets.token_bytes(16)
        self._pin = _hash(pin, self._salt)
        self.locked, self.failures = False, 0
        self.last_activity = now

    def clear(self) -> None:
        """The clerk signed out: forget the PIN."""
        self._pin, self.locked, self.failures = None, False, 0

    def touch(self, now: float) -> None:
        """The clerk used the screen."""
        if not self.locked:
            self.last_activity = now

    def lock(self, now: float) -> None:
        """Lock now (the clerk leaves the counter, or idle)."""
        if self.armed and not self.locked:
            self.locked, self.locked_at, self.failures = True, now, 0

    def tick(self, now: float, busy: bool) -> bool:
        """Lock when idle (a call under way counts as use). True when the clerk must be
        signed out because the screen stayed locked too long."""
        if not self.armed:
            return False
        if busy:
            self.touch(now)
        elif not self.locked and now - self.last_activity >= self.idle_seconds:
            self.lock(now)
        return self.locked and now - self.locked_at >= self.sign_out_seconds

    def unlock(self, pin: str, now: float) -> Unlock:
        """Check a PIN entered at the lock screen."""
        if not self.locked:
            return Unlock.OPENED
        if self._pin is not None and hmac.compare_digest(_hash(pin, self._salt), self._pin):
            self.locked, self.failures = False, 0
            self.last_activity = now
            return Unlock.OPENED
        self.failures += 1
        return Unlock.SIGN_OUT if self.failures >= self.attempts else Unlock.WRONG

    @property
    def attempts_left(self) -> int:
        """Wrong PINs still allowed before signing out."""
        return max(self.attempts - self.failures, 0)
