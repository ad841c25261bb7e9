"""The call of an appointment: joining the lobby, admission, media state, ending, presence.

Every hub process shares this state through the database, so a citizen served by one process
and an appliance served by another see the same call. Each change goes through the domain's
state machine (hub.calls.lifecycle) and is recorded as a call event with its time.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub.booking.status import ON_THE_DAY, Status
from hub.booking.tokens import hash_token, looks_like_token
from hub.calls.estimate import Wait, estimate
from hub.calls.lifecycle import (
    ACTIVE,
    CallError,
    Event,
    Outcome,
    State,
    allowed,
    no_show_too_early,
    step,
)
from hub.calls.window import JoinWindow, Refusal
from hub.store import Store
from hub.store.engine import retrying
from hub.store.models import AppointmentRow, CallEventRow, CallRow, DeviceRow

ACTIVE_NAMES = [s.value for s in ACTIVE]
T = TypeVar("T")


class CallRefused(Exception):
    """A call request that cannot be met; `code` is stable and documented in docs/protocol.md."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Call:
    """A call as both parties and the hub's lobby see it."""

    appointment_id: uuid.UUID
    state: State
    outcome: Outcome | None
    counter_id: int  # the counter taking the call
    assigned_counter_id: int  # the counter the appointment was booked at
    device_id: int | None
    clerk_id: int | None
    service_id: str
    start: datetime
    end: datetime
    name: str
    locale: str
    waiting_since: datetime | None
    device_check: str | None = None
    notes: str | None = None


@dataclass(frozen=True)
class Joined:
    """A citizen's connection entered the call; `replaced` is the connection it supersedes."""

    call: Call
    replaced: str | None
    rejoined: bool  # the call was already under way: the appliance must rebuild the connection


def _call(row: CallRow, appointment: AppointmentRow) -> Call:
    return Call(
        appointment.id,
        State(row.state),
        Outcome(row.outcome) if row.outcome else None,
        row.counter_id,
        appointment.counter_id,
        row.device_id,
        row.clerk_id,
        appointment.service_id,
        appointment.start_at,
        appointment.end_at,
        appointment.name,
        appointment.locale,
        row.waiting_since,
        appointment.device_check,
        row.notes,
    )


def _locked(session: Session, appointment: AppointmentRow, now: datetime) -> CallRow:
    """The appointment's call row, created on first use, locked for this transaction."""
    query = select(CallRow).where(CallRow.appointment_id == appointment.id).with_for_update()
    row = session.scalar(query)
    if row is None:
        try:
            with session.begin_nested():
                session.add(
                    CallRow(
                        appointment_id=appointment.id,
                        state=State.SCHEDULED.value,
                        counter_id=appointment.counter_id,
                        updated_at=now,
                    )
                )
        except IntegrityError:
            pass  # created by a concurrent request a moment ago
        row = session.scalar(query)
        assert row is not None
    return row


def _apply(
    session: Session,
    row: CallRow,
    event: Event,
    now: datetime,
    outcome: Outcome | None = None,
) -> None:
    """Take one step of the state machine and record it."""
    move = step(State(row.state), event, now, outcome)
    row.state = move.after.value
    row.updated_at = now
    if outcome is not None:
        row.outcome = outcome.value
    if move.after is State.WAITING and move.before is not State.WAITING:
        row.waiting_since = now
    _milestone(row, event, move.after, move.before, now)
    session.add(
        CallEventRow(
            appointment_id=row.appointment_id,
            event=event.value,
            before=move.before.value,
            after=move.after.value,
            outcome=outcome.value if outcome else None,
            at=now,
            counter_id=row.counter_id,
            device_id=row.device_id,
            clerk_id=row.clerk_id,
        )
    )


def _milestone(row: CallRow, event: Event, after: State, before: State, now: datetime) -> None:
    """Keep the call's milestones for the statistics: admitted, first connected, ended, and
    the connections lost."""
    if event is Event.ADMIT:
        row.admitted_at = now
    elif event is Event.CONNECTED and row.connected_at is None:
        row.connected_at = now
    elif event is Event.LOST:
        row.interruptions = (row.interruptions or 0) + 1
    if after is State.ENDED and before is not State.ENDED:
        row.ended_at = now


