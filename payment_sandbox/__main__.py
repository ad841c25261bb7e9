"""`buergeramt-payment-sandbox` / `python -m payment_sandbox`: serve the sandbox."""

from __future__ import annotations

import click
from werkzeug.serving import make_server

from payment_sandbox.app import create_app
from payment_sandbox.ledger import Ledger


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5080, show_default=True, type=click.IntRange(1, 65535))
@click.option("--user", envvar="PAYMENT_SANDBOX_USER", help="Ask the API for Basic credentials.")
@click.option("--password", envvar="PAYMENT_SANDBOX_PASSWORD", default="")
def main(host: str, port: int, user: str | None, password: str) -> None:
    """A stand-in XBezahldienste payment platform, in memory: for demos and tests only."""
    server = make_server(host, port, create_app(Ledger(), user, password), threaded=True)
    click.echo(f"payment sandbox on http://{host}:{port}/ (XBezahldienste, in memory)")
    server.serve_forever()


if __name__ == "__main__":
    main()
