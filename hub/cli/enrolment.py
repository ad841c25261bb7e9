"""`buergeramt enrol tokens …` and `buergeramt devices pending|approve`: appliances that enrol
over the network with a token IT wrote onto their card (docs/enrolment.md)."""

from __future__ import annotations

import getpass
from datetime import UTC, datetime

import click

from hub.cli.common import current_settings, open_store


def _who() -> str:
    """Who is at the command line, for `created_by` and `approved_by`."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@click.group()
def enrol() -> None:
    """Enrolment of appliances over the network."""


@enrol.group("tokens")
def tokens() -> None:
    """Enrolment tokens: one for a batch of cards, or one-time."""


@tokens.command("create")
@click.option("--batch", required=True, help="A name for the cards this token goes onto.")
@click.option("--expires", default="7d", show_default=True, help="30m, 12h, 7d or 2w.")
@click.option("--uses", type=int, default=None, help="How many appliances may enrol with it.")
@click.option("--one-time", is_flag=True, help="One appliance only (same as --uses 1).")
@click.option(
    "--approve-to",
    "counter_id",
    type=int,
    default=None,
    help="Counter id: appliances enrolling with this token are approved for it at once.",
)
def tokens_create(
    batch: str, expires: str, uses: int | None, one_time: bool, counter_id: int | None
) -> None:
    """Create an enrolment token and print it (shown only this once)."""
    from hub.fleet.enrolment import parse_duration
    from hub.operations.accounts import AccountError
    from hub.operations.enrolment import create_token

    if one_time and uses is not None:
        raise click.UsageError("give --uses or --one-time, not both")
    try:
        lifetime = parse_duration(expires)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--expires") from None
    now = datetime.now(UTC)
    try:
        token, secret = create_token(
            open_store(current_settings()),
            batch,
            now + lifetime,
            1 if one_time else uses,
            counter_id,
            _who(),
            now,
        )
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    uses_text = "any number of" if token.uses_left is None else str(token.uses_left)
    click.echo(
        f"token {token.id} for batch {token.batch!r}: {uses_text} appliance(s) until "
        f"{token.expires_at:%Y-%m-%d %H:%M} UTC"
        + (f", approved for counter {counter_id} at once" if counter_id is not None else "")
    )
    click.echo("token (write it onto the cards; it is not shown again):")
    click.echo(secret)


@tokens.command("list")
def tokens_list() -> None:
    """Every enrolment token: batch, expiry, uses left, pre-authorised counter, state."""
    from hub.operations.enrolment import list_tokens

    now = datetime.now(UTC)
    for t in list_tokens(open_store(current_settings())):
        state = "revoked" if t.revoked else ("expired" if t.expires_at <= now else "valid")
        uses = "∞" if t.uses_left is None else str(t.uses_left)
        counter = f"counter {t.counter_id}" if t.counter_id is not None else "approval by IT"
        click.echo(
            f"{t.id:4}  {t.batch:24} {t.expires_at:%Y-%m-%d %H:%M}  uses left {uses:4} "
            f"{counter:16} {state}"
        )


@tokens.command("revoke")
@click.argument("token_id", type=int)
def tokens_revoke(token_id: int) -> None:
    """No appliance enrols with this token any more (those enrolled with it stay)."""
    from hub.operations.accounts import AccountError
    from hub.operations.enrolment import revoke_token

    try:
        revoke_token(open_store(current_settings()), token_id, datetime.now(UTC))
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"enrolment token {token_id} revoked")


@click.command("pending")
def devices_pending() -> None:
    """Appliances waiting for approval: claim code, fingerprint, hostname, since when."""
    from hub.operations.enrolment import pending

    keys = pending(open_store(current_settings()))
    if not keys:
        click.echo("no appliance is waiting for approval")
    for k in keys:
        click.echo(
            f"{k.claim_code}  {k.fingerprint}  {k.hostname:24} {k.version:12} "
            f"since {k.enrolled_at:%Y-%m-%d %H:%M} UTC"
        )


@click.command("approve")
@click.argument("claim_code")
@click.option("--counter", "counter_id", required=True, type=int, help="Counter id.")
@click.option("--name", default="", help="A name to recognise the device by.")
def devices_approve(claim_code: str, counter_id: int, name: str) -> None:
    """Approve the pending appliance whose screen shows CLAIM_CODE, for a counter."""
    from hub.operations.accounts import AccountError
    from hub.operations.enrolment import approve

    try:
        key, device_id = approve(
            open_store(current_settings()), claim_code, counter_id, name, _who(), datetime.now(UTC)
        )
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"device {device_id} ({key.hostname}, {key.fingerprint}) approved")


def revoke(target: str) -> str:
    """Revoke a device by id, or reject a pending appliance by its claim code; what was done."""
    from hub.operations.accounts import revoke_device
    from hub.operations.enrolment import reject

    store, now = open_store(current_settings()), datetime.now(UTC)
    if target.strip().isdigit():
        revoke_device(store, int(target), now)
        return f"device {int(target)} revoked"
    key = reject(store, target, now)
    return f"pending appliance {key.claim_code} ({key.hostname}) rejected"
