"""`buergeramt devices action|settings|actions|logs|update|ring`: remote actions on appliances
(restart, reboot, identify, settings, their last log lines, updates) and how they went
(docs/operations.md, "Remote actions" and "Updates")."""

from __future__ import annotations

import getpass
import json
import time

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


@click.command("logs")
@click.argument("device_id", type=int)
@click.option("--lines", type=click.IntRange(1, 500), default=100, show_default=True)
@click.option(
    "--wait",
    type=click.FloatRange(0, 600),
    default=20.0,
    show_default=True,
    help="Seconds to wait for the lines (0: ask, and read them later with `devices actions`).",
)
def devices_logs(device_id: int, lines: int, wait: float) -> None:
    """Ask one appliance for the last lines its daemon logged (this run; earlier runs are in
    its journal) and print them. Exits 1 when they do not come within --wait."""
    from hub.cli.common import current_settings, open_store
    from hub.clock import configured_clock
    from hub.operations.remote import RemoteRefused, action_by_id, request_action

    settings = current_settings()
    store = open_store(settings)
    try:
        asked = request_action(
            store,
            device_id,
            "logs",
            requested_by=f"cli:{getpass.getuser()}",
            now=configured_clock(settings.clock_start)(),
            lines=lines,
        )
    except RemoteRefused as exc:
        raise click.ClickException(str(exc)) from None
    deadline = time.monotonic() + wait
    while True:
        action = action_by_id(store, asked.id)
        if action is not None and action.state in ("done", "failed"):
            break
        if time.monotonic() >= deadline:
            click.echo(
                f"action {asked.id}: no answer yet ({action.state if action else '?'}); "
                f"`buergeramt devices actions {device_id} --json` shows the lines once sent",
                err=True,
            )
            raise SystemExit(1)
        time.sleep(0.2)
    if action.state == "failed":
        raise click.ClickException(f"action {asked.id}: {action.result}")
    click.echo(action.output or "", nl=bool(action.output))


@click.command("update")
@click.argument("version")
@click.option("--device", "devices", type=int, multiple=True, help="A device's id (repeatable).")
@click.option("--ring", type=click.Choice(["canary", "general"]), help="Every device of a ring.")
@click.option("--now", is_flag=True, help="Do not wait until the counter closes.")
@click.option("--force", is_flag=True, help="Even during a call (the call breaks).")
@click.option(
    "--skip-canary", is_flag=True, help="Update the ring general before the canaries run it."
)
def devices_update(
    version: str,
    devices: tuple[int, ...],
    ring: str | None,
    now: bool,
    force: bool,
    skip_canary: bool,
) -> None:
    """Offer appliance VERSION (one the hub serves from its wheel folder) to devices or a ring.
    It installs once the counter is closed (--now: at once) and no call is under way (--force:
    even then), switches, and rolls back by itself if the new version does not connect and pass
    its self-check within 2 minutes. `devices list` shows the outcome."""
    from hub.cli.common import current_settings, open_store
    from hub.clock import configured_clock
    from hub.operations.remote import RemoteRefused, offer_update
    from hub.web.wheels import appliance_versions

    settings = current_settings()
    available = [str(v) for v in appliance_versions(settings.effective_wheel_dir)]
    try:
        offered = offer_update(
            open_store(settings),
            version,
            available,
            requested_by=f"cli:{getpass.getuser()}",
            now=configured_clock(settings.clock_start)(),
            devices=devices,
            ring=ring,
            when="now" if now else "closed",
            force=force,
            skip_canary=skip_canary,
        )
    except RemoteRefused as exc:
        raise click.ClickException(str(exc)) from None
    when = "now" if now else "once each counter is closed"
    ids = ", ".join(str(a.device_id) for a in offered)
    click.echo(f"update to {version} offered to device {ids} ({when})")


@click.command("ring")
@click.argument("device_id", type=int)
@click.argument("ring", type=click.Choice(["canary", "general"]))
def devices_ring(device_id: int, ring: str) -> None:
    """Put a device into the ring canary (updates reach it first) or general."""
    from hub.cli.common import current_settings, open_store
    from hub.operations.remote import RemoteRefused, set_ring

    try:
        set_ring(open_store(current_settings()), device_id, ring)
    except RemoteRefused as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"device {device_id} is in the ring {ring}")
