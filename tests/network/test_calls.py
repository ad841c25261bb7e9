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


@pytest.fixture
def net_with_kiosk(netlab, sqlite_store, serve_hub, tmp_path):
    if not Path(TURNSERVER).exists():
        _missing(f"no coturn at {TURNSERVER} (apt install coturn)")
    net = scenarios.call_network(netlab, sqlite_store, serve_hub, tmp_path, kiosk=True)
    yield net
    net.stop()


def test_the_hub_away_for_30_s_media_goes_on_both_screens_say_so_and_resync(
    net_with_kiosk, playwright_driver
):
    net = net_with_kiosk
    result = scenarios.hub_away(net, playwright_driver)
    # Media goes on through TURN all along: the citizen decodes the clerk's video throughout.
    assert result["frames_while_away"] >= 15 * 28, result
    assert result["longest_stall_s"] <= 2, result
    # Within Engine.IO's heartbeat (5 + 5 s) both screens say the server is away and that the
    # call goes on; neither leaves the call.
    assert result["citizen_away_after_s"] is not None, result
    assert result["citizen_away_after_s"] <= 12, result
    assert "Gespräch läuft weiter" in result["citizen_away_text"], result
    assert result["kiosk_away_after_s"] is not None, result
    assert result["kiosk_away_after_s"] <= 12, result
    assert "Gespräch läuft weiter" in result["kiosk_away_text"], result
    assert result["screens"] == [("in_call", "call")], result
    # Back: both reconnect, nothing is rebuilt (the media never stopped), and page, kiosk and
    # hub agree the call is under way.
    assert result["resync_s"] < 10, result
    assert result["offers"] == 0, result
    assert result["after"]["citizen"]["call"] == "in_call", result
    assert result["after"]["kiosk"]["media"] == "", result  # no "connection lost"
    assert result["state"] == "in_call", result["steps"]
    assert result["appliance_media"] == "connected", result
    assert result["frames_after_2s"] >= 20, result
