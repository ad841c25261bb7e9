"""Issue 17's fleet test: fifty real appliance daemons (synthetic devices, a key folder each)
enrol with one batch token at a served hub, IT approves them by claim code over the HTTP API,
all come online, and one revoked on the command line is dropped at once and refused after."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from hub.operations.accounts import add_user
from hub.operations.catalogue import add_counter
from hub.operations.enrolment import create_token
from hub.store.models import DeviceRow
from tests.support.appliance_runner import RunningAppliance
from tests.support.waiting import wait_until

APPLIANCES = 50
PASSWORD = "fleet-admin-pw"


@pytest.fixture
def fleet_of(tmp_path):
    """fleet_of(n, **settings): n daemons launched in this process (kiosk off, a tiny synthetic
    camera), each with its own key folder; all stopped after the test."""
    started: list[RunningAppliance] = []

    def launch(n: int, **settings: object) -> list[RunningAppliance]:
        for i in range(n):
            running = RunningAppliance(
                kiosk=False,
                key_dir=tmp_path / f"keys-{i}",
                data_dir=tmp_path,
                width=160,
                height=120,
                fps=1,
                **settings,
            )
            started.append(running.launch())
        return started

    yield launch
    for running in started:
        if running.thread.is_alive():
            running.stop()


def admin() -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"it:{PASSWORD}".encode()).decode()}


def cli(hub, *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, "-c", "from hub.cli import main; main()", *args],
        env=hub.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done


@pytest.mark.slow
def test_fifty_appliances_enrol_with_one_token_are_approved_over_http_and_one_is_revoked(
    store, serve_hub, fleet_of
):
    now = datetime.now(UTC)
    add_user(store, "it", PASSWORD, "admin", now)
    counters = [add_counter(store, f"Flotte {n + 1}") for n in range(APPLIANCES)]
    _, token = create_token(store, "Rathaus 2026", now + timedelta(days=1), None, None, "it", now)
    # Every appliance here comes from 127.0.0.1: no per-address limits, which a fleet (one
    # address each) never meets.
    hub = serve_hub(
        store.url,
        presence_seconds="1",
        rate_limit_enabled="false",
        realtime_pending_per_address="1000",
    )
    began = time.monotonic()
    fleet = fleet_of(APPLIANCES, hub_url=hub.url, enrolment_token=token)
    by_code = {}
    for running in fleet:
        keeper = running.appliance.keeper
        running.wait_for(lambda k=keeper: k.state == "pending", timeout=60)
        by_code[keeper.key.claim_code] = running
    enrolled = time.monotonic() - began

    with httpx.Client(base_url=hub.url, headers=admin(), timeout=30) as http:
        listed = http.get("/api/v1/fleet/pending").json()["pending"]
        assert sorted(k["claim_code"] for k in listed) == sorted(by_code)
        fingerprints = {k["claim_code"]: k["fingerprint"] for k in listed}
        for code, running in by_code.items():
            assert fingerprints[code] == running.appliance.keeper.key.fingerprint
        for code, counter in zip(by_code, counters, strict=True):
            done = http.post("/api/v1/fleet/approve", json={"claim_code": code, "counter": counter})
            assert done.status_code == 200, done.text
        assert http.get("/api/v1/fleet/pending").json()["pending"] == []
    approved = time.monotonic() - began

    for running in fleet:  # each asks again within about 5 s of its last ask
        running.wait_for(lambda r=running: r.counter.link == "online", timeout=30)
    online = time.monotonic() - began

    def listed_online() -> list[dict]:
        devices = json.loads(cli(hub, "devices", "list", "--json").stdout)
        return [d for d in devices if d["state"] == "online"]

    wait_until(lambda: len(listed_online()) >= APPLIANCES, 20, "50 online in devices list")
    print(f"\nenrolled {enrolled:.1f} s, approved {approved:.1f} s, online {online:.1f} s")

    victim = fleet[7]
    device = victim.counter.counter and _device_of(store, victim.counter.counter.id)
    assert device is not None
    cli(hub, "devices", "revoke", str(device))
    with store.transaction() as session:
        revoked_at = session.get(DeviceRow, device).revoked_at
    revoked_at = revoked_at.replace(tzinfo=UTC) if revoked_at.tzinfo is None else revoked_at
    victim.wait_for(lambda: victim.counter.link != "online", timeout=5)
    took = datetime.now(UTC).timestamp() - revoked_at.timestamp()  # at most this (poll 50 ms)
    print(f"revoke to disconnect: {took * 1000:.0f} ms")
    assert took <= 1.0, took
    victim.wait_for(lambda: victim.counter.link == "refused", timeout=10)
    time.sleep(2)  # refused for good: it does not get back in
    assert victim.counter.link == "refused"
    assert sum(r.counter.link == "online" for r in fleet) == APPLIANCES - 1


def _device_of(store, counter: int) -> int | None:
    with store.transaction() as session:
        return session.scalars(select(DeviceRow.id).where(DeviceRow.counter_id == counter)).first()
