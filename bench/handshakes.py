"""Engine.IO handshake flood: what a burst of credential-free handshakes costs one hub process.

Writes bench/results/handshakes.json. Three runs of FLOOD long-polling handshakes each, against
a fresh hub process on SQLite (the database plays no part in a handshake):

- unbounded: limits raised out of reach, as before they existed (sessions live until
  Engine.IO's ping timeout, 45 s);
- one_address: the default limits, every handshake from one address (429 beyond 20 pending);
- many_addresses: the default limits, each handshake from its own address (nginx's
  X-Forwarded-For with trusted_proxies = 1), so the total limit (503 beyond 2000) decides.

For each: resident memory before, right after the flood and EXPIRY_WAIT seconds later, the
answers by status, and the flood's duration.
Run: .venv/bin/python bench/handshakes.py
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Hub, write_results

FLOOD = int(os.environ.get("FLOOD", "5000"))
CONCURRENCY = 50
EXPIRY_WAIT = 15.0  # longer than the default realtime_handshake_seconds (10) plus a sweep
RUNS: dict[str, dict[str, Any]] = {
    "unbounded": {
        "env": {
            "realtime_pending_per_address": "100000",
            "realtime_pending_total": "1000000",
            "realtime_handshake_seconds": "300",
        },
        "many_addresses": False,
    },
    "one_address": {"env": {}, "many_addresses": False},
    "many_addresses": {"env": {}, "many_addresses": True},
}


def rss_kib(pid: int) -> int:
    """Resident memory of a process."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def flood(url: str, many_addresses: bool) -> tuple[Counter[int], float]:
    """FLOOD handshakes, CONCURRENCY at a time; the answers by status and the seconds taken."""
    statuses: Counter[int] = Counter()
    numbers = iter(range(FLOOD))
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)

    async def worker(client: httpx.AsyncClient) -> None:
        for n in numbers:
            address = (
                f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}" if many_addresses else "10.9.9.9"
            )
            try:
                answer = await client.get(
                    f"{url}/socket.io/?EIO=4&transport=polling",
                    headers={"X-Forwarded-For": address},
                )
                statuses[answer.status_code] += 1
            except httpx.HTTPError:
                statuses[0] += 1

    started = time.monotonic()
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        await asyncio.gather(*(worker(client) for _ in range(CONCURRENCY)))
    return statuses, time.monotonic() - started


def one_run(database_url: str, env: dict[str, str], many_addresses: bool) -> dict[str, Any]:
    """A fresh hub, one flood, memory before, after and after the expiry."""
    hub = Hub(
        database_url,
        rate_limit_enabled="false",
        mail_poll_seconds="3600",
        trusted_proxies="1",
        **env,
    )
    try:
        pid = hub.process.pid
        httpx.get(f"{hub.url}/socket.io/?EIO=4&transport=polling")  # load Engine.IO's code
        time.sleep(1)
        before = rss_kib(pid)
        statuses, seconds = asyncio.run(flood(hub.url, many_addresses))
        after = rss_kib(pid)
        time.sleep(EXPIRY_WAIT)
        later = rss_kib(pid)
        # A citizen's handshake from yet another address is still answered.
        probe = httpx.get(
            f"{hub.url}/socket.io/?EIO=4&transport=polling",
            headers={"X-Forwarded-For": "192.0.2.200"},
        )
    finally:
        hub.stop()
    return {
        "rss_before_mib": round(before / 1024, 1),
        "rss_after_flood_mib": round(after / 1024, 1),
        "rss_growth_mib": round((after - before) / 1024, 1),
        f"rss_{int(EXPIRY_WAIT)}s_later_mib": round(later / 1024, 1),
        "flood_seconds": round(seconds, 2),
        "answers": {str(k): v for k, v in sorted(statuses.items())},
        "handshake_after_flood_status": probe.status_code,
    }


def main() -> None:
    from hub.store.migrate import upgrade

    with tempfile.TemporaryDirectory() as scratch:
        database_url = f"sqlite:///{scratch}/bench.sqlite3"
        upgrade(database_url)
        os.environ["BUERGERAMT_DATA_DIR"] = scratch
        runs = {
            name: one_run(database_url, run["env"], run["many_addresses"])
            for name, run in RUNS.items()
        }
    write_results(
        "handshakes",
        {
            "flood_handshakes": FLOOD,
            "unbounded_rss_growth_mib": runs["unbounded"]["rss_growth_mib"],
            "one_address_rss_growth_mib": runs["one_address"]["rss_growth_mib"],
            "many_addresses_rss_growth_mib": runs["many_addresses"]["rss_growth_mib"],
            "one_address_refused": runs["one_address"]["answers"].get("429", 0),
            "many_addresses_refused": runs["many_addresses"]["answers"].get("503", 0),
        },
        runs=runs,
        setup={
            "concurrency": CONCURRENCY,
            "limits": "defaults: 20 pending per address, 2000 in total, closed after 10 s",
            "transport": "polling handshakes over loopback, no namespace ever connected",
        },
    )


if __name__ == "__main__":
    main()
