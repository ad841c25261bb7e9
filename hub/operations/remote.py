"""Remote actions IT asks of one appliance (restart, reboot, identify, settings, update, logs):
stored with who asked and when, delivered over the live connection (hub.realtime), answered by
the appliance. Updates go to the ring `canary` first, and by default only while the counter is
closed (docs/operations.md, "Updates")."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, get_args

from pydantic import ValidationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hub.store import Store
from hub.store.engine import retrying
from hub.store.models import DeviceRow, RemoteActionRow
from protocol.appliance import (
    MAX_LOG_LINES,
    VERSION,
    Action,
    ActionKind,
    ActionResult,
    PushedSettings,
)

KINDS: tuple[str, ...] = get_args(ActionKind)
SETTINGS: tuple[str, ...] = tuple(PushedSettings.model_fields)
INTEGERS = {"width", "height"}
OPEN = ("requested", "sent", "waiting", "running")  # not answered for good yet
RINGS = ("canary", "general")
WHEN = ("closed", "now")  # an update: outside the counter's opening hours, or at once


class RemoteRefused(ValueError):
    """An action IT may not ask for; the message is one line for the command line."""


@dataclass(frozen=True)
class RemoteAction:
    """One action and how far it got."""

    id: int
    device_id: int
    kind: str
    arguments: dict[str, Any]
    force: bool
    requested_by: str
    requested_at: datetime
    state: str  # requested, sent, waiting, done, failed
    result: str
    updated_at: datetime
    output: str | None = None  # kind `logs`: the lines the appliance sent

    def message(self) -> Action:
        """What the appliance gets."""
        settings = PushedSettings(**self.arguments) if self.kind == "settings" else None
        return Action(
            id=self.id,
            kind=self.kind,
            force=self.force,
            settings=settings,
            version=self.arguments.get("version") if self.kind == "update" else None,
            lines=self.arguments.get("lines") if self.kind == "logs" else None,
        )

    def as_json(self) -> dict[str, object]:
        """For `devices actions --json`."""
        return {
            "id": self.id,
            "device": self.device_id,
            "kind": self.kind,
            "arguments": self.arguments,
            "force": self.force,
            "requested_by": self.requested_by,
            "requested_at": self.requested_at.isoformat(),
            "state": self.state,
            "result": self.result,
            "updated_at": self.updated_at.isoformat(),
            "log": self.output.splitlines() if self.output is not None else None,
        }


def parse_settings(pairs: Iterable[str]) -> PushedSettings:
    """`key=value` pairs as validated settings; RemoteRefused names the first bad one."""
    values: dict[str, object] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise RemoteRefused(f"{pair!r} is not key=value")
        if key not in SETTINGS:
            raise RemoteRefused(f"unknown setting {key!r}; allowed: {', '.join(SETTINGS)}")
        if key in values:
            raise RemoteRefused(f"setting {key!r} given twice")
        if key in INTEGERS:
            if not value.isdigit():
                raise RemoteRefused(f"{key}: {value!r} is not a whole number")
            values[key] = int(value)
        else:
            values[key] = value
    if not values:
        raise RemoteRefused("no settings given (key=value …)")
    try:
        return PushedSettings(**values)  # type: ignore[arg-type]
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(map(str, error["loc"]))
        raise RemoteRefused(f"{key}: {error['msg']} (got {values.get(key)!r})") from None


def request_action(
    store: Store,
    device_id: int,
    kind: str,
    *,
    requested_by: str,
    now: datetime,
    force: bool = False,
    settings: PushedSettings | None = None,
    lines: int | None = None,
) -> RemoteAction:
    """Store an action for a device; the realtime job delivers it (RemoteRefused: not allowed).
    Updates are asked for with `offer_update`."""
    if kind not in KINDS or kind == "update":
        allowed = ", ".join(k for k in KINDS if k != "update")
        raise RemoteRefused(f"unknown action {kind!r}; one of: {allowed}")
    if (kind == "settings") != (settings is not None):
        raise RemoteRefused("settings go with the action `settings` only")
    if lines is not None and (kind != "logs" or not 1 <= lines <= MAX_LOG_LINES):
        raise RemoteRefused(f"lines: 1 to {MAX_LOG_LINES}, with the action `logs` only")
    arguments: dict[str, Any] = settings.given() if settings is not None else {}
    if kind == "logs":
        arguments = {"lines": lines or 100}
    with store.transaction() as session:
        device = _active_device(session, device_id)
        row = _requested(device.id, kind, arguments, force, requested_by, now)
        session.add(row)
        session.flush()
        return _action(row)


def take_requested(store: Store, device_ids: Collection[int], now: datetime) -> list[RemoteAction]:
    """The requested actions of these (connected) devices, marked `sent`."""
    if not device_ids:
        return []

    def attempt() -> list[RemoteAction]:
        with store.transaction() as session:
            rows = session.scalars(
                select(RemoteActionRow)
                .where(RemoteActionRow.state == "requested")
                .order_by(RemoteActionRow.id)
                .with_for_update(skip_locked=True)
            ).all()
            wanted = [row for row in rows if row.device_id in device_ids]
            held = _held_for_opening_hours(session, wanted, now)
            wanted = [row for row in wanted if row.id not in held]
            for row in wanted:
                row.state, row.updated_at = "sent", now
            return [_action(row) for row in wanted]

    return retrying(attempt)


def send_again(store: Store, device_id: int, now: datetime) -> None:
    """A device (re)connected: what it was sent and never settled goes to it once more (an
    appliance that restarted has forgotten what waited for its call to end). Retried on a
    connection the database dropped (the first use after a database restart)."""

    def attempt() -> None:
        with store.transaction() as session:
            session.execute(
                update(RemoteActionRow)
                .where(
                    RemoteActionRow.device_id == device_id,
                    RemoteActionRow.state.in_(("sent", "waiting")),
                )
                .values(state="requested", updated_at=now)
            )

    retrying(attempt)


def record_result(store: Store, device_id: int, answer: ActionResult, now: datetime) -> bool:
    """The appliance's answer to one of its own actions (False: no such open action)."""

    def attempt() -> bool:
        with store.transaction() as session:
            row = session.get(RemoteActionRow, answer.id)
            if row is None or row.device_id != device_id or row.state not in OPEN:
                return False
            row.state, row.result, row.updated_at = answer.state, answer.result, now
            if answer.log is not None and row.kind == "logs":
                row.output = "\n".join(line.replace("\n", " ") for line in answer.log)
            return True

    return retrying(attempt)


