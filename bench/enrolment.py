"""Enrolment of a batch end to end, for bench/fleet.py's `enrol_50_s`: N appliances' keys
(appliance.enrolment, as the daemon holds them) send their signed enrolment requests with one
batch token, IT lists the pending ones and approves each by claim code over the HTTP API (HTTP
Basic, an admin), each appliance fetches a challenge, signs it, takes its access token and
connects to /appliance until the hub's `hello`. Timed from the first request to the last hello.

While IT has not approved it, a simulated appliance asks again as the daemon does (every 5 s,
jittered; appliance.enrolment.keeper): the last approved waits up to that long.
"""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from pathlib import Path
from typing import Any

ADMIN, ADMIN_PASSWORD = "bench-it", "bench-it-password"


def prepare(url: str, appliances: int) -> tuple[list[int], str]:
    """A migrated database with `appliances` counters, an IT admin and a batch token."""
    from datetime import UTC, datetime, timedelta

    from hub.operations.accounts import add_user
    from hub.operations.catalogue import add_counter
    from hub.operations.enrolment import create_token
    from hub.store import Store
    from hub.store.migrate import upgrade
    from hub.store.seed import seed_defaults

    upgrade(url)
    store = Store(url)
    with store.transaction() as session:
        seed_defaults(session, counters=0)
    now = datetime.now(UTC)
    counters = [add_counter(store, f"Bench {n}") for n in range(appliances)]
    add_user(store, ADMIN, ADMIN_PASSWORD, "admin", now)
    _, token = create_token(store, "Bench", now + timedelta(days=1), None, None, "bench", now)
    store.dispose()
    return counters, token


async def appliance(url: str, key: Any, token: str, online: list[float]) -> Any:
    """Enrol, wait for approval, take a token, connect; the connected client."""
    import socketio

    from appliance.enrolment.client import EnrolmentClient, Refused
    from appliance.enrolment.keeper import JITTER, PENDING_POLL_S

    client = EnrolmentClient(url, key)
    try:
        await client.enrol(token, "bench-pi", "0.1.0")
        while True:
            try:
                access = await client.access_token()
                break
            except Refused as refused:
                if refused.code != "pending":
                    raise
                await asyncio.sleep(PENDING_POLL_S * random.uniform(1 - JITTER, 1 + JITTER))
    finally:
        await client.close()
    sio = socketio.AsyncClient(reconnection=False)
    hello = asyncio.Event()
    sio.on("hello", lambda *_: hello.set(), namespace="/appliance")
    await sio.connect(
        url,
        namespaces=["/appliance"],
        auth={"access_token": access.access_token, "protocol": 1},
        transports=["websocket"],
        wait_timeout=30,
    )
    await asyncio.wait_for(hello.wait(), 30)
    online.append(time.monotonic())
    return sio


async def approve_all(url: str, counters: list[int], expected: int) -> None:
    """IT: list the pending appliances until all are there, approve each by claim code."""
    import aiohttp

    auth = aiohttp.BasicAuth(ADMIN, ADMIN_PASSWORD)
    async with aiohttp.ClientSession(auth=auth) as http:
        left = list(counters)
        while left:
            async with http.get(f"{url}/api/v1/fleet/pending") as response:
                pending = (await response.json())["pending"]
            for entry in pending:
                body = {"claim_code": entry["claim_code"], "counter": left.pop()}
                async with http.post(f"{url}/api/v1/fleet/approve", json=body) as response:
                    assert response.status == 200, await response.text()
            if left:
                await asyncio.sleep(0.1)


def enrol_batch(url: str, counters: list[int], token: str) -> dict[str, Any]:
    """Run the batch; returns enrol_N_s and how it split."""
    from appliance.enrolment.keys import KeyStore

    async def run() -> dict[str, Any]:
        with tempfile.TemporaryDirectory() as folder:
            keys = [KeyStore(Path(folder) / str(n)).load_or_create() for n in counters]
            online: list[float] = []
            started = time.monotonic()
            clients = asyncio.gather(*(appliance(url, k, token, online) for k in keys))
            await approve_all(url, counters, len(counters))
            approved = time.monotonic()
            connected = await clients
            for sio in connected:
                await sio.disconnect()
        return {
            f"enrol_{len(counters)}_s": round(max(online) - started, 2),
            "enrol_approvals_done_s": round(approved - started, 2),
            "enrol_online": len(online),
        }

    return asyncio.run(run())
