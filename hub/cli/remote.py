"""`buergeramt devices action|settings|actions`: remote actions on one appliance (restart,
reboot, identify, settings) and how they went (docs/operations.md, "Remote actions")."""

from __future__ import annotations

import getpass
import json

import click

from hub.booking.timezone import to_local_iso


def _ask(device_id: int, kind: str, force: bool, pairs: tuple[str, ...] = ()) -> None:
    """Store the action and say what happens next (one clear line when refused)."""
    from hub.cli.common import current_settings, open_store
    from hub.clock import configured_clock
    from hub.operations.remote import RemoteRefused, parse_settings, request_action

    settings = current_settings()
    try:
        pushed = parse_settings(pairs) if kind == "settings" else None
        action = request_action(
            open_store(settings),
            device_id,
            kind,
            requested_by=f"cli:{getpass.getuser()}",
            now=configured_clock(settings.clock_start)(),
            force=force,
            settings=pushed,
        )
    except RemoteRefused as exc:
        raise click.ClickException(str(exc)) from None
    when = "even during a call" if force else "once no call is under way"
    click.echo(f"action {action.id}: {kind} for device {device_id} requested ({when})")


@click.command("action")
@click.argument("device_id", type=int)
@click.argument("kind", type=click.Choice(["restart", "reboot", "identify"]))
@click.option("--force", is_flag=True, help="Run it even during a call (the call breaks).")
def devices_action(device_id: int, kind: str, force: bool) -> None:
    """Ask one appliance to restart its daemon, reboot, or identify itself (its screen flashes
    and chimes for 10 s). Restart and reboot wait until its call ends unless --force."""
    _ask(device_id, kind, force)


@click.command("settings")
@click.argument("device_id", type=int)
@click.argument("pairs", nargs=-1, required=True)
@click.option("--force", is_flag=True, help="Apply even during a call (a restart breaks it).")
def devices_settings(device_id: int, pairs: tuple[str, ...], force: bool) -> None:
    """Push settings to one appliance: key=value for width, height, speaker_device, scanner,
    scanner_device, counter_label. They override its environment; those read at start-up
    restart the daemon (after its call, unless --force)."""
    _ask(device_id, "settings", force, pairs)


@click.command("actions")
@click.argument("device_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="As a JSON list, newest first.")
def devices_actions(device_id: int, as_json: bool) -> None:
    """The device's latest remote actions and their state (requested, sent, waiting, done,
    failed), newest first."""
    from hub.cli.common import current_settings, open_store
    from hub.operations.remote import actions_of

    listed = actions_of(open_store(current_settings()), device_id)
    if as_json:
        click.echo(json.dumps([a.as_json() for a in listed], ensure_ascii=False, indent=2))
        return
    for a in listed:
        args = " ".join(f"{k}={v}" for k, v in a.arguments.items())
        when = to_local_iso(a.requested_at)[:16].replace("T", " ")
        forced = " --force" if a.force else ""
        line = f"{a.id:>5}  {when}  {a.kind}{forced} {args}".rstrip()
        click.echo(f"{line}  [{a.state}] {a.result}  ({a.requested_by})".rstrip())
