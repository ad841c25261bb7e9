"""IT's fleet view: each appliance's last heartbeat (stored with one UPDATE), its state (online,
in a call, offline since …) and whether it is offline while its counter is open."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from hub.booking.schedule import WeeklySchedule
from hub.booking.timezone import local_date
from hub.operations.calls import ACTIVE_NAMES
from hub.store import Store
from hub.store.catalogue import counter_schedule, to_schedule
from hub.store.engine import retrying
from hub.store.models import (
    CallRow,
    CounterExceptionRow,
    CounterHoursRow,
    CounterRow,
    DeviceHeartbeatRow,
    DeviceRow,
    RemoteActionRow,
    ScheduleRow,
)
from protocol.appliance import Heartbeat

log = logging.getLogger("hub.fleet")

DEVICES = ("camera", "microphone", "speaker", "scanner")


def record_heartbeat(store: Store, device_id: int, beat: Heartbeat, now: datetime) -> None:
    """Keep `beat` as the device's last heartbeat: one UPDATE (an INSERT the first time)."""
    values = {
        "received_at": now,
        "version": beat.version,
        "uptime_s": beat.uptime_s,
        "cpu_temp_c": beat.cpu_temp_c,
        "load": beat.load,
        "disk_free_mb": beat.disk_free_mb,
        "rtt_ms": beat.rtt_ms,
        **{name: getattr(beat.devices, name) for name in DEVICES},
    }

    def attempt() -> None:
        with store.transaction() as session:
            table = DeviceHeartbeatRow.__table__
            done = session.execute(
                update(table).where(table.c.device_id == device_id).values(**values)
            )
            if done.rowcount == 0:  # type: ignore[attr-defined]  # a CursorResult
                session.execute(insert(table).values(device_id=device_id, **values))

    retrying(attempt)


@dataclass(frozen=True)
class FleetEntry:
    """One appliance as IT sees it."""

    id: int
    name: str
    counter_id: int
    counter_name: str
    state: str  # online, in_call, offline, revoked
    seen_at: datetime | None  # a hub process last saw it connected (offline: since when)
    open_now: bool  # its counter is open at the moment
    heartbeat_at: datetime | None
    version: str | None = None
    uptime_s: int | None = None
    cpu_temp_c: float | None = None
    load: float | None = None
    disk_free_mb: int | None = None
    devices: tuple[tuple[str, str], ...] = ()  # (device, health)
    rtt_ms: float | None = None
    ring: str = "general"  # updates reach `canary` first
    update: tuple[str, str, str] | None = None  # the newest update: (version, state, result)

    @property
    def flagged(self) -> bool:
        """Offline while its counter is open: somebody should look."""
        return self.state == "offline" and self.open_now

    def heartbeat_age_s(self, now: datetime) -> float | None:
        """Seconds since its last heartbeat."""
        return (now - self.heartbeat_at).total_seconds() if self.heartbeat_at else None

    def as_json(self, now: datetime) -> dict[str, object]:
        """For `devices list --json` and scripts."""
        return {
            "id": self.id,
            "name": self.name,
            "counter": {"id": self.counter_id, "name": self.counter_name},
            "state": self.state,
            "seen_at": self.seen_at.isoformat() if self.seen_at else None,
            "open_now": self.open_now,
            "offline_in_opening_hours": self.flagged,
            "version": self.version,
            "uptime_s": self.uptime_s,
            "cpu_temp_c": self.cpu_temp_c,
            "load": self.load,
            "disk_free_mb": self.disk_free_mb,
            "devices": dict(self.devices),
            "rtt_ms": self.rtt_ms,
            "heartbeat_at": self.heartbeat_at.isoformat() if self.heartbeat_at else None,
            "heartbeat_age_s": self.heartbeat_age_s(now),
            "ring": self.ring,
            "update": dict(zip(("version", "state", "result"), self.update, strict=True))
            if self.update
            else None,
        }


def is_open(schedule: WeeklySchedule, now: datetime) -> bool:
    """True when `schedule` has its counter open at `now`."""
    day = local_date(now)
    return any(i.start <= now < i.end for i in schedule.open_intervals(day, day))


