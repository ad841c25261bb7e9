"""The `buergeramt` command line: serve the hub, run the demo, manage the database and catalogue."""

from __future__ import annotations

import os
import signal
import sys
from contextlib import suppress
from datetime import datetime
from typing import TYPE_CHECKING

import click

from hub.config import ConfigError, Settings, load_settings

if TYPE_CHECKING:  # imported when serving only (gevent patches sockets first)
    import socket

    import gevent.event
    from flask import Flask

# Commands that serve requests need gevent's cooperative sockets before anything else is imported.
SERVING_COMMANDS = {"hub", "demo"}


def main() -> None:
    """Entry point of the `buergeramt` script."""
    if len(sys.argv) > 1 and sys.argv[1] in SERVING_COMMANDS:
        from gevent import monkey

        monkey.patch_all()
    try:
        cli(standalone_mode=True)
    except ConfigError as exc:
        click.echo(f"buergeramt: {exc}", err=True)
        sys.exit(2)


def _settings() -> Settings:
    return load_settings()


def _store(settings: Settings):  # noqa: ANN202 - Store is imported lazily
    from hub.store import Store

    return Store(settings.effective_database_url)


@click.group()
def cli() -> None:
    """Bürgeramt Virtuell: virtual citizens' office."""


def _serve_with_mail(
    app: Flask, sock: socket.socket, stop: gevent.event.Event | None = None
) -> None:
    """Serve `app` on the listener `sock` with its mail worker; on shutdown the worker finishes
    its round first. `stop`: a gevent Event that ends serving when set."""
    from hub.notify.worker import MailWorker
    from hub.server import serve

    host, port = sock.getsockname()[:2]
    worker = MailWorker(app)
    worker.start()
    try:
        serve(app, host, port, sock=sock, stop=stop)
    finally:
        worker.stop()


def _listen(host: str, port: int, hint: str, reuse_port: bool = False) -> socket.socket:
    """The hub's listening socket, bound before anything else happens; a port in use is one line
    naming what to change (`hint`), not a traceback after the banner."""
    from hub.server import PortUnavailable, listener

    try:
        return listener(host, port, reuse_port)
    except PortUnavailable as exc:
        raise click.ClickException(f"{exc}: {hint}") from None


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--reuse-port",
    is_flag=True,
    help="Share the port with other hub processes on this machine (SO_REUSEPORT).",
)
def hub(host: str, port: int, reuse_port: bool) -> None:
    """Serve the hub (gevent) until interrupted."""
    from sqlalchemy.exc import OperationalError

    from hub import create_app
    from hub.store.migrate import is_current

    settings = _settings()
    try:
        current = is_current(settings.effective_database_url)
    except OperationalError as exc:
        # Start anyway: /readyz reports the database until it comes back.
        click.echo(f"warning: database unreachable ({exc.orig}); /readyz will say so", err=True)
        current = True
    if not current:
        raise click.ClickException(
            "the database schema is not current: run 'buergeramt db upgrade'"
        )
    sock = _listen(host, port, "choose another with --port", reuse_port)
    _serve_with_mail(create_app(settings), sock)


DEMO_KIOSK_HINT = (
    "choose another for the counter screen with --kiosk-port (make demo KIOSK_PORT=…) "
    "or BUERGERAMT_APPLIANCE_KIOSK_PORT"
)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--kiosk-port",
    default=8470,
    show_default=True,
    type=click.IntRange(1, 65535),
    envvar="BUERGERAMT_APPLIANCE_KIOSK_PORT",
    help="The clerk's counter screen on 127.0.0.1.",
)
def demo(host: str, port: int, kiosk_port: int) -> None:
    """Set up the embedded SQLite database with default data and a demo counter, then serve."""
    import gevent.event

    from hub import create_app
    from hub.server import PortUnavailable, listener
    from hub.store.migrate import upgrade
    from hub.store.seed import add_demo_counter, seed_defaults

    # Both ports first: before the banner, the database or the appliance, so a port in use
    # stops the demo with one line and nothing started.
    sock = _listen(host, port, "choose another with --port (make demo PORT=…)")
    try:
        listener("127.0.0.1", kiosk_port).close()  # the appliance binds it a moment later
    except PortUnavailable as exc:
        sock.close()
        raise click.ClickException(f"{exc}: {DEMO_KIOSK_HINT}") from None

    # The demo: links point here, the outbox is readable in the browser, mails go out quickly,
    # and an appointment can start within minutes (unless the environment says otherwise).
    demo_defaults = {
        "outbox_page": True,
        "mail_poll_seconds": 2,
        "booking_lead_minutes": 5,
        "join_before_minutes": 60,  # the join link works at once for the next hour's slots
    }
    overrides = {
        k: v for k, v in demo_defaults.items() if f"BUERGERAMT_{k.upper()}" not in os.environ
    }
    settings = load_settings(public_url=f"http://{host}:{port}", **overrides)
    upgrade(settings.effective_database_url)
    store = _store(settings)
    with store.transaction() as session:
        seed_defaults(session)
        add_demo_counter(session)
    credential = _demo_appliance(store, settings)
    base = settings.public_url
    click.echo("\nBürgeramt Virtuell – demo\n")
    click.echo(f"  Book an appointment:  {base}/")
    click.echo(f"  Mails it sends:       {base}/outbox")
    click.echo(f"  JSON API:             {base}/api/v1/services   ({base}/api/v1/openapi.json)")
    click.echo(f"  Health and metrics:   {base}/healthz  {base}/readyz  {base}/metrics")
    click.echo(f"  Database:             {settings.effective_database_url}")
    click.echo("\n  A demo counter is open around the clock: book a time a few minutes ahead,")
    click.echo("  open the join link from the mail: a simulated counter appliance (test")
    click.echo(f"  pattern, tone) lets you in. Clerk account: {DEMO_CLERK} / {DEMO_PASSWORD}")
    click.echo(f"  The clerk's counter screen (kiosk): http://127.0.0.1:{kiosk_port}/\n")
    appliance = _start_demo_appliance(base, credential, kiosk_port)
    # A demo whose appliance is gone (its port taken after all, a crash) would serve a hub no
    # counter answers and a banner pointing at a dead screen: stop the hub with it.
    appliance_gone = gevent.event.Event()

    def watch_appliance() -> None:
        appliance.wait()
        appliance_gone.set()

    gevent.spawn(watch_appliance)
    try:
        _serve_with_mail(create_app(settings, store=store), sock, stop=appliance_gone)
    finally:
        if appliance.poll() is None:
            appliance.terminate()
            appliance.wait(10)
    if appliance.returncode not in (0, -signal.SIGTERM, -signal.SIGINT):
        raise click.ClickException(
            f"the demo's counter appliance stopped (exit status {appliance.returncode}),"
            " see above; the hub stopped too"
        )


