"""The call lifecycle as a small state machine, free of Socket.IO and the database.

scheduled → waiting (lobby) → admitted → connecting → in_call → ended, with reconnecting as a
detour that returns to in_call. Every step is a `Transition` the store keeps with its time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from protocol.vocabulary import CLERK_OUTCOMES, CallState
from protocol.vocabulary import Outcome as Outcome  # re-exported: the hub's one name for it

# The states and outcomes are the protocol's words (protocol.vocabulary), named once for the
# hub, the appliance and the docs; the hub calls a call's state `State`.
State = CallState


class Event(StrEnum):
    """What can happen to a call."""

    JOIN = "join"  # the citizen entered the lobby
    LEAVE = "leave"  # the citizen left the lobby before being admitted
    ADMIT = "admit"  # a clerk let the citizen in
    OFFER = "offer"  # the first session description went across
    CONNECTED = "connected"  # media flows
    LOST = "lost"  # a party's connection dropped, or its media stopped
    END = "end"  # hung up (done), closed as no-show or cancelled, or given up (dropped)
    RECORD = "record"  # the clerk recorded (or corrected) the outcome after hanging up


ACTIVE = frozenset({State.ADMITTED, State.CONNECTING, State.IN_CALL, State.RECONNECTING})

_NEXT: dict[tuple[State, Event], State] = {
    (State.SCHEDULED, Event.JOIN): State.WAITING,
    (State.WAITING, Event.JOIN): State.WAITING,  # a reload while waiting keeps the place
    (State.WAITING, Event.LEAVE): State.SCHEDULED,
    (State.WAITING, Event.ADMIT): State.ADMITTED,
    (State.ADMITTED, Event.OFFER): State.CONNECTING,
    (State.ADMITTED, Event.CONNECTED): State.IN_CALL,
    (State.CONNECTING, Event.CONNECTED): State.IN_CALL,
    (State.RECONNECTING, Event.CONNECTED): State.IN_CALL,
    (State.ADMITTED, Event.LOST): State.RECONNECTING,
    (State.CONNECTING, Event.LOST): State.RECONNECTING,
    (State.IN_CALL, Event.LOST): State.RECONNECTING,
    (State.RECONNECTING, Event.LOST): State.RECONNECTING,
}

# Which outcomes each state may end with: a call nobody joined cannot be "done", and a call
# that never started cannot be "dropped".
_ENDINGS: dict[State, frozenset[Outcome]] = {
    State.SCHEDULED: frozenset({Outcome.NO_SHOW, Outcome.CANCELLED}),
    State.WAITING: frozenset({Outcome.NO_SHOW, Outcome.CANCELLED}),
    **{
        s: frozenset({Outcome.DONE, Outcome.FOLLOW_UP, Outcome.DROPPED, Outcome.NO_SHOW})
        for s in ACTIVE
    },
}
# What the clerk may record after a call ended (the one-tap outcome screen).
RECORDABLE = frozenset(CLERK_OUTCOMES)


class CallError(Exception):
    """A step the call's current state does not allow."""

    def __init__(self, state: State, event: Event, outcome: Outcome | None = None) -> None:
        what = f"{event.value} ({outcome.value})" if outcome else event.value
        super().__init__(f"a call that is {state.value} cannot {what}")
        self.state = state
        self.event = event


@dataclass(frozen=True)
class Transition:
    """One step of a call, kept for statistics."""

    event: Event
    before: State
    after: State
    at: datetime
    outcome: Outcome | None = None


def step(state: State, event: Event, at: datetime, outcome: Outcome | None = None) -> Transition:
    """The transition `event` causes in `state`, or CallError when it is not allowed."""
    if event is Event.END:
        if outcome is None or outcome not in _ENDINGS.get(state, frozenset()):
            raise CallError(state, event, outcome)
        return Transition(event, state, State.ENDED, at, outcome)
    if event is Event.RECORD:
        if state is not State.ENDED or outcome not in RECORDABLE:
            raise CallError(state, event, outcome)
        return Transition(event, state, State.ENDED, at, outcome)
    if outcome is not None:
        raise CallError(state, event, outcome)
    after = _NEXT.get((state, event))
    if after is None:
        raise CallError(state, event)
    return Transition(event, state, after, at)


def allowed(state: State, event: Event, outcome: Outcome | None = None) -> bool:
    """Whether `event` may happen in `state`."""
    try:
        step(state, event, datetime.min, outcome)
    except CallError:
        return False
    return True


# A citizen this late who has not even entered the lobby may be closed as a no-show.
NO_SHOW_AFTER = timedelta(minutes=5)


def may_close_as_no_show(state: State, start: datetime, now: datetime) -> bool:
    """Whether the clerk may close an appointment as no-show now."""
    return state is State.SCHEDULED and now >= start + NO_SHOW_AFTER


def no_show_too_early(state: State, start: datetime, now: datetime) -> bool:
    """Whether closing as no-show is premature: nobody was let in yet and the citizen may still
    come (the hub's clock decides, not the appliance's)."""
    return state in (State.SCHEDULED, State.WAITING) and now < start + NO_SHOW_AFTER