def _apply_asked(
    session: Session, row: CallRow, event: Event, now: datetime, outcome: Outcome | None
) -> None:
    """`_apply` for a step a party asked for: a step the state forbids is refused to it."""
    try:
        _apply(session, row, event, now, outcome)
    except CallError as exc:
        raise CallRefused("not_allowed", str(exc)) from None


def _appointment(session: Session, appointment_id: uuid.UUID) -> AppointmentRow:
    row = session.get(AppointmentRow, appointment_id)
    if row is None:
        raise CallRefused("unknown_call", "no such appointment")
    return row


def _on_call(
    store: Store,
    appointment_id: uuid.UUID,
    now: datetime,
    change: Callable[[Session, CallRow, AppointmentRow], T],
) -> T:
    """Run `change` on the appointment's locked call row in one transaction (retried once)."""

    def attempt() -> T:
        with store.transaction() as session:
            appointment = _appointment(session, appointment_id)
            return change(session, _locked(session, appointment, now), appointment)

    return retrying(attempt)


def citizen_join(
    store: Store, join_token: object, sid: str, now: datetime, window: JoinWindow
) -> Joined:
    """Let the holder of a join link into the lobby, or back into a call under way."""
    if not isinstance(join_token, str) or not looks_like_token(join_token):
        raise CallRefused(Refusal.UNKNOWN, "this join link is not valid")

    def attempt() -> Joined:
        with store.transaction() as session:
            appointment = session.scalar(
                select(AppointmentRow).where(
                    AppointmentRow.join_token_hash == hash_token(join_token)
                )
            )
            if appointment is None:
                raise CallRefused(Refusal.UNKNOWN, "this join link is not valid")
            if appointment.status.withdrawn:
                raise CallRefused(Refusal.CANCELLED, "this appointment was cancelled")
            if not appointment.status.joinable:
                raise CallRefused(Refusal.NOT_CONFIRMED, "this appointment is not confirmed")
            row = _locked(session, appointment, now)
            if row.state == State.ENDED:
                raise CallRefused(Refusal.ENDED, "this call has ended")
            active = State(row.state) in ACTIVE
            if not active:
                refusal = window.check(appointment.start_at, appointment.end_at, now)
                if refusal is not None:
                    raise CallRefused(refusal, f"the lobby is not open ({refusal.value})")
                _apply(session, row, Event.JOIN, now)
            elif row.state in (State.CONNECTING, State.IN_CALL):
                _apply(session, row, Event.LOST, now)  # the old connection's media is gone
            replaced = row.citizen_sid if row.citizen_sid != sid else None
            row.citizen_sid = sid
            row.citizen_seen_at = now
            return Joined(_call(row, appointment), replaced, active)

    return retrying(attempt)


def citizen_left(store: Store, appointment_id: uuid.UUID, sid: str, now: datetime) -> Call | None:
    """The citizen's connection `sid` closed; None when a newer connection had replaced it."""

    def change(session: Session, row: CallRow, appointment: AppointmentRow) -> Call | None:
        if row.citizen_sid != sid:
            return None
        row.citizen_sid = None
        if row.state == State.WAITING:
            _apply(session, row, Event.LEAVE, now)
        elif allowed(State(row.state), Event.LOST) and row.state != State.RECONNECTING:
            _apply(session, row, Event.LOST, now)
        return _call(row, appointment)

    return _on_call(store, appointment_id, now, change)


def admit(
    store: Store,
    appointment_id: uuid.UUID,
    device_id: int,
    counter_id: int,
    clerk_id: int,
    now: datetime,
    stale: timedelta,
) -> Call:
    """A clerk at `device_id` admits a waiting citizen.

    A counter admits its own citizens; it may take another counter's citizen only while that
    counter has no appliance online. An appliance holds one call at a time.
    """

    def change(session: Session, row: CallRow, appointment: AppointmentRow) -> Call:
        if row.state != State.WAITING:
            raise CallRefused("not_waiting", f"the citizen is not waiting ({row.state})")
        if row.counter_id != counter_id and _online(session, [row.counter_id], now, stale):
            raise CallRefused("other_counter", "this citizen waits for another counter")
        busy = session.scalar(
            select(CallRow.appointment_id).where(
                CallRow.device_id == device_id, CallRow.state.in_(ACTIVE_NAMES)
            )
        )
        if busy is not None:
            raise CallRefused("busy", "this appliance is in another call")
        row.counter_id, row.device_id, row.clerk_id = counter_id, device_id, clerk_id
        _apply(session, row, Event.ADMIT, now)
        return _call(row, appointment)

    return _on_call(store, appointment_id, now, change)