def actions_of(store: Store, device_id: int, limit: int = 20) -> list[RemoteAction]:
    """A device's latest actions, newest first."""
    with store.transaction() as session:
        rows = session.scalars(
            select(RemoteActionRow)
            .where(RemoteActionRow.device_id == device_id)
            .order_by(RemoteActionRow.id.desc())
            .limit(limit)
        ).all()
        return [_action(row) for row in rows]


def action_by_id(store: Store, key: int) -> RemoteAction | None:
    """One action as it stands."""
    with store.transaction() as session:
        row = session.get(RemoteActionRow, key)
        return _action(row) if row is not None else None


def _action(row: RemoteActionRow) -> RemoteAction:
    return RemoteAction(
        row.id,
        row.device_id,
        row.kind,
        dict(row.arguments),
        row.force,
        row.requested_by,
        row.requested_at,
        row.state,
        row.result,
        row.updated_at,
        row.output,
    )


def _requested(
    device_id: int,
    kind: str,
    arguments: dict[str, Any],
    force: bool,
    requested_by: str,
    now: datetime,
) -> RemoteActionRow:
    """A new action, as stored before the realtime job sends it."""
    return RemoteActionRow(
        device_id=device_id,
        kind=kind,
        arguments=arguments,
        force=force,
        requested_by=requested_by[:120],
        requested_at=now,
        state="requested",
        result="",
        updated_at=now,
    )


def _active_device(session: Session, device_id: int) -> DeviceRow:
    device = session.get(DeviceRow, device_id)
    if device is None:
        raise RemoteRefused(f"no device {device_id}")
    if device.revoked_at is not None:
        raise RemoteRefused(f"device {device_id} is revoked")
    return device


