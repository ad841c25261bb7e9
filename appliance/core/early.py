"""Signals for a call the appliance does not hold yet, kept for a while.

After a restart the citizen's offer can overtake `hello`, and with several hub processes
behind Redis nothing orders messages from different senders; such signals are applied once
`hello` or `admit` hands the call over.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from protocol.signalling import ApplianceSignal

EARLY_SIGNAL_S = 15.0
EARLY_SIGNALS_PER_CALL = 64
EARLY_CALLS = 4


class EarlySignals:
    """Bounded in time, in signals per call and in calls."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._kept: dict[str, list[tuple[float, ApplianceSignal]]] = {}

    def _fresh(self, at: float) -> bool:
        return self._clock() - at < EARLY_SIGNAL_S

    def keep(self, signal: ApplianceSignal) -> None:
        """Keep a signal (dropped when the bounds are reached)."""
        self._kept = {
            key: kept for key, kept in self._kept.items() if kept and self._fresh(kept[-1][0])
        }
        appointment = signal.appointment
        if appointment not in self._kept and len(self._kept) >= EARLY_CALLS:
            return
        kept = self._kept.setdefault(appointment, [])
        if signal.type == "offer":
            kept.clear()  # a new offer makes what came before it useless
        if len(kept) < EARLY_SIGNALS_PER_CALL:
            kept.append((self._clock(), signal))

    def take(self, appointment: str) -> list[ApplianceSignal]:
        """The fresh signals kept for a call, in order; forgotten here."""
        return [signal for at, signal in self._kept.pop(appointment, []) if self._fresh(at)]