def _advance(
    session: Session,
    row: CallRow,
    appointment: AppointmentRow,
    event: Event,
    now: datetime,
    outcome: Outcome | None,
    device: tuple[int, int] | None,
) -> Call:
    """The body of `advance` on the locked row."""
    holder = row.device_id == device[0] if device else True
    unclaimed_here = device is not None and row.device_id is None and row.counter_id == device[1]
    if not (holder or unclaimed_here):
        raise CallRefused("not_your_call", "this call belongs to another counter")
    if row.state == State.ENDED and event is Event.END:
        return _call(row, appointment)
    if outcome is Outcome.NO_SHOW and no_show_too_early(
        State(row.state), appointment.start_at, now
    ):
        raise CallRefused("too_early", "the citizen may still come: not a no-show yet")
    _apply_asked(session, row, event, now, outcome)
    if row.state == State.ENDED:
        row.citizen_sid = None
    return _call(row, appointment)


def advance(
    store: Store,
    appointment_id: uuid.UUID,
    event: Event,
    now: datetime,
    outcome: Outcome | None = None,
    device: tuple[int, int] | None = None,
) -> Call:
    """Apply `event` (offer, connected, lost, end) to a call; CallRefused when not allowed.

    With `device` (device id, counter id), only the appliance holding the call may do it, or,
    for a call nobody admitted yet, an appliance of the appointment's counter. Ending a call
    that has ended is a no-op.
    """

    def change(session: Session, row: CallRow, appointment: AppointmentRow) -> Call:
        return _advance(session, row, appointment, event, now, outcome, device)

    return _on_call(store, appointment_id, now, change)


def advance_from(
    store: Store, appointment_id: uuid.UUID, before: State, event: Event, now: datetime
) -> Call | None:
    """Apply `event` only to a call standing at `before`, in one transaction; None (nothing
    written) when it stands elsewhere or nobody joined it yet. For the citizen's first offer:
    admitted → connecting, and only then."""

    def attempt() -> Call | None:
        with store.transaction() as session:
            found = session.execute(
                select(CallRow, AppointmentRow)
                .join(AppointmentRow, AppointmentRow.id == CallRow.appointment_id)
                .where(CallRow.appointment_id == appointment_id)
                .with_for_update(of=CallRow)
            ).first()
            if found is None or found[0].state != before:
                return None
            return _advance(session, *found, event, now, None, None)

    return retrying(attempt)


def advance_unless(
    store: Store,
    appointment_id: uuid.UUID,
    event: Event,
    already: State,
    now: datetime,
    device: tuple[int, int] | None = None,
    relayed: bool | None = None,
) -> Call | None:
    """`advance`, unless the call already stands at `already`: then None and no step recorded
    (a party reporting media it already reported). `relayed` notes whether the reporting
    party's media goes through the TURN server (once relayed, the call counts as relayed).
    One transaction either way."""

    def change(session: Session, row: CallRow, appointment: AppointmentRow) -> Call | None:
        if relayed is not None:
            row.relayed = bool(row.relayed) or relayed
        if row.state == already:
            return None
        return _advance(session, row, appointment, event, now, None, device)

    return _on_call(store, appointment_id, now, change)


def record_outcome(
    store: Store,
    appointment_id: uuid.UUID,
    outcome: Outcome,
    notes: str | None,
    now: datetime,
    device_id: int,
) -> Call:
    """After hanging up, the clerk records how the call went (done, follow-up, no-show) and
    their notes; only the appliance that held the call may, and as often as it corrects it."""

    def change(session: Session, row: CallRow, appointment: AppointmentRow) -> Call:
        if row.device_id != device_id:
            raise CallRefused("not_your_call", "this appliance did not hold that call")
        _apply_asked(session, row, Event.RECORD, now, outcome)
        row.notes = notes or None
        return _call(row, appointment)

    return _on_call(store, appointment_id, now, change)


