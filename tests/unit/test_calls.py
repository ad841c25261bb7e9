"""The call domain: lifecycle, join window, wait estimates, TURN credentials."""

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from hub.calls.estimate import Reason, estimate
from hub.calls.ice import ice_servers, turn_credential
from hub.calls.lifecycle import (
    CallError,
    Event,
    Outcome,
    State,
    allowed,
    may_close_as_no_show,
    step,
)
from hub.calls.window import JoinWindow, Refusal

T = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


def walk(*events):
    state = State.SCHEDULED
    for event in events:
        outcome = None
        if isinstance(event, tuple):
            event, outcome = event
        state = step(state, event, T, outcome).after
    return state


def test_a_normal_call_walks_from_scheduled_to_ended():
    moves = [Event.JOIN, Event.ADMIT, Event.OFFER, Event.CONNECTED]
    assert walk(*moves) is State.IN_CALL
    end = step(State.IN_CALL, Event.END, T, Outcome.DONE)
    assert (end.before, end.after, end.outcome, end.at) == (
        State.IN_CALL,
        State.ENDED,
        Outcome.DONE,
        T,
    )


def test_reconnecting_returns_to_the_call():
    state = walk(Event.JOIN, Event.ADMIT, Event.OFFER, Event.CONNECTED, Event.LOST)
    assert state is State.RECONNECTING
    assert step(state, Event.LOST, T).after is State.RECONNECTING
    assert step(state, Event.CONNECTED, T).after is State.IN_CALL
    assert step(state, Event.END, T, Outcome.DROPPED).after is State.ENDED


def test_leaving_the_lobby_goes_back_to_scheduled():
    assert walk(Event.JOIN, Event.LEAVE) is State.SCHEDULED
    assert walk(Event.JOIN, Event.JOIN) is State.WAITING


@pytest.mark.parametrize(
    ("state", "event", "outcome"),
    [
        (State.SCHEDULED, Event.ADMIT, None),  # nobody to admit
        (State.SCHEDULED, Event.CONNECTED, None),
        (State.WAITING, Event.OFFER, None),  # no signalling before admission
        (State.IN_CALL, Event.ADMIT, None),
        (State.ENDED, Event.JOIN, None),  # an ended call stays ended
        (State.ENDED, Event.END, Outcome.DONE),
        (State.WAITING, Event.END, Outcome.DONE),  # nobody talked: not "done"
        (State.SCHEDULED, Event.END, Outcome.DROPPED),
        (State.IN_CALL, Event.END, Outcome.CANCELLED),
        (State.IN_CALL, Event.END, None),  # an end needs an outcome
        (State.WAITING, Event.ADMIT, Outcome.DONE),  # only an end has one
        (State.IN_CALL, Event.RECORD, Outcome.DONE),  # recorded after hanging up, not before
        (State.ENDED, Event.RECORD, Outcome.CANCELLED),  # the clerk records only their own
        (State.ENDED, Event.RECORD, Outcome.DROPPED),
        (State.WAITING, Event.END, Outcome.FOLLOW_UP),  # nobody talked: nothing to follow up
    ],
)
def test_steps_the_state_does_not_allow_are_refused(state, event, outcome):
    assert not allowed(state, event, outcome)
    with pytest.raises(CallError, match=state.value):
        step(state, event, T, outcome)


def test_every_state_but_ended_can_end_somehow():
    for state in State:
        endings = [o for o in Outcome if allowed(state, Event.END, o)]
        assert (endings == []) == (state is State.ENDED), state


def test_join_window_opens_before_the_start_and_closes_after_the_grace():
    window = JoinWindow(before=15 * MIN, grace=10 * MIN)
    start, end = T, T + 20 * MIN
    assert window.check(start, end, start - 16 * MIN) is Refusal.TOO_EARLY
    assert window.check(start, end, start - 15 * MIN) is None
    assert window.check(start, end, end + 10 * MIN) is None
    assert window.check(start, end, end + 10 * MIN + timedelta(seconds=1)) is Refusal.TOO_LATE
    assert window.opens(start) == start - 15 * MIN


def test_a_free_clerk_admits_at_the_appointments_time():
    wait = estimate(now=T, start=T + 7 * MIN, counter_online=True, current_call_end=None, ahead=[])
    assert (wait.position, wait.minutes, wait.reason) == (1, 7, Reason.NOT_YET_TIME)
    late = estimate(now=T, start=T - 3 * MIN, counter_online=True, current_call_end=None, ahead=[])
    assert (late.minutes, late.reason) == (0, Reason.CLERK_READY)


def test_a_busy_clerk_and_people_ahead_add_up():
    wait = estimate(
        now=T,
        start=T,
        counter_online=True,
        current_call_end=T + timedelta(minutes=4, seconds=10),
        ahead=[10 * MIN, 15 * MIN],
    )
    assert (wait.position, wait.minutes, wait.reason) == (3, 30, Reason.CLERK_BUSY)


def test_nobody_at_the_counter_means_no_number():
    wait = estimate(now=T, start=T, counter_online=False, current_call_end=None, ahead=[5 * MIN])
    assert (wait.position, wait.minutes, wait.reason) == (2, None, Reason.COUNTER_OFFLINE)


def test_turn_credentials_follow_coturns_shared_secret_scheme():
    expires = T + timedelta(hours=2)
    username, password = turn_credential("s3cret", "call-1", expires)
    assert username == f"{int(expires.timestamp())}:call-1"
    expected = hmac.new(b"s3cret", username.encode(), hashlib.sha1).digest()
    assert base64.b64decode(password) == expected
    assert turn_credential("other", "call-1", expires)[1] != password


def test_ice_servers_carry_turn_only_with_a_secret():
    common = {"subject": "c", "now": T, "ttl": timedelta(minutes=90)}
    servers = ice_servers(
        stun_urls=["stun:stun.example:3478"],
        turn_urls=["turn:turn.example:3478", "turns:turn.example:5349"],
        turn_secret="k",
        **common,
    )
    assert servers[0] == {"urls": ["stun:stun.example:3478"]}
    assert servers[1]["urls"] == ["turn:turn.example:3478", "turns:turn.example:5349"]
    expiry = int(servers[1]["username"].split(":")[0])
    assert expiry == int((T + timedelta(minutes=90)).timestamp())
    assert ice_servers(stun_urls=[], turn_urls=["turn:x"], turn_secret=None, **common) == []


@pytest.mark.parametrize("outcome", [Outcome.DONE, Outcome.FOLLOW_UP, Outcome.NO_SHOW])
def test_after_hanging_up_the_clerk_records_and_may_correct_the_outcome(outcome):
    move = step(State.ENDED, Event.RECORD, T, outcome)
    assert (move.before, move.after, move.outcome) == (State.ENDED, State.ENDED, outcome)
    assert walk(Event.JOIN, Event.ADMIT, (Event.END, Outcome.FOLLOW_UP)) is State.ENDED


def test_only_a_citizen_who_never_joined_and_is_five_minutes_late_can_be_closed_as_no_show():
    start = T
    assert not may_close_as_no_show(State.SCHEDULED, start, start + 4 * MIN)
    assert may_close_as_no_show(State.SCHEDULED, start, start + 5 * MIN)
    assert not may_close_as_no_show(State.WAITING, start, start + 30 * MIN)  # they are here
    assert not may_close_as_no_show(State.ENDED, start, start + 30 * MIN)
