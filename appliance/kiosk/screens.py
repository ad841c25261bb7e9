"""Which screen the kiosk shows, from the appliance's state: one obvious place at a time."""

from __future__ import annotations

from enum import StrEnum


class Screen(StrEnum):
    """The kiosk's screens."""

    OFFLINE = "offline"  # the hub is unreachable and no call is under way
    REFUSED = "refused"  # the hub refuses this appliance's credential: IT must enrol it again
    ENROLMENT = "enrolment"  # waiting for IT's approval (claim code), or its token refused
    SIGN_IN = "sign_in"
    LOCKED = "locked"
    DAY = "day"  # today's appointments and the lobby
    CALL = "call"
    OUTCOME = "outcome"  # after hanging up: how did it go?


def choose(
    *,
    hub_online: bool,
    signed_in: bool,
    locked: bool,
    in_call: bool,
    to_record: bool,
    hub_refused: bool = False,
    enrolling: bool = False,
) -> Screen:
    """A call's media flows peer to peer, so a call stays on screen while the hub is away
    (with a warning); everything else needs the hub."""
    if in_call:
        return Screen.LOCKED if locked else Screen.CALL
    if enrolling:
        return Screen.ENROLMENT
    if hub_refused:
        return Screen.REFUSED
    if not hub_online:
        return Screen.OFFLINE
    if not signed_in:
        return Screen.SIGN_IN
    if locked:
        return Screen.LOCKED
    if to_record:
        return Screen.OUTCOME
    return Screen.DAY