@dataclass(frozen=True)
class Appointment:
    """One line of a counter's day: the booking and, once anyone joined, its call."""

    appointment_id: uuid.UUID
    service_id: str
    start: datetime
    end: datetime
    name: str
    locale: str
    cancelled: bool
    device_check: str | None
    call: Call | None


def day(store: Store, counter_id: int, start: datetime, end: datetime) -> list[Appointment]:
    """The appointments of one counter between `start` and `end` (booked or cancelled), and
    the calls this counter took over from others, in order of time."""
    query = (
        select(AppointmentRow, CallRow)
        .outerjoin(CallRow, CallRow.appointment_id == AppointmentRow.id)
        .where(AppointmentRow.start_at >= start, AppointmentRow.start_at < end)
        .where(AppointmentRow.status.in_(ON_THE_DAY))
        .where((AppointmentRow.counter_id == counter_id) | (CallRow.counter_id == counter_id))
        .order_by(AppointmentRow.start_at)
    )
    with store.transaction() as session:
        return [
            Appointment(
                appointment.id,
                appointment.service_id,
                appointment.start_at,
                appointment.end_at,
                appointment.name,
                appointment.locale,
                appointment.status == Status.CANCELLED,
                appointment.device_check,
                _call(row, appointment) if row is not None else None,
            )
            for appointment, row in session.execute(query).all()
        ]


def counters_of(store: Store, appointment_id: uuid.UUID) -> set[int]:
    """The counters whose day shows an appointment: its own, and the one that took its call."""
    with store.transaction() as session:
        row = session.execute(
            select(AppointmentRow.counter_id, CallRow.counter_id)
            .outerjoin(CallRow, CallRow.appointment_id == AppointmentRow.id)
            .where(AppointmentRow.id == appointment_id)
        ).first()
    return set() if row is None else {c for c in row if c is not None}


DEVICE_CHECKS = ("ready", "audio_only", "needs_help")


def record_device_check(store: Store, join_token: str, result: str, now: datetime) -> bool:
    """Keep the result of the call page's device check (any time before the call, as often
    as the citizen runs it); False when the link opens no appointment."""
    if result not in DEVICE_CHECKS:
        raise ValueError(f"result must be one of {', '.join(DEVICE_CHECKS)}")
    if not looks_like_token(join_token):
        return False
    with store.transaction() as session:
        counter_id = session.scalar(
            select(AppointmentRow.counter_id).where(
                AppointmentRow.join_token_hash == hash_token(join_token)
            )
        )
        if counter_id is None:
            return False
        session.execute(
            update(AppointmentRow)
            .where(AppointmentRow.join_token_hash == hash_token(join_token))
            .values(device_check=result, device_checked_at=now)
        )
    store.day_changed({counter_id})  # the clerk's day shows the result
    return True


def start_of(store: Store, join_token: str) -> datetime | None:
    """When the appointment a join link opens starts (to tell an early citizen when to come)."""
    with store.transaction() as session:
        return session.scalar(
            select(AppointmentRow.start_at).where(
                AppointmentRow.join_token_hash == hash_token(join_token)
            )
        )


@dataclass(frozen=True)
class LinkState:
    """What a join link opens: enough to decide whether it may still do anything."""

    status: Status
    start: datetime
    end: datetime
    call_ended: bool
    appointment_id: uuid.UUID


def link_state(store: Store, join_token: str) -> LinkState | None:
    """The appointment a join link opens, or None when it opens none."""
    if not looks_like_token(join_token):
        return None
    with store.transaction() as session:
        found = session.execute(
            select(
                AppointmentRow.status,
                AppointmentRow.start_at,
                AppointmentRow.end_at,
                CallRow.state,
                AppointmentRow.id,
            )
            .outerjoin(CallRow, CallRow.appointment_id == AppointmentRow.id)
            .where(AppointmentRow.join_token_hash == hash_token(join_token))
        ).first()
    if found is None:
        return None
    status, start, end, state, appointment_id = found
    return LinkState(status, start, end, state == State.ENDED, appointment_id)


def current_call(store: Store, appointment_id: uuid.UUID) -> Call | None:
    """The call of an appointment as it stands, or None before anyone joined."""
    with store.transaction() as session:
        found = session.execute(
            select(CallRow, AppointmentRow)
            .join(AppointmentRow, AppointmentRow.id == CallRow.appointment_id)
            .where(CallRow.appointment_id == appointment_id)
        ).first()
        return _call(*found) if found else None


