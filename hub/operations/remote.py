"""Remote actions IT asks of one appliance (restart, reboot, identify, settings): stored with who
asked and when, delivered over the live connection (hub.realtime), answered by the appliance."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, get_args

from pydantic import ValidationError
from sqlalchemy import select, update

from hub.store import Store
from hub.store.engine import retrying
from hub.store.models import DeviceRow, RemoteActionRow
from protocol.appliance import Action, ActionKind, ActionResult, PushedSettings

KINDS: tuple[str, ...] = get_args(ActionKind)
SETTINGS: tuple[str, ...] = tuple(PushedSettings.model_fields)
INTEGERS = {"width", "height"}
OPEN = ("requested", "sent", "waiting")  # not answered for good yet


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

    def message(self) -> Action:
        """What the appliance gets."""
        settings = PushedSettings(**self.arguments) if self.kind == "settings" else None
        return Action(id=self.id, kind=self.kind, force=self.force, settings=settings)

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
) -> RemoteAction:
    """Store an action for a device; the realtime job delivers it (RemoteRefused: not allowed)."""
    if kind not in KINDS:
        raise RemoteRefused(f"unknown action {kind!r}; one of: {', '.join(KINDS)}")
    if (kind == "settings") != (settings is not None):
        raise RemoteRefused("settings go with the action `settings` only")
    with store.transaction() as session:
        device = session.get(DeviceRow, device_id)
        if device is None:
            raise RemoteRefused(f"no device {device_id}")
        if device.revoked_at is not None:
            raise RemoteRefused(f"device {device_id} is revoked")
        row = RemoteActionRow(
            device_id=device_id,
            kind=kind,
            arguments=settings.given() if settings is not None else {},
            force=force,
            requested_by=requested_by[:120],
            requested_at=now,
            state="requested",
            result="",
            updated_at=now,
        )
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
    )
