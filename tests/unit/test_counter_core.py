"""The counter core's own rules that need no hub: signals kept for a call not held yet, and the
clerk's draft notes (both bounded, against a runaway sender or page)."""

from __future__ import annotations

import uuid

import pytest

from appliance.core.drafts import MAX_DRAFTS, DraftRefused, Drafts
from appliance.core.early import EARLY_CALLS, EARLY_SIGNAL_S, EARLY_SIGNALS_PER_CALL, EarlySignals
from protocol.signalling import ApplianceSignal


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def candidate(appointment: str, n: int) -> ApplianceSignal:
    return ApplianceSignal.model_validate(
        {
            "appointment": appointment,
            "type": "candidate",
            "candidate": {"candidate": f"candidate:{n} 1 udp 1 10.0.0.1 {n} typ host"},
        }
    )


def offer(appointment: str) -> ApplianceSignal:
    return ApplianceSignal(appointment=appointment, type="offer", sdp="v=0")


def test_early_signals_come_back_in_order_once_and_only_while_fresh():
    clock = Clock()
    early = EarlySignals(clock)
    call = str(uuid.uuid4())
    early.keep(offer(call))
    early.keep(candidate(call, 1))
    assert [s.type for s in early.take(call)] == ["offer", "candidate"]
    assert early.take(call) == []  # handed over once
    early.keep(offer(call))
    clock.now += EARLY_SIGNAL_S + 1
    assert early.take(call) == []  # too old to belong to the call still


def test_a_new_offer_drops_what_came_before_it():
    early = EarlySignals(Clock())
    call = str(uuid.uuid4())
    early.keep(offer(call))
    early.keep(candidate(call, 1))
    early.keep(offer(call))
    assert [s.type for s in early.take(call)] == ["offer"]


def test_early_signals_are_bounded_per_call_and_in_calls():
    early = EarlySignals(Clock())
    calls = [str(uuid.uuid4()) for _ in range(EARLY_CALLS + 2)]
    for call in calls:
        for n in range(EARLY_SIGNALS_PER_CALL + 10):
            early.keep(candidate(call, n))
    kept = [len(early.take(call)) for call in calls]
    assert kept == [EARLY_SIGNALS_PER_CALL] * EARLY_CALLS + [0, 0]


def test_drafts_only_for_our_appointments_and_at_most_max():
    drafts = Drafts()
    ours = [str(uuid.uuid4()) for _ in range(MAX_DRAFTS + 1)]
    with pytest.raises(DraftRefused) as refused:
        drafts.keep(str(uuid.uuid4()), "x", ours)
    assert refused.value.code == "unknown_appointment"
    for appointment in ours[:MAX_DRAFTS]:
        drafts.keep(appointment, "Ausweis fehlt", ours)
    with pytest.raises(DraftRefused) as refused:
        drafts.keep(ours[-1], "x", ours)
    assert refused.value.code == "too_many_drafts"
    drafts.keep(ours[-1], "x", ours[50:])  # the first 50 left the day: their drafts go
    assert len(drafts.kept()) == MAX_DRAFTS - 50 + 1
    drafts.forget(ours[-1])
    assert drafts.get(ours[-1]) == ""
    drafts.forget()
    assert drafts.kept() == {}


def test_the_core_handles_every_event_the_hub_sends_an_appliance():
    """The hub link hands each event to `Counter.on_<event>`: a new event in the protocol's
    table without its handler would fail here, not at a counter."""
    from appliance.core import Counter
    from protocol.appliance import NAMESPACE
    from protocol.events import names

    missing = sorted(e for e in names(NAMESPACE, "to_client") if not hasattr(Counter, f"on_{e}"))
    assert missing == []
