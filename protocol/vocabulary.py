"""The words both sides use: a call's states and outcomes, and which outcomes a clerk picks.

The hub's call lifecycle (hub/calls/lifecycle.py) is built on these enums; payload models use
the Literal forms, which pydantic checks in strict mode without coercion.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal, get_args


class CallState(StrEnum):
    """Where a call stands."""

    SCHEDULED = "scheduled"
    WAITING = "waiting"
    ADMITTED = "admitted"
    CONNECTING = "connecting"
    IN_CALL = "in_call"
    RECONNECTING = "reconnecting"
    ENDED = "ended"


class Outcome(StrEnum):
    """How an ended call ended."""

    DONE = "done"
    FOLLOW_UP = "follow_up"  # talked, but the matter needs more work afterwards
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"
    DROPPED = "dropped"


# What a clerk may record or end a call with (cancelled and dropped are the hub's to decide).
ClerkOutcome = Literal["done", "follow_up", "no_show"]
CLERK_OUTCOMES: tuple[Outcome, ...] = tuple(Outcome(value) for value in get_args(ClerkOutcome))

CallStateName = Literal[
    "scheduled", "waiting", "admitted", "connecting", "in_call", "reconnecting", "ended"
]
OutcomeName = Literal["done", "follow_up", "no_show", "cancelled", "dropped"]
MediaState = Literal["connected", "disconnected"]
WaitReason = Literal["clerk_ready", "not_yet_time", "clerk_busy", "overrunning", "counter_offline"]
DeviceCheck = Literal["ready", "audio_only", "needs_help"]
