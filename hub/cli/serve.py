"""`buergeramt hub`: serve the hub, and the pieces the demo serves with too."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from hub.cli.common import current_settings

if TYPE_CHECKING:  # imported when serving only (gevent patches sockets first)
    import socket

    import gevent.event
    from flask import Flask


def serve_with_mail(
    app: Flask, sock: socket.socket, stop: gevent.event.Event | None = None
) -> None:
    """Serve `app` on the listener `sock` with its mail, holds and retention jobs (hub.jobs);
    on shutdown each job finishes its round first. `stop`: a gevent Event that ends serving."""
    from hub.jobs import MAIL, runner
    from hub.server import serve

    host, port = sock.getsockname()[:2]
    jobs = runner(app)
    jobs.start(*MAIL)
    try:
        serve(app, host, port, sock=sock, stop=stop)
    finally:
        jobs.stop()


def listen(host: str, port: int, hint: str, reuse_port: bool = False) -> socket.socket:
    """The hub's listening socket, bound before anything else happens; a port in use is one line
    naming what to change (`hint`), not a traceback after the banner."""
    from hub.server import PortUnavailable, listener

    try:
        return listener(host, port, reuse_port)
    except PortUnavailable as exc:
        raise click.ClickException(f"{exc}: {hint}") from None


@click.command()
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

    settings = current_settings()
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
    sock = listen(host, port, "choose another with --port", reuse_port)
    serve_with_mail(create_app(settings), sock)
