"""Fleet heartbeats: one hub process, 500 simulated appliances (python-socketio clients on the
/appliance namespace, devices made directly in the database) each sending `heartbeat` every
10 s. Measures the hub process's CPU share (its CPU seconds from /proc/<pid>/stat over the wall
seconds of the window) and the heartbeats' acknowledgement round trip.

    python -m bench.fleet [--appliances 500] [--every 10] [--seconds 60] [--processes 4]
    python -m bench.fleet --enrol-only [--enrolments 50]

Also `enrol_50_s` (bench/enrolment.py): 50 appliances enrolled end to end with one batch token
and approved over the HTTP API, from the first request to the 50th connected; `--enrol-only`
measures just that and keeps the heartbeat numbers already in the file.

The clients run in several processes (a 2-core machine cannot drive 500 clients from one
Python process without their own delays entering the round trip); their CPU is not the hub's.
Writes bench/results/fleet.json. Needs PostgreSQL (BUERGERAMT_BENCH_POSTGRES_URL).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import random
import time
from datetime import UTC, datetime
from typing import Any

from bench.common import (
    RESULTS,
    Hub,
    ScratchPostgres,
    percentile,
    prepare_counters,
    write_results,
)

TARGET_CPU_SHARE = 0.25
TARGET_P99_MS = 50.0
WARMUP_S = 12.0
CONNECT_GAP_S = 0.04  # per client process: 100 connects a second with four of them


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, in seconds."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def heartbeat(uptime: int) -> dict[str, Any]:
    """A plausible heartbeat, validated as the appliance would send it."""
    from protocol.appliance import DevicesHealth, Heartbeat

    return Heartbeat(
        version="0.1.0",
        uptime_s=uptime,
        cpu_temp_c=round(random.uniform(40, 60), 1),
        load=round(random.uniform(0, 2), 2),
        disk_free_mb=random.randint(1000, 30000),
        devices=DevicesHealth(camera="ok", microphone="ok", speaker="ok", scanner="absent"),
        rtt_ms=round(random.uniform(1, 10), 1),
    ).model_dump(mode="json")


async def appliance(
    url: str, credential: str, every: float, stop: float, rtts: list[tuple[float, float]]
) -> bool:
    """Connect as one appliance and heartbeat until `stop` (wall clock)."""
    import socketio

    sio = socketio.AsyncClient(reconnection=False)
    for attempt in range(5):  # as the daemon, which retries until the hub answers
        try:
            await sio.connect(
                url,
                namespaces=["/appliance"],
                auth={"device": credential, "protocol": 1},
                transports=["websocket"],
                wait_timeout=30,
            )
            break
        except Exception as exc:
            if os.environ.get("BENCH_DEBUG"):
                print(f"connect failed ({attempt}):", repr(exc), flush=True)
            await sio.disconnect()  # closes its HTTP session
            await asyncio.sleep(1 + random.random())
    else:
        return False
    started = time.monotonic()
    await asyncio.sleep(random.uniform(0, every))  # appliances start at any moment
    while time.time() < stop:
        sent = time.perf_counter()
        reply = await sio.call(
            "heartbeat",
            heartbeat(int(time.monotonic() - started)),
            namespace="/appliance",
            timeout=30,
        )
        if isinstance(reply, dict) and reply.get("ok"):
            rtts.append((time.time(), (time.perf_counter() - sent) * 1000))
        await asyncio.sleep(max(0.0, every - (time.perf_counter() - sent)))
    await sio.disconnect()
    return True


def client_process(url: str, credentials: list[str], every: float, stop: float, out: Any) -> None:
    """One process's share of the appliances; puts (connected, rtts) on `out`."""

    async def run() -> tuple[int, list[tuple[float, float]]]:
        rtts: list[tuple[float, float]] = []
        tasks = []
        for credential in credentials:  # connect a few at a time, as a fleet coming up
            tasks.append(asyncio.ensure_future(appliance(url, credential, every, stop, rtts)))
            await asyncio.sleep(CONNECT_GAP_S)
        done = await asyncio.gather(*tasks)
        return sum(done), rtts

    out.put(asyncio.run(run()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--appliances", type=int, default=500)
    parser.add_argument("--every", type=float, default=10.0, help="heartbeat interval, s")
    parser.add_argument("--seconds", type=float, default=60.0, help="measured window, s")
    parser.add_argument("--processes", type=int, default=4, help="client processes")
    parser.add_argument("--enrolments", type=int, default=50, help="appliances to enrol")
    parser.add_argument("--enrol-only", action="store_true", help="keep the heartbeat numbers")
    args = parser.parse_args()

    enrolled = measure_enrolment(args.enrolments)
    if args.enrol_only:
        kept = json.loads((RESULTS / "fleet.json").read_text())
        kept.pop("machine", None), kept.pop("date", None)
        metrics = {**kept.pop("metrics"), **enrolled}
        kept["setup"] = {**kept.get("setup", {}), **ENROLMENT_SETUP}
        write_results("fleet", metrics, **kept)
        return
    db = ScratchPostgres()
    try:
        _, _, data = prepare_counters(db.url, args.appliances, 0, datetime.now(UTC), "bench-pw")
        credentials = list(data["credentials"].values())
        # Every simulated appliance comes from 127.0.0.1: lift the per-address limit of
        # handshakes under way, which real appliances (one address each) never meet.
        hub = Hub(db.url, rate_limit_enabled="false", realtime_pending_per_address="1000")
        try:
            metrics = measure(hub, credentials, args)
        finally:
            hub.stop()
    finally:
        db.drop()
    write_results(
        "fleet",
        {**metrics, **enrolled},
        setup={
            **ENROLMENT_SETUP,
            "appliances": args.appliances,
            "heartbeat_every_s": args.every,
            "window_s": args.seconds,
            "client_processes": args.processes,
            "database": "postgresql",
            "hub": "one `buergeramt hub` process (gevent)",
            "note": "clients in separate processes on the same 2-core machine; hub CPU from "
            "/proc/<pid>/stat over the window; round trip from emit to acknowledgement",
        },
        targets={"hub_cpu_share": TARGET_CPU_SHARE, "heartbeat_p99_ms": TARGET_P99_MS},
    )


ENROLMENT_SETUP = {
    "enrolment": "N keys in one client process (aiohttp, python-socketio): signed enrolment "
    "request with one batch token, IT lists /api/v1/fleet/pending and approves each by claim "
    "code (HTTP Basic, argon2 per request), challenge + access token, /appliance until hello; "
    "a pending appliance asks again every 5 s ± jitter, as the daemon does",
}


def measure_enrolment(appliances: int) -> dict[str, Any]:
    """enrol_N_s and its split, on a scratch database and a hub of its own."""
    from bench.enrolment import enrol_batch, prepare

    db = ScratchPostgres()
    try:
        counters, token = prepare(db.url, appliances)
        hub = Hub(db.url, rate_limit_enabled="false", realtime_pending_per_address="1000")
        try:
            return enrol_batch(hub.url, counters, token)
        finally:
            hub.stop()
    finally:
        db.drop()


def measure(hub: Hub, credentials: list[str], args: argparse.Namespace) -> dict[str, Any]:
    """Run the clients; the window starts once all are connected and warmed up."""
    ramp = len(credentials) / args.processes * CONNECT_GAP_S + 10  # staggered connects, per process
    window_start = time.time() + ramp + WARMUP_S
    stop = window_start + args.seconds
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    shares = [credentials[i :: args.processes] for i in range(args.processes)]
    workers = [
        ctx.Process(target=client_process, args=(hub.url, share, args.every, stop, out))
        for share in shares
    ]
    for worker in workers:
        worker.start()
    time.sleep(max(0.0, window_start - time.time()))
    cpu0, wall0 = cpu_seconds(hub.process.pid), time.monotonic()
    time.sleep(max(0.0, stop - time.time()))
    cpu1, wall1 = cpu_seconds(hub.process.pid), time.monotonic()
    results = [out.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(30)
    connected = sum(n for n, _ in results)
    timed = [(at, ms) for _, got in results for at, ms in got if window_start <= at <= stop]
    rtts = [ms for _, ms in timed]
    # When the slow ones came, by second of the window: all client processes at once points
    # at the hub (or its database), one alone at that client process.
    slow: dict[int, list[int]] = {}
    for n, (_, got) in enumerate(results):
        for at, ms in got:
            if window_start <= at <= stop and ms > TARGET_P99_MS:
                slow.setdefault(int(at - window_start), []).append(n)
    return {
        "hub_cpu_share": round((cpu1 - cpu0) / (wall1 - wall0), 3),
        "heartbeat_p50_ms": round(percentile(rtts, 50), 2),
        "heartbeat_p99_ms": round(percentile(rtts, 99), 2),
        "heartbeat_max_ms": round(max(rtts), 2),
        "heartbeats_in_window": len(rtts),
        "heartbeats_per_s": round(len(rtts) / (wall1 - wall0), 1),
        "appliances_connected": connected,
        "heartbeats_over_target": sum(len(v) for v in slow.values()),
        "slow_seconds": {
            str(second): sorted(set(procs)) for second, procs in sorted(slow.items())[:20]
        },
    }


if __name__ == "__main__":
    main()
