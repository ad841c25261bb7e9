"""Delivering composed mails: by SMTP, or into an outbox folder (demo, laptop, tests)."""

from __future__ import annotations

import os
import smtplib
import ssl
import tempfile
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol


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

    def send(self, message: EmailMessage) -> None:
        """Write the message atomically (temporary file, then rename)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        name = (message["Message-ID"] or "mail").strip("<>").replace("/", "_")
        fd, tmp = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
        with os.fdopen(fd, "wb") as file:
            file.write(message.as_bytes())
        os.replace(tmp, self.directory / f"{name}.eml")
