"""Calls across the test network (issue 19): the scenarios of tests/network, each in a fresh
network of namespaces (tests/support/netlab.py: root, iproute2, nftables, coturn, Chromium).

Writes bench/results/network.json:
- setup_turn_udp_s, setup_turn_tcp_s: the citizen's join click to the first decoded frame of the
  clerk's video (as bench/call.py measures setup; the counter admits by itself), relayed by
  coturn over UDP (no direct path: the counter's firewall lets out only to hub and TURN), and
  over TCP (UDP dropped at the citizen's router). Medians of ROUNDS runs.
- hub_away_noticed_s: seconds into a 30 s outage of the hub's address until both screens (the
  citizen's page and the counter's kiosk) say the server is away (the later of the two);
  hub_away_resync_s: seconds after the hub's return until page, kiosk and hub agree the call goes
  on; hub_away_longest_stall_s: the longest stretch without a new decoded frame during the
  outage; hub_away_new_connections: peer connections rebuilt (0: the media was kept).

- fps_at_citizen, weak_audio_gap_ms: on a weak citizen link (150 ms round trip, 30 ms jitter,
  2 % loss each way, from the UDP impairment relay of tests/support/impair.py), frames of the
  clerk's video decoded per second at the citizen over 12 s, and the longest run of concealed
  audio there (tests/network/impaired.py defines it); both screens must call the link weak.
- bitrate_adapt_s: the citizen's link capped at 300 kbit/s each way (tc tbf) mid-call, seconds
  until the appliance's video and audio together (its aiortc senders' statistics, over the
  last second) stay under the cap; capped_video_kbit, the video's rate then;
  capped_audio_gap_ms, the longest audio gap at the citizen while capped;
  capped_audio_concealed, the share of its sound concealed then; bitrate_recover_s,
  seconds after the cap is lifted until the appliance sends more than the cap again.
- restore_after_hub_s: the hub unreachable for 20 s (25 s when last measured) and meanwhile
  the citizen's uplink down 8 s and back with a new address: seconds from the hub's return
  until frames decoded at the citizen grow again (nothing is renegotiated without the hub;
  once, media found its own way back 15.5 s after the new address).
- restore_after_path_s: the citizen's router's uplink down 10 s and back with a new address,
  seconds from the path's return until frames decoded at the citizen grow again;
  path_kiosk_lost_after_s, seconds into the cut until the kiosk says the connection is
  interrupted (sampled every 0.5 s).

A scenario is a function registered with @scenario: it gets a fresh CallNetwork and Playwright
and returns its figures; `figures` lists the metrics each adds. Other scenarios (impaired
links) add themselves the same way.
Run: sudo .venv/bin/python bench/network.py [scenario ...]   (BENCH_NETWORK_ROUNDS=3 by default;
named scenarios only, the others' figures kept from the last results)
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import write_results
from hub.store import Store
from hub.store.migrate import upgrade
from hub.store.seed import seed_defaults
from tests.network import impaired, scenarios
from tests.support.hub import ServedHub
from tests.support.netlab import Netlab, missing

ROUNDS = int(os.environ.get("BENCH_NETWORK_ROUNDS", "3"))
RESULTS = Path(__file__).resolve().parent / "results" / "network.json"

Scenario = Callable[[scenarios.CallNetwork, Any], dict[str, float]]
SCENARIOS: dict[str, tuple[Scenario, int, dict[str, Any]]] = {}


def scenario(rounds: int = ROUNDS, **network: Any) -> Callable[[Scenario], Scenario]:
    """Register a scenario: run `rounds` times, each on a network built with `network`'s
    options (call_network's keywords, e.g. kiosk=True); its figures are medians over the runs."""

    def register(fn: Scenario) -> Scenario:
        SCENARIOS[fn.__name__] = (fn, rounds, network)
        return fn

    return register


@scenario()
def turn_udp(net: scenarios.CallNetwork, playwright: Any) -> dict[str, float]:
    result = scenarios.turn_udp(net, playwright)
    assert "relay" in (result["path"]["local"], result["path"]["remote"]), result
    return {"setup_turn_udp_s": result["setup_s"]}


@scenario()
def turn_tcp(net: scenarios.CallNetwork, playwright: Any) -> dict[str, float]:
    result = scenarios.turn_tcp(net, playwright)
    assert result["path"]["relay_protocol"] == "tcp", result
    return {"setup_turn_tcp_s": result["setup_s"]}


@scenario(rounds=1, kiosk=True)
def hub_away(net: scenarios.CallNetwork, playwright: Any) -> dict[str, float]:
    result = scenarios.hub_away(net, playwright)
    noticed = [result["citizen_away_after_s"], result["kiosk_away_after_s"]]
    assert None not in noticed and result["state"] == "in_call", result
    return {
        "hub_away_noticed_s": max(noticed),
        "hub_away_resync_s": result["resync_s"],
        "hub_away_longest_stall_s": result["longest_stall_s"],
        "hub_away_new_connections": result["offers"],
    }


@scenario(kiosk=True)
def weak_link(net: scenarios.CallNetwork, playwright: Any) -> dict[str, float]:
    result = impaired.weak_link(net, playwright)
    weak = (result["citizen_quality"], result["kiosk_quality"])
    assert all(q in impaired.WEAK for q in weak) and result["connections"] == 1, result
    return {"fps_at_citizen": result["fps_at_citizen"], "weak_audio_gap_ms": result["audio_gap_ms"]}


@scenario()
def capped_link(net: scenarios.CallNetwork, playwright: Any) -> dict[str, float]:
    result = impaired.capped_link(net, playwright)
    assert result["bitrate_recover_s"] is not None, result
    return {
        "bitrate_adapt_s": result["bitrate_adapt_s"],
        "capped_video_kbit": result["video_kbit_capped"],
        "capped_audio_gap_ms": result["audio_gap_capped_ms"],
        "capped_audio_concealed": result["audio_concealed_capped"],
        "bitrate_recover_s": result["bitrate_recover_s"],
    }


@scenario(kiosk=True)
def path_change(net: scenarios.CallNetwork, playwright: Any) -> dict[str, float]:
    result = impaired.path_change(net, playwright)
    lost = [s["at"] for s in result["kiosk_said"] if s["media"]]
    assert result["restore_after_path_s"] is not None and lost, result
    assert result["state"] == "in_call" and result["notes"] == impaired.NOTES, result
    return {
        "restore_after_path_s": result["restore_after_path_s"],
        "path_kiosk_lost_after_s": lost[0],
    }


@scenario(kiosk=True)
def path_change_while_hub_away(net: scenarios.CallNetwork, playwright: Any) -> dict[str, float]:
    result = impaired.path_change_while_hub_away(net, playwright)
    assert result["restore_after_hub_s"] is not None and result["frames_without_hub_at"] is None
    assert result["state"] == "in_call" and result["notes"] == impaired.NOTES, result
    return {"restore_after_hub_s": result["restore_after_hub_s"]}


def once(fn: Scenario, network: dict[str, Any], playwright: Any) -> dict[str, float]:
    """One run on a fresh lab, database and hub."""
    workdir = Path(tempfile.mkdtemp(prefix="bench-network-"))
    hubs: list[ServedHub] = []

    def start_hub(db_url: str, host: Any = None, **env: str) -> ServedHub:
        hub = ServedHub(
            db_url, {f"BUERGERAMT_{k.upper()}": v for k, v in env.items()}, workdir, host
        )
        hubs.append(hub)
        return hub

    url = f"sqlite:///{workdir / 'hub.sqlite3'}"
    upgrade(url)
    store = Store(url)
    with store.transaction() as session:
        seed_defaults(session, without_appliance=True)
    lab = Netlab(workdir)
    try:
        net = scenarios.call_network(lab, store, start_hub, workdir, **network)
        try:
            return fn(net, playwright)
        finally:
            net.stop()
    finally:
        for hub in hubs:
            hub.stop()
        lab.close()
        store.dispose()
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    reason = missing()
    if reason is not None:
        sys.exit(f"bench/network.py: {reason}")
    from playwright.sync_api import sync_playwright

    chosen = sys.argv[1:] or list(SCENARIOS)
    unknown = set(chosen) - set(SCENARIOS)
    if unknown:
        sys.exit(f"bench/network.py: no scenario {', '.join(sorted(unknown))}")
    runs: dict[str, list[dict[str, float]]] = {}
    if chosen != list(SCENARIOS) and RESULTS.exists():  # keep the figures of the others
        runs = {k: v for k, v in json.loads(RESULTS.read_text())["runs"].items() if k in SCENARIOS}
    with sync_playwright() as playwright:
        for name in chosen:
            fn, rounds, network = SCENARIOS[name]
            runs[name] = []
            for _ in range(rounds):
                figures = once(fn, network, playwright)
                print(name, figures, flush=True)
                runs[name].append(figures)
    metrics: dict[str, float] = {}
    for results in (runs[name] for name in SCENARIOS if name in runs):
        for key in results[0]:
            metrics[key] = round(statistics.median(r[key] for r in results), 3)
    kept = [name for name in runs if name not in chosen]  # measured by an earlier run
    write_results("network", metrics, rounds=ROUNDS, runs=runs, kept_from_earlier_run=kept)


if __name__ == "__main__":
    main()
