"""Signalling benchmark: relay latency at a fixed rate, the rate one process sustains, and how
many idle lobby connections one hub process holds (with its memory per connection).

Writes bench/results/signalling.json with relay_p50_ms, relay_p99_ms, max_connections_per_process,
memory_per_connection_kib (and the figures behind them).
Run: .venv/bin/python bench/signalling.py  (needs PostgreSQL; see BUERGERAMT_BENCH_POSTGRES_URL)

Clients are python-socketio AsyncClients in this process, on the same two cores as the hub, so
the latencies include the load generator's own scheduling; the baseline (an acknowledged no-op
round trip measured in the same run) shows what the machine gives any message.
"""

from __future__ import annotations

import asyncio
import gc
import os
import resource
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import socketio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Hub, ScratchPostgres, percentile, prepare_counters, write_results
from hub.booking.timezone import BERLIN

START = datetime(2026, 3, 2, 9, 0, tzinfo=BERLIN)
CALLS = int(os.environ.get("CALLS", "100"))  # concurrent calls for the relay measurement
RATE = 1000  # messages per second, the fixed rate
SECONDS = float(os.environ.get("SECONDS", "20"))  # per round at the fixed rate
RATE_STEPS = [1000, 1500, 2000, 3000, 4000]  # stops at the first rate the hub cannot keep
IDLE_TARGET = int(os.environ.get("IDLE_TARGET", "5000"))
PASSWORD = "bench-password-1"
CANDIDATE = "candidate:1 1 udp 2122260223 192.0.2.1 {seq} typ host"


def hub_env(**extra: str) -> dict[str, str]:
    """A single hub process whose clock stands just before the appointments."""
    return {
        "clock_start": (START - timedelta(minutes=5)).isoformat(),
        "rate_limit_enabled": "false",
        "signal_rate_per_second": "1000",
        "signal_burst": "1000",
        "mail_poll_seconds": "3600",
        # 5000 clients connect from one address here: the handshake limits (issue 12) guard a
        # real hub against one address opening hundreds at once.
        "realtime_pending_per_address": "1000",
        "realtime_pending_total": "10000",
        **extra,
    }


