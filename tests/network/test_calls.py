"""Calls across the test network (tests/network/scenarios.py): relayed by TURN over UDP when
there is no direct path, over TCP when the citizen's network blocks UDP."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.network import scenarios
from tests.support.browser import _missing
from tests.support.coturn import TURNSERVER


@pytest.fixture
def net(netlab, sqlite_store, serve_hub, tmp_path):
    if not Path(TURNSERVER).exists():
        _missing(f"no coturn at {TURNSERVER} (apt install coturn)")
    net = scenarios.call_network(netlab, sqlite_store, serve_hub, tmp_path)
    yield net
    net.stop()


def test_without_a_direct_path_the_call_is_relayed_by_turn_over_udp(net, playwright_driver):
    result = scenarios.turn_udp(net, playwright_driver)
    path = result["path"]
    # One end of the connection in use is coturn's relay: the firewall leaves no other way.
    assert "relay" in (path["local"], path["remote"]), result
    assert path["relay_protocol"] in (None, "udp"), result
    assert result["frames_in_2s"] >= 20, result  # the clerk's video plays at the citizen
    assert result["setup_s"] < 15, result
    # coturn refused to relay to the counter's private address it was offered.
    assert net.counter.address in result["turn_denied"], result


def test_with_udp_blocked_the_citizen_reaches_turn_over_tcp(net, playwright_driver):
    result = scenarios.turn_tcp(net, playwright_driver)
    path = result["path"]
    assert path["local"] == "relay" and path["relay_protocol"] == "tcp", result
    assert result["frames_in_2s"] >= 20, result
    assert result["setup_s"] < 15, result
