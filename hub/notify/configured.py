"""The mail policy and the transport that the settings describe (built once per app)."""

from __future__ import annotations

from datetime import timedelta

from hub.config import Settings
from hub.notify.outbox import MailPolicy
from hub.notify.sealing import Sealer
from hub.notify.transport import FolderTransport, SmtpTransport, Transport
from hub.payments.receipt import Issuer


def mail_policy(settings: Settings) -> MailPolicy:
    """The mail schedule and link sealing these settings describe."""
    return MailPolicy(
        sealer=Sealer(settings.effective_secret_key()),
        public_url=settings.public_url,
        sender=settings.mail_from,
        reminder_leads=tuple(timedelta(minutes=m) for m in settings.reminder_leads_minutes),
        join_before_minutes=settings.join_before_minutes,
        secret_key=settings.effective_secret_key(),
        issuer=Issuer.of(settings.office_name, settings.office_address),
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
