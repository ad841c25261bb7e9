"""IT's fleet view with real parts: a served hub, the real appliance daemon (synthetic devices)
sending heartbeats, `buergeramt devices list`, the /it/devices page and the /metrics gauges; an
appliance offline while its counter is open flagged, with the hub's clock inside and outside
the opening hours and the machine in a far time zone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest

from hub.operations.accounts import add_device, add_user
from hub.operations.fleet import fleet
from hub.store import Store
from tests.support.appliance_runner import RunningAppliance
from tests.support.environment import BERLIN
from tests.support.waiting import wait_until

# Counters 1 and 2 keep the standard hours: Monday to Friday 08:00–12:00 (Berlin).
INSIDE = datetime(2026, 12, 2, 10, 0, tzinfo=BERLIN)  # a Wednesday morning
OUTSIDE = datetime(2026, 12, 2, 20, 0, tzinfo=BERLIN)  # the same evening
PASSWORD = "fleet-admin-pw"
FLAG_LOG = "is offline during opening hours"


@pytest.fixture(autouse=True)
def _machine_far_from_berlin(far_time_zone):
    """Every test here runs with the machine in UTC+14 (tests/support/time_zone.py)."""


@pytest.fixture
def fleet_db(store: Store):
    """Two appliances (counter 1 and 2), an IT admin and a clerk."""
    first, credential = add_device(store, 1, "Pi Schalter 1", INSIDE)
    second, _ = add_device(store, 2, "Pi Schalter 2", INSIDE)
    add_user(store, "it", PASSWORD, "admin", INSIDE)
    add_user(store, "clerk", PASSWORD, "clerk", INSIDE)
    return store, first.id, second.id, credential


def cli(store: Store, tmp_path: Path, clock: datetime, *args: str) -> str:
    env = {
        **os.environ,
        "BUERGERAMT_DATA_DIR": str(tmp_path),
        "BUERGERAMT_DATABASE_URL": store.url,
        "BUERGERAMT_CLOCK_START": clock.isoformat(),
    }
    env.pop("BUERGERAMT_CONFIG_FILE", None)
    done = subprocess.run(
        [sys.executable, "-c", "from hub.cli import main; main()", "devices", "list", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def gauges(url: str) -> dict[str, float]:
    text = httpx.get(f"{url}/metrics", timeout=10).text
    return {
        name: float(line.split()[-1])
        for line in text.splitlines()
        for name in (
            "buergeramt_appliances_online",
            "buergeramt_appliances_offline_in_opening_hours",
        )
        if line.startswith(name + " ")
    }


def test_heartbeats_fill_the_fleet_view_and_an_offline_counter_is_flagged(
    fleet_db, serve_hub, tmp_path
):
    store, first, second, credential = fleet_db
    hub = serve_hub(store.url, clock_start=INSIDE.isoformat(), presence_seconds="2")
    running = RunningAppliance(hub_url=hub.url, device_credential=credential, data_dir=tmp_path)
    running.start()
    try:
        # The first heartbeat goes out at once after connecting, without a round trip yet.
        wait_until(
            lambda: fleet(store, INSIDE, timedelta(days=1))[0].heartbeat_at,
            10,
            "the first heartbeat stored",
        )
        assert running.appliance is not None
        assert running.run(running.appliance.heartbeats.send())
        rtt = running.appliance.heartbeats.rtt_ms
        assert rtt is not None and 0 < rtt < 1000
        running.run(running.appliance.heartbeats.send())  # reports the previous one's time
        entry = wait_until(
            lambda: next(e for e in fleet(store, INSIDE, timedelta(days=1)) if e.rtt_ms),
            10,
            "the round trip stored",
        )
        assert entry.id == first and entry.version and entry.uptime_s is not None
        assert entry.disk_free_mb and entry.disk_free_mb > 0
        assert dict(entry.devices) == {
            "camera": "ok",
            "microphone": "ok",
            "speaker": "ok",
            "scanner": "absent",
        }

        listed = {d["id"]: d for d in json.loads(cli(store, tmp_path, INSIDE, "--json"))}
        assert listed[first]["state"] == "online"
        assert listed[first]["version"] == entry.version
        assert listed[first]["devices"]["camera"] == "ok"
        assert listed[first]["rtt_ms"] is not None and listed[first]["heartbeat_age_s"] < 30
        assert listed[first]["offline_in_opening_hours"] is False
        assert listed[second]["state"] == "offline"
        assert listed[second]["offline_in_opening_hours"] is True
        assert listed[second]["heartbeat_at"] is None

        table = cli(store, tmp_path, INSIDE).splitlines()
        assert table[0].split()[:4] == ["ID", "NAME", "COUNTER", "STATE"]
        row_1 = next(line for line in table if "Pi Schalter 1" in line)
        row_2 = next(line for line in table if "Pi Schalter 2" in line)
        assert " online " in row_1 and " ✓ " in row_1 and entry.version in row_1
        assert "! offline (never seen)" in row_2

        assert gauges(hub.url) == {
            "buergeramt_appliances_online": 1.0,
            "buergeramt_appliances_offline_in_opening_hours": 1.0,
        }

        page = httpx.get(f"{hub.url}/it/devices", timeout=10)  # a browser: to the sign-in
        assert page.status_code == 302 and "WWW-Authenticate" not in page.headers
        wrong = httpx.get(f"{hub.url}/it/devices", auth=("it", "wrong-pw"), timeout=10)
        assert wrong.status_code == 401 and "Basic" in wrong.headers["WWW-Authenticate"]
        clerk = httpx.get(f"{hub.url}/it/devices", auth=("clerk", PASSWORD), timeout=10)
        assert clerk.status_code == 401
        admin = httpx.get(f"{hub.url}/it/devices", auth=("it", PASSWORD), timeout=10)
        assert admin.status_code == 200
        assert "Pi Schalter 1" in admin.text and "Offline während der Öffnungszeiten" in admin.text
        english = httpx.get(f"{hub.url}/it/devices?lang=en", auth=("it", PASSWORD), timeout=10).text
        assert "Offline during opening hours" in english

        # The hub's log names the offline appliance once, not every round.
        wait_until(lambda: FLAG_LOG in hub.log.read_text(), 20, "the offline flag logged")
        time.sleep(5)  # two more rounds of the fleet job
        assert hub.log.read_text().count(FLAG_LOG) == 1
        assert "Pi Schalter 2" in hub.log.read_text()
    finally:
        running.stop()


def test_outside_opening_hours_an_offline_appliance_is_not_flagged(fleet_db, serve_hub, tmp_path):
    store = fleet_db[0]
    hub = serve_hub(store.url, clock_start=OUTSIDE.isoformat())
    listed = json.loads(cli(store, tmp_path, OUTSIDE, "--json"))
    assert [(d["state"], d["offline_in_opening_hours"]) for d in listed] == [
        ("offline", False),
        ("offline", False),
    ]
    assert "!" not in cli(store, tmp_path, OUTSIDE)
    assert gauges(hub.url) == {
        "buergeramt_appliances_online": 0.0,
        "buergeramt_appliances_offline_in_opening_hours": 0.0,
    }
    admin = httpx.get(f"{hub.url}/it/devices", auth=("it", PASSWORD), timeout=10)
    assert admin.status_code == 200 and "Offline während der Öffnungszeiten" not in admin.text


def test_appliances_waiting_for_approval_are_listed_with_their_claim_codes(
    fleet_db, client, tmp_path
):
    from hub.operations.enrolment import create_token
    from tests.integration.test_enrolment import Appliance
    from tests.support.environment import MONDAY_EARLY

    store = fleet_db[0]
    _, token = create_token(
        store, "Rathaus", MONDAY_EARLY + timedelta(days=7), None, None, "it", MONDAY_EARLY
    )
    waiting = Appliance().enrol(client, token, MONDAY_EARLY).get_json()
    code, fingerprint = waiting["claim_code"], waiting["fingerprint"]

    listed = json.loads(cli(store, tmp_path, MONDAY_EARLY, "--json"))
    assert [d["state"] for d in listed] == ["offline", "offline", "pending"]
    assert {k: listed[2][k] for k in ("id", "claim_code", "fingerprint", "hostname")} == {
        "id": None,
        "claim_code": code,
        "fingerprint": fingerprint,
        "hostname": "counter-pi-7",
    }
    table = cli(store, tmp_path, MONDAY_EARLY)
    assert "waiting for approval" in table
    row = next(line for line in table.splitlines() if line.startswith(code))
    assert fingerprint[:40] in row and "counter-pi-7" in row
    since = datetime.fromisoformat(listed[2]["since"]).astimezone(BERLIN)
    assert since.strftime("%Y-%m-%d %H:%M") in row  # Berlin time, not the machine's UTC+14

    german = client.get("/it/devices", auth=("it", PASSWORD)).get_data(as_text=True)
    assert "Warten auf Freigabe" in german and "Zuordnungscode" in german
    assert code in german and fingerprint in german and "counter-pi-7" in german
    english = client.get("/it/devices?lang=en", auth=("it", PASSWORD)).get_data(as_text=True)
    assert "Waiting for approval" in english and "Claim code" in english
