"""`buergeramt devices list`: the fleet as a table (or JSON) for IT."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING

import click

from hub.booking.timezone import to_local_iso

if TYPE_CHECKING:
    from hub.operations.enrolment import Key
    from hub.operations.fleet import FleetEntry

COLUMNS = (
    ("ID", 4),
    ("NAME", 20),
    ("COUNTER", 16),
    ("STATE", 30),
    ("VERSION", 9),
    ("UPDATE", 14),
    ("UPTIME", 8),
    ("TEMP", 7),
    ("LOAD", 5),
    ("DISK", 8),
    ("CAM MIC SPK SCN", 15),
    ("RTT", 8),
    ("BEAT", 6),
)


def duration(seconds: float | None) -> str:
    """3d 4h, 2h 5m, 4m 10s, 12s; – when unknown."""
    if seconds is None:
        return "–"
    s = int(seconds)
    for unit, size, sub, subsize in (("d", 86400, "h", 3600), ("h", 3600, "m", 60)):
        if s >= size:
            return f"{s // size}{unit} {s % size // subsize}{sub}"
    return f"{s // 60}m {s % 60}s" if s >= 60 else f"{s}s"


def mark(health: str) -> str:
    """✓ for a device that is present and delivers, ✗ for one that does not, – for none."""
    return {"ok": "✓", "absent": "–"}.get(health, "✗")


def state_text(entry: FleetEntry) -> str:
    """online, in a call, offline since …, never seen, revoked; `!` when offline while open."""
    if entry.state == "in_call":
        return "in a call"
    if entry.state == "offline":
        since = to_local_iso(entry.seen_at)[:16].replace("T", " ") if entry.seen_at else None
        text = f"offline since {since}" if since else "offline (never seen)"
        return f"! {text}" if entry.flagged else text
    return entry.state


def update_text(entry: FleetEntry) -> str:
    """The newest update: `0.3.0 ✓` done, `0.3.0 …` under way, `0.3.0 ✗` failed or rolled back;
    `canary` marks the ring that gets updates first."""
    ring = "canary " if entry.ring == "canary" else ""
    if entry.update is None:
        return ring.strip() or "–"
    version, state, _ = entry.update
    sign = {"done": "✓", "failed": "✗"}.get(state, "…")
    return f"{ring}{version} {sign}"


def row(entry: FleetEntry, now: datetime) -> tuple[str, ...]:
    """One device as the table's cells."""
    beat = entry.heartbeat_at is not None
    devices = "  ".join(f" {mark(health)}" for _, health in entry.devices) if beat else "–"
    return (
        str(entry.id),
        entry.name,
        entry.counter_name,
        state_text(entry),
        entry.version or "–",
        update_text(entry),
        duration(entry.uptime_s),
        f"{entry.cpu_temp_c:.1f}°C" if entry.cpu_temp_c is not None else "–",
        f"{entry.load:.2f}" if entry.load is not None else "–",
        f"{entry.disk_free_mb / 1024:.1f} GB" if entry.disk_free_mb is not None else "–",
        devices,
        f"{entry.rtt_ms:.0f} ms" if entry.rtt_ms is not None else "–",
        duration(entry.heartbeat_age_s(now)),
    )


def table(entries: list[FleetEntry], now: datetime) -> str:
    """The fleet as aligned text columns."""
    lines = [[name for name, _ in COLUMNS], *(row(e, now) for e in entries)]
    return "\n".join(
        "  ".join(
            cell[:width].ljust(width) for cell, (_, width) in zip(line, COLUMNS, strict=True)
        ).rstrip()
        for line in lines
    )


PENDING_COLUMNS = (("CLAIM CODE", 10), ("FINGERPRINT", 50), ("HOSTNAME", 24), ("SINCE", 16))


def pending_table(keys: list[Key]) -> str:
    """The appliances waiting for approval, below the fleet, as aligned text columns."""
    rows = [
        (
            k.claim_code,
            k.fingerprint,
            k.hostname,
            to_local_iso(k.enrolled_at)[:16].replace("T", " "),
        )
        for k in keys
    ]
    lines = [[name for name, _ in PENDING_COLUMNS], *rows]
    return "waiting for approval (buergeramt devices approve CODE --counter N):\n" + "\n".join(
        "  ".join(
            cell[:width].ljust(width)
            for cell, (_, width) in zip(line, PENDING_COLUMNS, strict=True)
        ).rstrip()
        for line in lines
    )


def pending_json(key: Key) -> dict[str, object]:
    """A waiting appliance in `devices list --json`: state "pending", no device id yet."""
    return {
        "id": None,
        "name": key.hostname,
        "counter": None,
        "state": "pending",
        "claim_code": key.claim_code,
        "fingerprint": key.fingerprint,
        "hostname": key.hostname,
        "version": key.version,
        "since": key.enrolled_at.isoformat(),
    }


@click.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per device, as a list.")
def devices_list(as_json: bool) -> None:
    """Every device: state (online, in a call, offline since …), version, uptime, temperature,
    load, free disk, devices, round trip and the last heartbeat's age. `!`: offline while its
    counter is open. Below: the appliances waiting for approval (claim code, fingerprint,
    hostname, since when); in --json, as entries of state "pending"."""
    from datetime import timedelta

    from hub.cli.common import current_settings, open_store
    from hub.clock import configured_clock
    from hub.operations.enrolment import pending
    from hub.operations.fleet import fleet

    settings = current_settings()
    now = configured_clock(settings.clock_start)()
    stale = timedelta(seconds=3 * settings.presence_seconds)
    store = open_store(settings)
    entries, waiting = fleet(store, now, stale), pending(store)
    if as_json:
        listed = [*(e.as_json(now) for e in entries), *(pending_json(k) for k in waiting)]
        click.echo(json.dumps(listed, ensure_ascii=False, indent=2))
        return
    click.echo(table(entries, now))
    if waiting:
        click.echo("\n" + pending_table(waiting))