def _online(
    session: Session, counters: Iterable[int] | None, now: datetime, stale: timedelta
) -> set[int]:
    """Which of `counters` (None: all) have an appliance connected to a hub process now."""
    query = select(DeviceRow.counter_id).where(
        DeviceRow.sid.is_not(None),
        DeviceRow.revoked_at.is_(None),
        DeviceRow.seen_at > now - stale,
    )
    if counters is not None:
        query = query.where(DeviceRow.counter_id.in_(list(counters)))
    return set(session.scalars(query.distinct()))


def device_connected(
    store: Store, device_id: int, sid: str, now: datetime
) -> tuple[str | None, Call | None]:
    """Record the appliance's new connection; returns the one it replaces and its current call.

    A call that was connecting or under way must be rebuilt: it goes to reconnecting.
    """

    def attempt() -> tuple[str | None, Call | None]:
        with store.transaction() as session:
            device = session.get(DeviceRow, device_id, with_for_update=True)
            assert device is not None
            replaced = device.sid if device.sid not in (None, sid) else None
            device.sid, device.seen_at = sid, now
            found = session.execute(
                select(CallRow, AppointmentRow)
                .join(AppointmentRow, AppointmentRow.id == CallRow.appointment_id)
                .where(CallRow.device_id == device_id, CallRow.state.in_(ACTIVE_NAMES))
                .with_for_update(of=CallRow)
            ).first()
            if found is None:
                return replaced, None
            row, appointment = found
            if row.state in (State.CONNECTING, State.IN_CALL):
                _apply(session, row, Event.LOST, now)
            return replaced, _call(row, appointment)

    return retrying(attempt)


def device_disconnected(store: Store, device_id: int, sid: str, now: datetime) -> Call | None:
    """The appliance's connection `sid` closed: its call (if any) waits for it to come back."""

    def attempt() -> Call | None:
        with store.transaction() as session:
            device = session.get(DeviceRow, device_id, with_for_update=True)
            if device is None or device.sid != sid:
                return None
            device.sid = None
            found = session.execute(
                select(CallRow, AppointmentRow)
                .join(AppointmentRow, AppointmentRow.id == CallRow.appointment_id)
                .where(CallRow.device_id == device_id, CallRow.state.in_(ACTIVE_NAMES))
                .with_for_update(of=CallRow)
            ).first()
            if found is None:
                return None
            row, appointment = found
            if row.state != State.RECONNECTING:
                _apply(session, row, Event.LOST, now)
            return _call(row, appointment)

    return retrying(attempt)


@dataclass
class Lobby:
    """Who waits where, and what each waiting citizen should be told."""

    waiting: list[Call] = field(default_factory=list)
    online: set[int] = field(default_factory=set)  # counters with an appliance connected
    waits: dict[uuid.UUID, Wait] = field(default_factory=dict)
    # Counters whose clerk is in a call, with the planned end of that call.
    busy_until: dict[int, datetime] = field(default_factory=dict)

    def for_counter(self, counter_id: int) -> tuple[list[Call], list[Call]]:
        """The counter's own waiting citizens, and those whose counter has nobody online."""
        own = [c for c in self.waiting if c.counter_id == counter_id]
        unattended = [c for c in self.waiting if c.counter_id not in self.online]
        others = [c for c in unattended if c.counter_id != counter_id]
        return own, others


def lobby(store: Store, now: datetime, stale: timedelta, counter_id: int | None = None) -> Lobby:
    """A snapshot of the lobby (of one counter, or all): waiting citizens with honest estimates."""
    query = (
        select(CallRow, AppointmentRow)
        .join(AppointmentRow, AppointmentRow.id == CallRow.appointment_id)
        .where(CallRow.state.in_([State.WAITING.value, *ACTIVE_NAMES]))
        .order_by(AppointmentRow.start_at, CallRow.waiting_since)
    )
    if counter_id is not None:
        query = query.where(CallRow.counter_id == counter_id)
    with store.transaction() as session:
        rows = session.execute(query).all()
        calls = [_call(row, appointment) for row, appointment in rows]
        result = Lobby()
        result.waiting = [c for c in calls if c.state is State.WAITING]
        result.busy_until = {c.counter_id: c.end for c in calls if c.state in ACTIVE}
        result.online = _online(session, None if counter_id is None else [counter_id], now, stale)
    queues: dict[int, list[Call]] = {}
    for call in result.waiting:
        queue = queues.setdefault(call.counter_id, [])
        result.waits[call.appointment_id] = estimate(
            now=now,
            start=call.start,
            counter_online=call.counter_id in result.online,
            current_call_end=result.busy_until.get(call.counter_id),
            ahead=[c.end - c.start for c in queue],
        )
        queue.append(call)
    return result