def rss_kib(pid: int) -> int:
    """Resident memory of a process."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def connect(url: str, namespace: str, auth: dict, on: dict | None = None):
    client = socketio.AsyncClient(reconnection=False)
    for event, handler in (on or {}).items():
        client.on(event, handler, namespace=namespace)
    await client.connect(
        url, namespaces=[namespace], auth=auth, transports=["websocket"], wait_timeout=30
    )
    return client


async def relay(url: str, data: dict) -> dict:
    """Set up CALLS calls in progress, then relay candidates citizen → appliance at each rate."""
    sent: dict[int, float] = {}
    latencies: list[float] = []
    trace: list[tuple[float, float]] = []

    async def received(message: dict) -> None:
        seq = int(message["candidate"]["candidate"].split()[5])
        at = sent.pop(seq, None)
        if at is not None:  # None: arrived after its round was closed (counted as lost)
            latencies.append(time.perf_counter() - at)
            if os.environ.get("TRACE"):
                trace.append((at, time.perf_counter() - at))

    pairs = []
    for token, counter, appointment in data["tokens"][:CALLS]:
        clerk = await connect(
            url, "/appliance", {"device": data["credentials"][counter]}, {"signal": received}
        )
        reply = await clerk.call(
            "sign_in", {"username": "clerk", "password": PASSWORD}, namespace="/appliance"
        )
        assert reply["ok"], reply
        page = await connect(url, "/citizen", {"join": token})
        reply = await clerk.call("admit", {"appointment": appointment}, namespace="/appliance")
        assert reply["ok"], reply
        pairs.append((clerk, page))

    # The load generator's own collector pauses must not count as the hub's latency.
    gc.collect()
    gc.freeze()
    gc.set_threshold(5000, 20, 1000)

    # Baseline: an acknowledged round trip that the hub answers at once (an unknown event).
    baseline = []
    for _ in range(300):
        t0 = time.perf_counter()
        await pairs[0][1].call("ping", {}, namespace="/citizen")
        baseline.append((time.perf_counter() - t0) * 1000)

    seq = 0

    async def round_at(rate: int, seconds: float) -> dict:
        """Send `rate` candidates per second for `seconds`, spread over the calls."""
        nonlocal seq
        latencies.clear()
        trace.clear()
        count = int(rate * seconds)
        started = time.perf_counter()
        for n in range(count):
            delay = started + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            seq += 1
            sent[seq] = time.perf_counter()
            candidate = {"candidate": CANDIDATE.format(seq=seq), "sdpMid": "0", "sdpMLineIndex": 0}
            await pairs[n % len(pairs)][1].emit(
                "signal", {"type": "candidate", "candidate": candidate}, "/citizen"
            )
        achieved = count / (time.perf_counter() - started)
        await asyncio.sleep(1.0)
        late = len(sent)  # not arrived a second after the round: the hub fell behind
        sent.clear()
        ms = [v * 1000 for v in latencies]
        result = {
            "rate_per_s": rate,
            "sent_per_s": round(achieved),
            "delivered": len(ms),
            "late": late,
            "p50_ms": round(percentile(ms, 50), 2) if ms else None,
            "p99_ms": round(percentile(ms, 99), 2) if ms else None,
            "max_ms": round(max(ms), 1) if ms else None,
        }
        print(result, flush=True)
        if trace:
            worst = sorted(trace, key=lambda t: -t[1])[:10]
            print(
                "  worst (s into round, ms):",
                [(round(t - started, 3), round(v * 1000, 1)) for t, v in worst],
            )
        return result

    await round_at(RATE, 3)  # warm-up, not kept
    # The machine is shared and noisy: three rounds at the fixed rate, the median one reported.
    fixed = sorted([await round_at(RATE, SECONDS) for _ in range(3)], key=lambda r: r["p99_ms"])
    steps = {}
    for rate in RATE_STEPS[1:]:
        steps[rate] = await round_at(rate, 5)
        if steps[rate]["p99_ms"] is None or steps[rate]["p99_ms"] > 200:
            break  # saturated: higher rates only queue up more
    for clerk, page in pairs:
        await page.disconnect()
        await clerk.disconnect()
    return {
        "fixed_rounds": fixed,
        "steps": steps,
        "baseline_p50_ms": round(percentile(baseline, 50), 2),
    }


async def idle(url: str, data: dict, pid: int) -> dict:
    """Open lobby connections in batches until IDLE_TARGET; memory per connection from RSS."""
    tokens = data["tokens"][CALLS : CALLS + IDLE_TARGET]
    await asyncio.sleep(2)
    before = rss_kib(pid)
    clients = []
    failures = 0
    started = time.perf_counter()
    for first in range(0, len(tokens), 100):
        batch = tokens[first : first + 100]
        results = await asyncio.gather(
            *(connect(url, "/citizen", {"join": t}) for t, _, _ in batch),
            return_exceptions=True,
        )
        for r in results:
            if isinstance(r, BaseException):
                failures += 1
            else:
                clients.append(r)
        if failures > 50:
            break
    connect_s = time.perf_counter() - started
    await asyncio.sleep(5)  # let lobby broadcasts settle
    alive = sum(1 for c in clients if c.connected)
    after = rss_kib(pid)
    # The hub still answers promptly with all of them connected.
    probe = clients[0]
    t0 = time.perf_counter()
    await probe.call("ping", {}, namespace="/citizen")
    probe_ms = (time.perf_counter() - t0) * 1000
    for first in range(0, len(clients), 200):
        await asyncio.gather(*(c.disconnect() for c in clients[first : first + 200]))
    return {
        "connected": alive,
        "failures": failures,
        "connect_seconds": round(connect_s, 1),
        "rss_before_kib": before,
        "rss_after_kib": after,
        "memory_per_connection_kib": round((after - before) / max(alive, 1), 1),
        "ack_round_trip_with_all_connected_ms": round(probe_ms, 2),
    }


def main() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # the hub inherits it
    scratch = ScratchPostgres()
    hub = None
    try:
        store, _, data = prepare_counters(scratch.url, 100, CALLS + IDLE_TARGET, START, PASSWORD)
        store.dispose()
        hub = Hub(scratch.url, **hub_env())
        relayed = asyncio.run(relay(hub.url, data))
        idled = asyncio.run(idle(hub.url, data, hub.process.pid))
    finally:
        if hub is not None:
            hub.stop()
        scratch.drop()
    fixed = relayed["fixed_rounds"][1]  # the median of three
    rounds = [*relayed["fixed_rounds"], *relayed["steps"].values()]

    def best(p99_limit: float) -> int:
        ok = [
            r["rate_per_s"]
            for r in rounds
            if r["p99_ms"] is not None
            and r["p99_ms"] < p99_limit
            and r["late"] == 0
            and r["sent_per_s"] >= 0.95 * r["rate_per_s"]
        ]
        return max(ok, default=0)

    write_results(
        "signalling",
        {
            "relay_p50_ms": fixed["p50_ms"],
            "relay_p99_ms": fixed["p99_ms"],
            "relay_rate_per_s": RATE,
            # The highest rate tried that one process relays with p99 under 20 ms, and the
            # highest it keeps up with at all (nothing late, p99 under 200 ms).
            "max_relay_rate_p99_under_20ms_per_s": best(20),
            "max_relay_rate_keeping_up_per_s": best(200),
            "baseline_ack_round_trip_p50_ms": relayed["baseline_p50_ms"],
            "relay_p50_vs_baseline": round(fixed["p50_ms"] / relayed["baseline_p50_ms"], 2),
            "max_connections_per_process": idled["connected"],
            "memory_per_connection_kib": idled["memory_per_connection_kib"],
        },
        setup={
            "calls": CALLS,
            "seconds_per_round_at_fixed_rate": SECONDS,
            "database": "postgresql",
            "processes": 1,
            "redis": False,
        },
        fixed_rate_rounds=relayed["fixed_rounds"],
        rate_steps=list(relayed["steps"].values()),
        idle=idled,
    )


if __name__ == "__main__":
    main()
