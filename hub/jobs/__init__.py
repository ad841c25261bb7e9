"""The hub's periodic jobs, all in one list: what runs, how often, and where each round's logic
lives. Every hub process runs its own; the database keeps them from doing the same work twice.

Serving (`buergeramt hub`) starts the MAIL group with the server and stops it on shutdown; the
first Socket.IO connection a process accepts starts the REALTIME group (hub.realtime.registry).
Apps built in tests start nothing: they call `runner(app).run_once(name)`.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from hub.jobs.runner import Job, Runner, Spawn

if TYPE_CHECKING:
    from flask import Flask

log = logging.getLogger("hub.jobs")


def deliver_mail(app: Flask) -> None:
    """Hand due mails to SMTP or the outbox folder (hub.notify.outbox)."""
    from hub.notify.outbox import deliver_due

    ext = app.extensions
    report = deliver_due(ext["store"], ext["mails"], ext["mail_transport"], ext["clock"]())
    if report.sent or report.retrying or report.failed:
        log.info(
            "mail: %d sent, %d to retry, %d failed",
            len(report.sent),
            len(report.retrying),
            len(report.failed),
        )


def release_holds(app: Flask) -> None:
    """Mark holds nobody confirmed in time released (hub.operations.booking)."""
    from hub.operations.booking import release_expired_holds

    released = release_expired_holds(app.extensions["store"], app.extensions["clock"]())
    if released:
        log.info("released %d unconfirmed holds", released)


def forget_past(app: Flask) -> None:
    """Blank personal data of appointments past the retention period (hub.operations.retention)."""
    from hub.notify.transport import FolderTransport
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


def forget_documents(app: Flask) -> None:
    """Delete documents past their retention period, expired uploads and what a crash left
    (hub.operations.documents)."""
    from hub.operations.documents import forget_documents

    ext = app.extensions
    days = ext["settings"].documents_retention_days
    deleted = forget_documents(ext["store"], ext["clock"](), days)
    if deleted:
        log.info("documents: deleted %d documents past their retention period", deleted)


def follow_payments(app: Flask, live_only: bool = False) -> None:
    """Create, settle or expire open payment requests (hub.operations.payments), then file and
    mail the receipts of those paid (hub.operations.receipts), and tell the parties of the
    calls; nothing without a payment platform configured. `live_only`: the requests shown in
    a call only (see `payments_live`)."""
    from hub.context import provider_of
    from hub.operations.payments import follow
    from hub.operations.receipts import file_receipts

    ext = app.extensions
    provider = provider_of(ext)
    if provider is None:
        return
    now = ext["clock"]()
    report = follow(ext["store"], provider, now, live_only=live_only)
    realtime = ext["realtime"]
    realtime.payments_changed(report.changed)  # both parties of the call see it at once
    # Appointments whose receipt was just filed: their parties see a new document.
    receipted = file_receipts(ext["store"], ext["settings"], now)
    if receipted:
        log.info("payments: %d receipts filed", len(receipted))
        realtime.payments_changed((), receipted)
    if report.created or report.settled or report.expired or report.flagged:
        log.info(
            "payments: %d created, %d final, %d expired, %d paid after cancel or expiry",
            len(report.created),
            len(report.settled),
            len(report.expired),
            len(report.flagged),
        )


def follow_live_payments(app: Flask) -> None:
    """`follow_payments` for the requests shown in a call only."""
    follow_payments(app, live_only=True)


def drop_revoked(app: Flask) -> None:
    """Close this process's connections of revoked appliances (hub.realtime.registry)."""
    app.extensions["realtime"].drop_revoked()


def send_actions(app: Flask) -> None:
    """Deliver remote actions to the appliances connected here (hub.realtime.registry)."""
    app.extensions["realtime"].send_actions()


def keep_presence(app: Flask) -> None:
    """Record who is connected here, settle calls whose party vanished (hub.realtime.registry)."""
    app.extensions["realtime"].keep_presence()


def publish_lobby(app: Flask) -> None:
    """Send the lobby's changes to appliances and waiting citizens (hub.realtime.notices)."""
    app.extensions["realtime"].publish_lobby()


def watch_fleet(app: Flask) -> None:
    """Set the fleet's gauges and log appliances that go offline while their counter is open
    (hub.operations.fleet)."""
    from hub.metrics import refresh_fleet
    from hub.operations.fleet import OfflineWatch

    watch = app.extensions.setdefault("fleet_watch", OfflineWatch())
    entries = refresh_fleet(app)
    if entries:
        watch.see(entries, app.extensions["clock"]())


JOBS = (
    Job("mail", deliver_mail, every="mail_poll_seconds"),
    Job("holds", release_holds, every="mail_poll_seconds"),
    Job("retention", forget_past, every=3600.0),
    Job("documents", forget_documents, every=3600.0),
    Job("payments", follow_payments, every=30.0),
    # A citizen in the call who paid and closed the platform's window before it sent them
    # back: found within this many seconds (one status read per open request and round).
    Job("payments_live", follow_live_payments, every="payment_poll_seconds"),
    Job("fleet", watch_fleet, every="presence_seconds", first_after=5.0),
    # Half a second: a revoked appliance is dropped within a second of `devices revoke` (run in
    # another process, so it cannot wake this one), a round and the drop included.
    Job("revocations", drop_revoked, every=0.5, first_after=1.0),
    Job("actions", send_actions, every=1.0, first_after=1.0),
    Job("presence", keep_presence, every="presence_seconds", first_after=1.0),
    # Coalesces bursts (a hundred citizens arriving at nine) into at most four broadcasts a
    # second, and never spends more than about a third of the process on them.
    Job("lobby", publish_lobby, every=0.25, on_demand=True, max_share=1 / 3),
)
MAIL = ("mail", "holds", "retention", "documents", "payments", "payments_live", "fleet")
REALTIME = ("revocations", "actions", "presence", "lobby")


def init_app(app: Flask, spawn: Spawn) -> None:
    """Give `app` its job runner; `spawn` starts a background task (Socket.IO's, for gevent)."""
    app.extensions["jobs"] = Runner(app, JOBS, spawn)


def runner(app: Flask) -> Runner:
    """The job runner of `app`."""
    runner: Runner = app.extensions["jobs"]
    return runner
