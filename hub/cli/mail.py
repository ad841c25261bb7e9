"""`buergeramt mail`: the outbox of e-mails to citizens."""

from __future__ import annotations

import click

from hub.cli.common import current_settings, open_store


@click.group()
def mail() -> None:
    """The outbox of e-mails to citizens."""


@mail.command("send-due")
def mail_send_due() -> None:
    """Deliver every mail that is due now (the hub does this on its own every few seconds)."""
    from hub import create_app
    from hub.notify.outbox import deliver_due

    app = create_app(current_settings())
    ext = app.extensions
    report = deliver_due(ext["store"], ext["mails"], ext["mail_transport"], ext["clock"]())
    click.echo(
        f"sent {len(report.sent)}, retrying {len(report.retrying)}, "
        f"failed {len(report.failed)}, withdrawn {len(report.withdrawn)}"
    )


@mail.command("list")
@click.option("--all", "everything", is_flag=True, help="Include sent and withdrawn mails.")
def mail_list(everything: bool) -> None:
    """Mails waiting or failed, with their last error."""
    from hub.notify.outbox import mail_overview

    statuses = ("pending", "failed", "sent", "cancelled") if everything else ("pending", "failed")
    for row in mail_overview(open_store(current_settings()), statuses):
        click.echo(
            f"{row.id:6} {row.status:9} {row.kind:12} due {row.due_at:%Y-%m-%d %H:%M} UTC"
            f"  attempts {row.attempts}  {row.last_error}"
        )
