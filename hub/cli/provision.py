"""`buergeramt provision card`: the files IT copies onto a counter appliance's SD card.

Secrets (the enrolment token, the Wi-Fi password) are read from a file or asked for without
echo, and never printed; the command names only the files it wrote.
"""

from __future__ import annotations

from pathlib import Path

import click

from provisioning.card import Card, CardError, StaticAddress, Wifi, check
from provisioning.card_folder import write_card_folder

# Stands in for the token while the other options are checked (it passes the token's check).
CHECKED_LATER = "checked-later"


@click.group()
def provision() -> None:
    """Provision counter appliances."""


def _read(path: str, what: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"cannot read the {what} {path}: {exc}") from None


def _secret(path: str | None, prompt: str, what: str) -> str:
    """A secret from the first line of a file, or typed without echo."""
    if path is not None:
        lines = _read(path, what).splitlines()
        return lines[0].strip() if lines else ""
    value: str = click.prompt(prompt, hide_input=True, err=True)
    return value.strip()


@provision.command("card")
@click.option("--hub-url", required=True, help="The hub's public address (https://…).")
@click.option(
    "--token",
    help="The enrolment token; prefer --token-file or the prompt (a command line is kept in "
    "the shell's history and shown by ps).",
)
@click.option(
    "--token-file",
    metavar="FILE",
    help="A file whose first line is the enrolment token (`buergeramt enrol tokens create`); "
    "without it the token is asked for (not echoed).",
)
@click.option("--ca-file", metavar="PEM", help="The CA that signed the hub's certificate.")
@click.option("--pin", metavar="sha256:HEX", help="SHA-256 of the hub's self-signed certificate.")
@click.option("--wifi-ssid", help="Join this Wi-Fi network (Ethernet stays on, by DHCP).")
@click.option("--wifi-password-file", metavar="FILE", help="Its password (else asked for).")
@click.option("--wifi-country", default="DE", show_default=True)
@click.option("--static-address", metavar="ADDR/PREFIX", help="Fixed Ethernet address.")
@click.option("--gateway", help="The gateway for --static-address.")
@click.option("--dns", multiple=True, help="A name server for --static-address (repeatable).")
@click.option("--hostname-prefix", default="schalter", show_default=True)
@click.option("--insecure-http", is_flag=True, help="Allow an http:// hub (tests, labs only).")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Folder to write.")
@click.option("--force", is_flag=True, help="Replace a folder that is not empty.")
def card(
    hub_url: str,
    token: str | None,
    token_file: str | None,
    ca_file: str | None,
    pin: str | None,
    wifi_ssid: str | None,
    wifi_password_file: str | None,
    wifi_country: str,
    static_address: str | None,
    gateway: str | None,
    dns: tuple[str, ...],
    hostname_prefix: str,
    insecure_http: bool,
    out: Path,
    force: bool,
) -> None:
    """Write user-data, network-config, meta-data, firstrun.sh and README.txt into OUT: one set
    for a whole batch of counters (docs/operations.md, "Provisioning an appliance")."""
    if (static_address is None) != (gateway is None):
        raise click.UsageError("--static-address and --gateway go together")
    ca_pem = _read(ca_file, "CA file") if ca_file is not None else None
    try:
        draft = Card(
            hub_url=hub_url,
            token=CHECKED_LATER,
            ca_pem=ca_pem,
            pin=pin,
            static=StaticAddress(static_address, gateway, dns)
            if static_address and gateway
            else None,
            hostname_prefix=hostname_prefix,
            insecure_http=insecure_http,
        )
        check(draft)  # bad options are refused before anyone types a secret
        if token is None:
            token = _secret(token_file, "Enrolment token", "token file")
        wifi = None
        if wifi_ssid is not None:
            prompt = f"Wi-Fi password for {wifi_ssid}"
            password = _secret(wifi_password_file, prompt, "password file")
            wifi = Wifi(wifi_ssid, password, wifi_country)
        final = check(Card(**{**draft.__dict__, "token": token, "wifi": wifi}))
        written = write_card_folder(final, out, force=force)
    except CardError as exc:
        raise click.ClickException(str(exc)) from None
    for path in written:
        click.echo(path)
    click.echo(f"Copy them onto the card's boot partition as {out / 'README.txt'} says.", err=True)
