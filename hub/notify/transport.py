"""Delivering composed mails: by SMTP, or into an outbox folder (demo, laptop, tests)."""

from __future__ import annotations

import contextlib
import os
import smtplib
import ssl
import tempfile
import time
import uuid
from collections.abc import Sequence
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

# A temporary file this old is a leftover of a crash, not a write under way in another process.
STALE_AFTER = timedelta(minutes=10)


class Transport(Protocol):
    """Something that delivers a message or raises."""

    def send(self, message: EmailMessage) -> None:
        """Deliver `message`; raise on any failure so the outbox retries it."""


class SmtpTransport:
    """An SMTP server with STARTTLS, implicit TLS or (on loopback only) no encryption."""

    def __init__(
        self,
        host: str,
        port: int,
        security: str = "starttls",
        user: str | None = None,
        password: str | None = None,
        timeout: float = 20.0,
        ca_file: str | None = None,
    ) -> None:
        self.host, self.port, self.security = host, port, security
        self.user, self.password, self.timeout = user, password, timeout
        self.ca_file = ca_file  # a city's own CA; the system's CAs otherwise

    def send(self, message: EmailMessage) -> None:
        """Open a connection, authenticate if configured, send."""
        context = ssl.create_default_context(cafile=self.ca_file)
        smtp: smtplib.SMTP
        if self.security == "tls":
            smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with smtp:
            if self.security == "starttls":
                smtp.starttls(context=context)
            if self.user:
                smtp.login(self.user, self.password or "")
            smtp.send_message(message)


class FolderTransport:
    """Writes each message as an .eml file; a file appears whole or not at all."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.remove_stale()

    def remove_stale(self) -> int:
        """Delete temporary files left by a crash mid-write (older than STALE_AFTER)."""
        cutoff = time.time() - STALE_AFTER.total_seconds()
        removed = 0
        for path in self.directory.glob("*.tmp") if self.directory.is_dir() else ():
            with contextlib.suppress(OSError):  # another process may remove it first
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
        return removed

    def forget(self, appointment_ids: Sequence[uuid.UUID]) -> int:
        """Delete the mails of these appointments (retention): each file's name carries its
        appointment's id, from the Message-ID (hub.notify.outbox)."""
        wanted = {str(i) for i in appointment_ids}
        removed = 0
        for path in self.directory.glob("*.eml") if self.directory.is_dir() else ():
            if any(part in wanted for part in path.stem.split("@")[0].split(".")):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                    removed += 1
        return removed

    def send(self, message: EmailMessage) -> None:
        """Write the message atomically (temporary file, then rename). On failure (a full
        disk) the temporary file goes again, so retries do not fill the folder further."""
        self.directory.mkdir(parents=True, exist_ok=True)
        name = (message["Message-ID"] or "mail").strip("<>").replace("/", "_")
        fd, tmp = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(message.as_bytes())
                file.flush()
                os.fsync(file.fileno())  # ENOSPC shows here at the latest, not after the rename
            os.replace(tmp, self.directory / f"{name}.eml")
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
