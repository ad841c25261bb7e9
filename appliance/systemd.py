"""systemd's notification protocol (sd_notify(3)) in a few lines of socket code: READY=1 once the
daemon has started, then WATCHDOG=1 every half `WatchdogSec` from the event loop itself, so a
loop that hangs stops the pings and systemd restarts the daemon (docs/operations.md)."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger("appliance.systemd")


class Notifier:
    """Tells systemd how the daemon is; does nothing when not started by systemd."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET", "")
        # "@name" is a socket in the abstract namespace (a leading NUL byte).
        self.address = "\0" + address[1:] if address.startswith("@") else address
        self.watchdog_s = _watchdog_seconds(env)

    def notify(self, *fields: str) -> bool:
        """Send `READY=1`, `WATCHDOG=1`, `STATUS=…` (several at once: one datagram)."""
        if not self.address:
            return False
        message = "\n".join(fields).encode()
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.sendto(message, self.address)
        except OSError as exc:  # systemd gone or the socket not ours: nothing to tell
            log.warning("systemd notification not sent: %s", exc)
            return False
        return True

    async def keep_alive(self) -> None:
        """WATCHDOG=1 every half watchdog interval until cancelled (none asked: nothing)."""
        if self.watchdog_s is None or not self.address:
            return
        while True:
            self.notify("WATCHDOG=1")
            await asyncio.sleep(self.watchdog_s / 2)


def _watchdog_seconds(env: Mapping[str, str]) -> float | None:
    """The watchdog interval systemd set for this process (WATCHDOG_USEC, for WATCHDOG_PID)."""
    pid = env.get("WATCHDOG_PID")
    if pid and pid != str(os.getpid()):
        return None  # meant for another process (a parent that started us)
    try:
        usec = int(env.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    return usec / 1_000_000 if usec > 0 else None