def _held_for_opening_hours(
    session: Session, rows: Sequence[RemoteActionRow], now: datetime
) -> set[int]:
    """The updates among `rows` that wait for their counter to close."""
    waiting = [r for r in rows if r.kind == "update" and r.arguments.get("when") != "now"]
    if not waiting:
        return set()
    from hub.operations.fleet import open_counters

    counter_of = {r.id: session.get_one(DeviceRow, r.device_id).counter_id for r in waiting}
    opened = open_counters(session, set(counter_of.values()), now)
    return {key for key, counter in counter_of.items() if opened.get(counter, False)}


def set_ring(store: Store, device_id: int, ring: str) -> None:
    """Put a device into the ring `canary` (updates come to it first) or `general`."""
    if ring not in RINGS:
        raise RemoteRefused(f"unknown ring {ring!r}; one of: {', '.join(RINGS)}")
    with store.transaction() as session:
        _active_device(session, device_id).ring = ring


def offer_update(
    store: Store,
    version: str,
    available: Collection[str],
    *,
    requested_by: str,
    now: datetime,
    devices: Collection[int] = (),
    ring: str | None = None,
    when: str = "closed",
    force: bool = False,
    skip_canary: bool = False,
) -> list[RemoteAction]:
    """Ask devices (by id, or a whole ring) to update to `version`, one of the `available` ones
    the hub serves. The ring `general` is refused until every canary runs `version` (unless
    `skip_canary`); a device with an update still open is refused too."""
    if not re.fullmatch(VERSION, version) or version not in available:
        offered = ", ".join(available) or "none (docs/operations.md, 'Updates')"
        raise RemoteRefused(f"the hub serves no appliance {version!r}; it serves: {offered}")
    if when not in WHEN:
        raise RemoteRefused(f"when: one of {', '.join(WHEN)}")
    if (ring is None) == (not devices):
        raise RemoteRefused("name devices or one ring, not both")
    if ring is not None and ring not in RINGS:
        raise RemoteRefused(f"unknown ring {ring!r}; one of: {', '.join(RINGS)}")
    with store.transaction() as session:
        if ring is not None:
            rows = session.scalars(
                select(DeviceRow)
                .where(DeviceRow.ring == ring, DeviceRow.revoked_at.is_(None))
                .order_by(DeviceRow.id)
            ).all()
            if not rows:
                raise RemoteRefused(f"no device in the ring {ring}")
        else:
            rows = [_active_device(session, device_id) for device_id in sorted(set(devices))]
        if ring == "general" and not skip_canary:
            _canaries_run(session, version)
        open_updates = set(
            session.scalars(
                select(RemoteActionRow.device_id).where(
                    RemoteActionRow.kind == "update", RemoteActionRow.state.in_(OPEN)
                )
            )
        )
        busy = [row.id for row in rows if row.id in open_updates]
        if busy:
            raise RemoteRefused(f"an update is still open for device {', '.join(map(str, busy))}")
        arguments = {"version": version, "when": when}
        added = [_requested(row.id, "update", arguments, force, requested_by, now) for row in rows]
        session.add_all(added)
        session.flush()
        return [_action(row) for row in added]


def _canaries_run(session: Session, version: str) -> None:
    """RemoteRefused unless there are canaries and each one's update to `version` is done."""
    canaries = set(
        session.scalars(
            select(DeviceRow.id).where(DeviceRow.ring == "canary", DeviceRow.revoked_at.is_(None))
        )
    )
    if not canaries:
        raise RemoteRefused("no canary: put a device into the ring canary first (devices ring)")
    done = set(
        session.scalars(
            select(RemoteActionRow.device_id).where(
                RemoteActionRow.kind == "update",
                RemoteActionRow.state == "done",
                RemoteActionRow.device_id.in_(canaries),
                RemoteActionRow.arguments["version"].as_string() == version,
            )
        )
    )
    missing = sorted(canaries - done)
    if missing:
        raise RemoteRefused(
            f"the canaries {', '.join(map(str, missing))} do not run {version} yet "
            "(--skip-canary to update the ring general anyway)"
        )
