"""The background loop that delivers due mails from the outbox, and its wiring from settings."""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

from flask import Flask

from hub.config import Settings
from hub.notify.outbox import MailPolicy, deliver_due
from hub.notify.sealing import Sealer
from hub.notify.transport import FolderTransport, SmtpTransport, Transport

log = logging.getLogger(__name__)


def mail_policy(settings: Settings) -> MailPolicy:
    """The mail schedule and link sealing these settings describe."""
    return MailPolicy(
        sealer=Sealer(settings.effective_secret_key()),
        public_url=settings.public_url,
        sender=settings.mail_from,
        reminder_leads=tuple(timedelta(minutes=m) for m in settings.reminder_leads_minutes),
        join_before_minutes=settings.join_before_minutes,
    )


def transport(settings: Settings) -> Transport:
    """SMTP when a host is configured, else the outbox folder."""
    if settings.smtp_host:
        return SmtpTransport(
            settings.smtp_host,
            settings.smtp_port,
            settings.smtp_security,
            settings.smtp_user,
            settings.smtp_password,
            ca_file=settings.smtp_ca_file,
        )
    return FolderTransport(settings.effective_outbox_dir)


def deliver_once(app: Flask) -> None:
    """One round of delivery for `app`'s outbox."""
    from hub.operations.booking import release_expired_holds

    ext = app.extensions
    now = ext["clock"]()
    released = release_expired_holds(ext["store"], now)
    if released:
        log.info("released %d unconfirmed holds", released)
    report = deliver_due(ext["store"], ext["mails"], ext["mail_transport"], now)
    if report.sent or report.retrying or report.failed:
        log.info(
            "mail: %d sent, %d to retry, %d failed",
            len(report.sent),
            len(report.retrying),
            len(report.failed),
        )


CLEANUP_EVERY = 3600.0  # seconds between retention runs


def forget_once(app: Flask) -> None:
    """Blank personal data of appointments past the retention period."""
    from hub.operations.retention import forget_past

    ext = app.extensions
    transport = ext["mail_transport"]
    forgotten = forget_past(
        ext["store"],
        ext["clock"](),
        timedelta(days=ext["settings"].retention_days),
        transport.forget if isinstance(transport, FolderTransport) else None,
    )
    if forgotten:
        log.info("retention: forgot the personal data of %d past appointments", forgotten)


class MailWorker:
    """Delivers due mails every few seconds in a greenlet; stop() lets the current round end,
    so a mail that went out is also recorded as sent before the process exits."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._stopping = threading.Event()  # cooperative under gevent's monkey patching
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Begin delivering in the background."""
        self._thread = threading.Thread(target=self._run, name="mail-worker", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        pause = self.app.extensions["settings"].mail_poll_seconds
        last_cleanup = 0.0
        while not self._stopping.is_set():
            try:
                deliver_once(self.app)
                if time.monotonic() - last_cleanup >= CLEANUP_EVERY:
                    forget_once(self.app)
                    last_cleanup = time.monotonic()
            except Exception:  # the loop must survive a database outage
                log.exception("mail delivery round failed")
            self._stopping.wait(pause)

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the current round, then end."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
