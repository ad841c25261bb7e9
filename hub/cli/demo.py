"""`buergeramt demo`: the hub on SQLite with a demo counter and its simulated appliance."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from contextlib import suppress
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click

from hub.cli.common import open_store
from hub.cli.serve import listen, serve_with_mail
from hub.config import Settings, load_settings

if TYPE_CHECKING:
    from hub.store import Store

DEMO_KIOSK_HINT = (
    "choose another for the counter screen with --kiosk-port (make demo KIOSK_PORT=…) "
    "or BUERGERAMT_APPLIANCE_KIOSK_PORT"
)
DEMO_CLERK, DEMO_PASSWORD = "demo", "demo-schalter"
DEMO_ADMIN, DEMO_ADMIN_PASSWORD = "admin", "demo-verwaltung"


@click.command()
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
    from hub.operations.catalogue import seed
    from hub.server import PortUnavailable, listener
    from hub.store.migrate import upgrade

    # Both ports first: before the banner, the database or the appliance, so a port in use
    # stops the demo with one line and nothing started.
    sock = listen(host, port, "choose another with --port (make demo PORT=…)")
    try:
        listener("127.0.0.1", kiosk_port).close()  # the appliance binds it a moment later
    except PortUnavailable as exc:
        sock.close()
        raise click.ClickException(f"{exc}: {DEMO_KIOSK_HINT}") from None

    # The demo: links point here, the outbox is readable in the browser, mails go out quickly,
    # and an appointment can start within minutes (unless the environment says otherwise).
    demo_defaults: dict[str, object] = {
        "outbox_page": True,
        "mail_poll_seconds": 2,
        "booking_lead_minutes": 5,
        "join_before_minutes": 60,  # the join link works at once for the next hour's slots
    }
    # Fees are paid on the payment sandbox, its own process like a city's platform, unless the
    # environment names a platform.
    sandbox_port = None if "BUERGERAMT_PAYMENT_URL" in os.environ else _free_port()
    if sandbox_port is not None:
        demo_defaults["payment_url"] = f"http://127.0.0.1:{sandbox_port}"
    overrides = {
        k: v for k, v in demo_defaults.items() if f"BUERGERAMT_{k.upper()}" not in os.environ
    }
    settings = load_settings(public_url=f"http://{host}:{port}", **overrides)
    upgrade(settings.effective_database_url)
    store = open_store(settings)
    seed(store, demo=True)
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
    click.echo(f"  The clerk's counter screen (kiosk): http://127.0.0.1:{kiosk_port}/")
    click.echo(f"  Admin area:           {base}/admin   ({DEMO_ADMIN} / {DEMO_ADMIN_PASSWORD};")
    click.echo("    the first sign-in sets up an authenticator app from a QR code)")
    if settings.payment_url:
        click.echo(f"  Fees are paid on:     {settings.payment_url}/ (payment sandbox)")
    click.echo("")
    sandbox = _start_payment_sandbox(sandbox_port) if sandbox_port is not None else None
    appliance = _start_demo_appliance(base, credential, kiosk_port)
    # A demo whose appliance is gone (its port taken after all, a crash) would serve a hub no
    # counter answers and a banner pointing at a dead screen: stop the hub with it.
    appliance_gone = gevent.event.Event()

    def watch_appliance() -> None:
        appliance.wait()
        appliance_gone.set()

    gevent.spawn(watch_appliance)
    try:
        serve_with_mail(create_app(settings, store=store), sock, stop=appliance_gone)
    finally:
        for child in (appliance, sandbox):
            if child is not None and child.poll() is None:
                child.terminate()
                child.wait(10)
    if appliance.returncode not in (0, -signal.SIGTERM, -signal.SIGINT):
        raise click.ClickException(
            f"the demo's counter appliance stopped (exit status {appliance.returncode}),"
            " see above; the hub stopped too"
        )


def _demo_appliance(store: Store, settings: Settings) -> str:
    """The demo counter's appliance credential and clerk account, made once and kept."""
    from hub.operations.accounts import AccountError, add_device, add_user, authenticate_device
    from hub.operations.counters import find_counter
    from hub.store.seed import DEMO_COUNTER

    with suppress(AccountError):  # the admin area's account, from an earlier demo or new
        add_user(store, DEMO_ADMIN, DEMO_ADMIN_PASSWORD, "admin", datetime.now(UTC), "Demo-Admin")
    key_file = settings.data_dir / "demo-appliance.credential"
    if key_file.exists() and authenticate_device(store, key_file.read_text().strip()):
        return key_file.read_text().strip()
    counter = find_counter(store, DEMO_COUNTER)
    now = datetime.now(UTC)
    _, credential = add_device(store, counter, "Demo appliance", now)
    key_file.write_text(credential)
    with suppress(AccountError):  # exists from an earlier demo
        add_user(store, DEMO_CLERK, DEMO_PASSWORD, "clerk", now, "Demo-Sachbearbeitung")
    return credential


def _start_demo_appliance(hub_url: str, credential: str, kiosk_port: int) -> subprocess.Popen:
    """`buergeramt appliance` (the command appliance/ registers) with the synthetic camera and
    scanner, admitting whoever waits. A child process: the hub never imports the appliance."""
    env = {
        **os.environ,
        "BUERGERAMT_APPLIANCE_HUB_URL": hub_url,
        "BUERGERAMT_APPLIANCE_KIOSK_PORT": str(kiosk_port),
        "BUERGERAMT_APPLIANCE_DEVICE_CREDENTIAL": credential,
        "BUERGERAMT_APPLIANCE_CLERK_USERNAME": DEMO_CLERK,
        "BUERGERAMT_APPLIANCE_CLERK_PASSWORD": DEMO_PASSWORD,
        "BUERGERAMT_APPLIANCE_AUTO_ADMIT": "true",
        # A rendered certificate photographed at an angle: the demo's clerk can scan.
        "BUERGERAMT_APPLIANCE_SCANNER": "synthetic",
    }
    command = [sys.executable, "-c", "from hub.cli import main; main()", "appliance"]
    return subprocess.Popen(command, env=env)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _start_payment_sandbox(port: int) -> subprocess.Popen[bytes]:
    """The payment sandbox (payment_sandbox/) on loopback, so the demo's clerk can ask for fees
    and the citizen pay them; a child process, as the city's platform is another server."""
    command = [sys.executable, "-m", "payment_sandbox", "--port", str(port)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL)
