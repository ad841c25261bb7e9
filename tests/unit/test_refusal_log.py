"""Refused realtime events are logged as a few lines with counts, not one line each."""

from __future__ import annotations


def test_refusals_are_logged_once_per_kind_and_interval_with_a_count(caplog):
    import logging

    from hub.realtime.guard import RefusalLog

    now = [0.0]
    refusals = RefusalLog(interval=10, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="hub.realtime"):
        logged = [refusals.log("rate_limited", "/citizen x", "slow down") for _ in range(399)]
        logged.append(refusals.log("not_admitted", "/citizen x", "wait"))
        now[0] = 10.5
        logged.append(refusals.log("rate_limited", "/citizen x", "slow down"))
    assert logged.count(True) == 3
    assert len(caplog.messages) == 3
    assert "and 398 more" in caplog.messages[-1]