DEMO_CLERK, DEMO_PASSWORD = "demo", "demo-schalter"


def _demo_appliance(store, settings: Settings) -> str:  # noqa: ANN001
    """The demo counter's appliance credential and clerk account, made once and kept."""
    from datetime import UTC

    from sqlalchemy import select

    from hub.operations.accounts import AccountError, add_device, add_user, authenticate_device
    from hub.store.models import CounterRow
    from hub.store.seed import DEMO_COUNTER

    key_file = settings.data_dir / "demo-appliance.credential"
    if key_file.exists() and authenticate_device(store, key_file.read_text().strip()):
        return key_file.read_text().strip()
    with store.transaction() as session:
        counter = session.scalar(select(CounterRow.id).where(CounterRow.name == DEMO_COUNTER))
    now = datetime.now(UTC)
    _, credential = add_device(store, counter, "Demo appliance", now)
    key_file.write_text(credential)
    with suppress(AccountError):  # exists from an earlier demo
        add_user(store, DEMO_CLERK, DEMO_PASSWORD, "clerk", now, "Demo-Sachbearbeitung")
    return credential


def _start_demo_appliance(hub_url: str, credential: str, kiosk_port: int):  # noqa: ANN202
    """`buergeramt appliance` with the synthetic camera, admitting whoever waits."""
    import subprocess

    env = {
        **os.environ,
        "BUERGERAMT_APPLIANCE_HUB_URL": hub_url,
        "BUERGERAMT_APPLIANCE_KIOSK_PORT": str(kiosk_port),
        "BUERGERAMT_APPLIANCE_DEVICE_CREDENTIAL": credential,
        "BUERGERAMT_APPLIANCE_CLERK_USERNAME": DEMO_CLERK,
        "BUERGERAMT_APPLIANCE_CLERK_PASSWORD": DEMO_PASSWORD,
        "BUERGERAMT_APPLIANCE_AUTO_ADMIT": "true",
    }
    command = [sys.executable, "-c", "from hub.cli import main; main()", "appliance"]
    return subprocess.Popen(command, env=env)


@cli.command()
def appliance() -> None:
    """Run a counter appliance (settings: BUERGERAMT_APPLIANCE_* environment variables)."""
    from pydantic import ValidationError

    from appliance.config import ApplianceSettings
    from appliance.daemon import main as run_appliance
    from appliance.errors import DeviceMissing, KioskPortUnavailable

    try:
        settings = ApplianceSettings()
    except ValidationError as exc:
        problems = "; ".join(
            f"BUERGERAMT_APPLIANCE_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}"
            for e in exc.errors()
        )
        raise click.ClickException(f"invalid appliance configuration: {problems}") from None
    if not settings.device_credential:
        raise click.ClickException(
            "BUERGERAMT_APPLIANCE_DEVICE_CREDENTIAL is not set (buergeramt devices add prints one)"
        )
    try:
        run_appliance(settings)
    except DeviceMissing as exc:
        raise click.ClickException(str(exc)) from None
    except KioskPortUnavailable as exc:
        raise click.ClickException(
            f"{exc}: choose another with BUERGERAMT_APPLIANCE_KIOSK_PORT"
        ) from None


@cli.group()
def db() -> None:
    """Database schema and default data."""