def heartbeat(
    store: Store, device_ids: Iterable[int], citizen_sids: Iterable[str], now: datetime
) -> None:
    """Mark this process's connections as alive."""
    devices, sids = list(device_ids), list(citizen_sids)
    if not devices and not sids:
        return
    with store.transaction() as session:
        if devices:
            session.execute(update(DeviceRow).where(DeviceRow.id.in_(devices)).values(seen_at=now))
        if sids:
            session.execute(
                update(CallRow).where(CallRow.citizen_sid.in_(sids)).values(citizen_seen_at=now)
            )


def revoked(store: Store, device_ids: Iterable[int]) -> set[int]:
    """Which of `device_ids` have been revoked. Asked twice a second with every connected
    device: the few revoked ids are read and compared here, instead of sending hundreds of ids
    as parameters each time (10-20 ms with 500 appliances)."""
    devices = set(device_ids)
    if not devices:
        return set()
    with store.transaction() as session:
        gone = set(session.scalars(select(DeviceRow.id).where(DeviceRow.revoked_at.is_not(None))))
    return devices & gone


def sweep(
    store: Store, now: datetime, stale: timedelta, grace: timedelta, window: JoinWindow
) -> list[Call]:
    """Settle calls whose parties vanished without a word (a hub process died, say).

    A citizen not seen for `stale` leaves the lobby; a call whose party is gone starts
    reconnecting; one reconnecting for longer than `grace` is dropped; a lobby place left
    after the join window closed ends as a no-show, one whose appointment was cancelled (from
    the manage link, while waiting) as cancelled.
    """
    changed: list[Call] = []

    def attempt() -> None:
        changed.clear()
        with store.transaction() as session:
            rows = session.execute(
                select(CallRow, AppointmentRow)
                .join(AppointmentRow, AppointmentRow.id == CallRow.appointment_id)
                .where(CallRow.state.in_([State.WAITING.value, *ACTIVE_NAMES]))
                .with_for_update(of=CallRow)
            ).all()
            devices = {
                d.id: d
                for d in session.scalars(
                    select(DeviceRow).where(
                        DeviceRow.id.in_({r.device_id for r, _ in rows if r.device_id})
                    )
                )
            }
            for row, appointment in rows:
                event, outcome = _settle(row, appointment, devices, now, stale, grace, window)
                if event is None:
                    continue
                if event in (Event.LEAVE, Event.END):
                    row.citizen_sid = None
                _apply(session, row, event, now, outcome)
                changed.append(_call(row, appointment))

    retrying(attempt)
    return changed


def _settle(
    row: CallRow,
    appointment: AppointmentRow,
    devices: dict[int, DeviceRow],
    now: datetime,
    stale: timedelta,
    grace: timedelta,
    window: JoinWindow,
) -> tuple[Event | None, Outcome | None]:
    def gone(seen: datetime | None) -> bool:
        return seen is None or now - seen > stale

    citizen_gone = row.citizen_sid is None or gone(row.citizen_seen_at)
    state = State(row.state)
    if state is State.WAITING:
        if appointment.status.withdrawn:  # cancelled from the manage link, or never confirmed
            return Event.END, Outcome.CANCELLED
        if now > window.closes(appointment.end_at):
            return Event.END, Outcome.NO_SHOW
        return (Event.LEAVE, None) if citizen_gone else (None, None)
    if state is State.RECONNECTING:
        return (Event.END, Outcome.DROPPED) if now - row.updated_at > grace else (None, None)
    device = devices.get(row.device_id) if row.device_id else None
    device_gone = device is None or device.sid is None or gone(device.seen_at)
    return (Event.LOST, None) if citizen_gone or device_gone else (None, None)