def fleet(store: Store, now: datetime, stale: timedelta) -> list[FleetEntry]:
    """Every device with its state, last heartbeat and whether its counter is open now (asked
    of offline devices only: the answer matters for them alone, and costs a schedule each)."""
    with store.transaction() as session:
        rows = session.execute(
            select(
                DeviceRow.id,
                DeviceRow.name,
                DeviceRow.counter_id,
                CounterRow.name,
                DeviceRow.sid,
                DeviceRow.seen_at,
                DeviceRow.revoked_at,
                DeviceHeartbeatRow,
                DeviceRow.ring,
            )
            .join(CounterRow, CounterRow.id == DeviceRow.counter_id)
            .outerjoin(DeviceHeartbeatRow, DeviceHeartbeatRow.device_id == DeviceRow.id)
            .order_by(DeviceRow.id)
        ).all()
        calling = set(
            session.scalars(
                select(CallRow.device_id).where(
                    CallRow.state.in_(ACTIVE_NAMES), CallRow.device_id.is_not(None)
                )
            )
        )
        states = {}
        for device_id, _, _, _, sid, seen, revoked_at, _, _ in rows:
            if revoked_at is not None:
                states[device_id] = "revoked"
            elif sid is None or seen is None or now - seen >= stale:
                states[device_id] = "offline"
            else:
                states[device_id] = "in_call" if device_id in calling else "online"
        offline = {row[2] for row in rows if states[row[0]] == "offline"}
        opened = open_counters(session, offline, now)
        updates = latest_updates(session)
    return [
        _entry(
            FleetEntry(
                device_id,
                name,
                counter_id,
                counter_name,
                states[device_id],
                seen,
                opened.get(counter_id, False),
                beat.received_at if beat else None,
                ring=ring,
                update=updates.get(device_id),
            ),
            beat,
        )
        for device_id, name, counter_id, counter_name, _, seen, _, beat, ring in rows
    ]


def latest_updates(session: Session) -> dict[int, tuple[str, str, str]]:
    """Each device's newest update action: (version, state, result)."""
    newest = (
        select(func.max(RemoteActionRow.id))
        .where(RemoteActionRow.kind == "update")
        .group_by(RemoteActionRow.device_id)
    )
    rows = session.scalars(select(RemoteActionRow).where(RemoteActionRow.id.in_(newest)))
    return {r.device_id: (str(r.arguments.get("version")), r.state, r.result) for r in rows}


def open_counters(session: Session, counter_ids: set[int], now: datetime) -> dict[int, bool]:
    """Whether each of these counters is open at `now`. Most keep their schedule unchanged: its
    answer serves them all, and only counters with their own hours or exceptions are loaded
    whole (loading 500 counters with their schedules took ~100 ms, every round)."""
    if not counter_ids:
        return {}
    # All rows, filtered here: an IN of hundreds of parameters costs more than the rows.
    counters = session.execute(select(CounterRow.id, CounterRow.schedule_id, CounterRow.active))
    own = set(session.scalars(select(CounterHoursRow.counter_id).distinct())) | set(
        session.scalars(select(CounterExceptionRow.counter_id).distinct())
    )
    by_schedule: dict[int, bool] = {}
    opened = {}
    for counter_id, schedule_id, active in counters:
        if counter_id not in counter_ids:
            continue
        if counter_id in own:
            row = session.get_one(CounterRow, counter_id)
            opened[counter_id] = active and is_open(counter_schedule(row), now)
            continue
        if schedule_id not in by_schedule:
            schedule = to_schedule(session.get_one(ScheduleRow, schedule_id))
            by_schedule[schedule_id] = is_open(schedule, now)
        opened[counter_id] = active and by_schedule[schedule_id]
    return opened


def _entry(base: FleetEntry, beat: DeviceHeartbeatRow | None) -> FleetEntry:
    if beat is None:
        return base
    return replace(
        base,
        version=beat.version,
        uptime_s=beat.uptime_s,
        cpu_temp_c=beat.cpu_temp_c,
        load=beat.load,
        disk_free_mb=beat.disk_free_mb,
        devices=tuple((name, getattr(beat, name)) for name in DEVICES),
        rtt_ms=beat.rtt_ms,
    )


@dataclass(frozen=True)
class FleetCounts:
    """What the gauges show."""

    online: int
    offline_in_opening_hours: int


def counts(entries: Iterable[FleetEntry]) -> FleetCounts:
    """Appliances online (in a call too) and those offline while their counter is open."""
    listed = list(entries)
    return FleetCounts(
        sum(e.state in ("online", "in_call") for e in listed),
        sum(e.flagged for e in listed),
    )


class OfflineWatch:
    """Logs each appliance that goes offline during its counter's opening hours, once per
    transition (and once more when it is back or the counter closes)."""

    def __init__(self) -> None:
        self.flagged: set[int] = set()

    def see(self, entries: Iterable[FleetEntry], now: datetime) -> set[int]:
        """Log the transitions since the last round; returns the devices flagged now."""
        listed = {e.id: e for e in entries}
        flagged = {e.id for e in listed.values() if e.flagged}
        for device_id in sorted(flagged - self.flagged):
            e = listed[device_id]
            since = e.seen_at.isoformat(timespec="seconds") if e.seen_at else "never seen"
            log.warning(
                "appliance %d (%s) at counter %s is offline during opening hours (last seen: %s)",
                e.id,
                e.name,
                e.counter_name,
                since,
            )
        for device_id in sorted(self.flagged - flagged):
            back = listed.get(device_id)
            why = "back online" if back is not None and back.state != "offline" else "closed"
            log.info("appliance %d no longer offline during opening hours (%s)", device_id, why)
        self.flagged = flagged
        return flagged