@db.command("upgrade")
@click.option(
    "--seed/--no-seed",
    default=True,
    show_default=True,
    help="Fill an empty database with the default services, hours and counters.",
)
def db_upgrade(seed: bool) -> None:
    """Apply all migrations (and seed an empty database)."""
    from hub.store.migrate import upgrade
    from hub.store.seed import seed_defaults

    settings = _settings()
    upgrade(settings.effective_database_url)
    if seed:
        with _store(settings).transaction() as session:
            seeded = seed_defaults(session)
        click.echo("seeded default data" if seeded else "data present, not seeded")
    click.echo("schema is current")


@cli.group()
def services() -> None:
    """The services citizens can book."""


@services.command("list")
def services_list() -> None:
    """Show every service with duration and fee."""
    from sqlalchemy import select

    from hub.store.models import ServiceRow

    with _store(_settings()).transaction() as session:
        for row in session.scalars(select(ServiceRow).order_by(ServiceRow.position)):
            state = "" if row.active else "  (inactive)"
            click.echo(
                f"{row.id:32} {row.duration_minutes:4} min {row.fee_cents / 100:8.2f} EUR"
                f"  {row.name_de}{state}"
            )


@services.command("set")
@click.argument("service_id")
@click.option("--fee-cents", type=click.IntRange(0, 10_000_000))
@click.option("--duration", type=click.IntRange(5, 480), help="Minutes, a multiple of 5.")
@click.option("--active/--inactive", default=None)
def services_set(
    service_id: str, fee_cents: int | None, duration: int | None, active: bool | None
) -> None:
    """Change a service's fee, duration or availability."""
    from hub.booking.rules import validate_duration
    from hub.store.models import ServiceRow

    if duration is not None:
        try:
            validate_duration(duration)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--duration") from None
    with _store(_settings()).transaction() as session:
        row = session.get(ServiceRow, service_id)
        if row is None:
            raise click.ClickException(f"no service with id {service_id!r}")
        if fee_cents is not None:
            row.fee_cents = fee_cents
        if duration is not None:
            row.duration_minutes = duration
        if active is not None:
            row.active = active
    click.echo(f"updated {service_id}")


@cli.group()
def counters() -> None:
    """Counters (one clerk each) and their schedules."""


@counters.command("add")
@click.argument("name")
@click.option("--schedule", "schedule_name", default="Standard", show_default=True)
def counters_add(name: str, schedule_name: str) -> None:
    """Add a counter keeping the named schedule (it takes bookings once an appliance is
    enrolled for it: buergeramt devices add)."""
    from sqlalchemy import select
    from sqlalchemy.exc import IntegrityError

    from hub.store.models import CounterRow, ScheduleRow

    try:
        with _store(_settings()).transaction() as session:
            schedule = session.scalar(select(ScheduleRow).where(ScheduleRow.name == schedule_name))
            if schedule is None:
                raise click.ClickException(f"no schedule named {schedule_name!r}")
            session.add(CounterRow(name=name, schedule_id=schedule.id))
    except IntegrityError:
        raise click.ClickException(f"a counter named {name!r} exists already") from None
    click.echo(f"added counter {name!r}")


@cli.group()
def closures() -> None:
    """Days on which the office is closed (besides public holidays)."""


@closures.command("add")
@click.option("--from", "first", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--to", "last", type=click.DateTime(["%Y-%m-%d"]), help="Defaults to --from.")
@click.option("--reason", default="", help="Shown to staff, e.g. 'Betriebsausflug'.")
@click.option("--schedule", "schedule_name", default="Standard", show_default=True)
def closures_add(first: datetime, last: datetime | None, reason: str, schedule_name: str) -> None:
    """Close the office on a day or a range of days. Booked appointments stay as they are."""
    from sqlalchemy import select

    from hub.store.models import ClosureRow, ScheduleRow

    first_day = first.date()
    last_day = last.date() if last else first_day
    if last_day < first_day:
        raise click.BadParameter("--to lies before --from", param_hint="--to")
    with _store(_settings()).transaction() as session:
        schedule = session.scalar(select(ScheduleRow).where(ScheduleRow.name == schedule_name))
        if schedule is None:
            raise click.ClickException(f"no schedule named {schedule_name!r}")
        session.add(
            ClosureRow(
                schedule_id=schedule.id, first_day=first_day, last_day=last_day, reason=reason
            )
        )
    click.echo(f"closed {first_day} to {last_day}")


@cli.group()
def mail() -> None:
    """The outbox of e-mails to citizens."""


@mail.command("send-due")
def mail_send_due() -> None:
    """Deliver every mail that is due now (the hub does this on its own every few seconds)."""
    from hub import create_app
    from hub.notify.outbox import deliver_due

    app = create_app(_settings())
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
    for row in mail_overview(_store(_settings()), statuses):
        click.echo(
            f"{row.id:6} {row.status:9} {row.kind:12} due {row.due_at:%Y-%m-%d %H:%M} UTC"
            f"  attempts {row.attempts}  {row.last_error}"
        )


# Registers the `devices` and `users` groups on `cli`, and the `counters` commands.
from hub import cli_accounts, cli_counters  # noqa: E402, F401
