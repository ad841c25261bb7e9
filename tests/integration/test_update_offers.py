"""What the hub offers (docs/operations.md, "Updates"): versions it serves from its folder,
the canary ring first, one open update per device, updates held while the counter is open
unless IT said now; `?version=` of the hub's requirements; `devices update|ring` refusals."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from hub.operations.accounts import add_device, add_user, revoke_device
from hub.operations.remote import (
    RemoteRefused,
    action_by_id,
    actions_of,
    offer_update,
    record_result,
    set_ring,
    take_requested,
)
from hub.store import Store
from protocol.appliance import ActionResult
from tests.support.environment import BERLIN
from tests.support.wheels import build_wheel

# Counters 1 and 2 keep the standard hours: Monday to Friday 08:00–12:00 (Berlin).
INSIDE = datetime(2026, 12, 2, 10, 0, tzinfo=BERLIN)  # a Wednesday morning
OUTSIDE = datetime(2026, 12, 2, 20, 0, tzinfo=BERLIN)
SERVED = ["1.0.0", "1.1.0"]


@pytest.fixture(autouse=True)
def _machine_far_from_berlin(far_time_zone):
    """Every test here runs with the machine in UTC+14 (tests/support/time_zone.py)."""


@pytest.fixture
def three(store: Store) -> list[int]:
    return [
        add_device(store, counter, f"Pi {n}", INSIDE)[0].id for n, counter in enumerate((1, 1, 2))
    ]


def offer(store: Store, version: str = "1.1.0", **kwargs):
    return offer_update(store, version, SERVED, requested_by="it", now=INSIDE, **kwargs)


def test_a_closed_counter_gets_its_update_and_an_open_one_waits_unless_now(store, three):
    first, second, _ = three
    held = offer(store, devices=[first])[0]
    at_once = offer(store, devices=[second], when="now")[0]
    sent = take_requested(store, {first, second}, INSIDE)
    assert [a.id for a in sent] == [at_once.id]  # the counter is open: the first one waits
    assert action_by_id(store, held.id).state == "requested"
    later = take_requested(store, {first, second}, OUTSIDE)
    assert [a.id for a in later] == [held.id]
    message = later[0].message()
    assert (message.kind, message.version, message.force) == ("update", "1.1.0", False)
    assert message.breaks_call


def test_the_general_ring_waits_for_the_canaries(store, three):
    canary, _, _ = three
    with pytest.raises(RemoteRefused, match="no canary"):
        offer(store, ring="general")
    set_ring(store, canary, "canary")
    (first,) = offer(store, ring="canary", when="now")
    assert first.device_id == canary
    with pytest.raises(
        RemoteRefused, match=re.escape(f"the canaries {canary} do not run 1.1.0 yet")
    ):
        offer(store, ring="general")
    take_requested(store, {canary}, INSIDE)
    assert record_result(store, canary, ActionResult(id=first.id, state="running"), INSIDE)
    with pytest.raises(RemoteRefused, match=re.escape("do not run 1.1.0 yet")):
        offer(store, ring="general")  # running is not done
    done = ActionResult(id=first.id, state="done", result="1.1.0 runs")
    assert record_result(store, canary, done, INSIDE)
    general = offer(store, ring="general")
    assert sorted(a.device_id for a in general) == sorted(set(three) - {canary})


def test_the_canary_rule_can_be_skipped_and_a_version_is_checked(store, three):
    assert len(offer(store, ring="general", skip_canary=True)) == 3
    with pytest.raises(RemoteRefused, match="an update is still open for device"):
        offer(store, "1.0.0", devices=[three[0]])


@pytest.mark.parametrize(
    ("kwargs", "said"),
    [
        ({"version": "2.0.0"}, "the hub serves no appliance '2.0.0'; it serves: 1.0.0, 1.1.0"),
        ({"version": "../../etc"}, "the hub serves no appliance"),
        ({"ring": "general", "devices": [1]}, "name devices or one ring, not both"),
        ({}, "name devices or one ring, not both"),
        ({"ring": "beta"}, "unknown ring 'beta'"),
        ({"devices": [999]}, "no device 999"),
        ({"devices": [1], "when": "tonight"}, "when: one of closed, now"),
    ],
)
def test_bad_offers_are_refused_and_nothing_is_stored(store, three, kwargs, said):
    with pytest.raises(RemoteRefused) as refused:
        offer(store, **kwargs)
    assert said in str(refused.value)
    assert all(actions_of(store, device) == [] for device in three)


def test_a_revoked_device_gets_no_update(store, three):
    revoke_device(store, three[2], INSIDE)
    with pytest.raises(RemoteRefused, match=f"device {three[2]} is revoked"):
        offer(store, devices=[three[2]])
    assert len(offer(store, ring="general", skip_canary=True)) == 2  # revoked ones left out


def test_the_hub_pins_the_version_asked_for_with_its_hashes(store, serve_hub, tmp_path):
    wheels = tmp_path / "wheels"
    old = build_wheel(wheels, "buergeramt-virtuell", "1.0.0", requires=("tiny-dep>=1",))
    build_wheel(wheels, "buergeramt-virtuell", "1.1.0", requires=("tiny-dep>=1",))
    build_wheel(wheels, "tiny-dep", "1.0")
    hub = serve_hub(store.url, wheel_dir=str(wheels))
    newest = httpx.get(f"{hub.url}/appliance/requirements.txt", timeout=10).text
    assert "buergeramt-virtuell[appliance]==1.1.0 --hash=sha256:" in newest
    pinned = httpx.get(f"{hub.url}/appliance/requirements.txt?version=1.0.0", timeout=10)
    digest = hashlib.sha256(old.read_bytes()).hexdigest()
    assert f"buergeramt-virtuell[appliance]==1.0.0 --hash=sha256:{digest}\n" in pinned.text
    assert "tiny-dep==1.0 --hash=sha256:" in pinned.text
    missing = httpx.get(f"{hub.url}/appliance/requirements.txt?version=3.0", timeout=10)
    assert missing.status_code == 404
    bad = httpx.get(f"{hub.url}/appliance/requirements.txt?version=not-a-version", timeout=10)
    assert bad.status_code == 400


def devices(store: Store, tmp_path: Path, wheels: Path, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "BUERGERAMT_DATA_DIR": str(tmp_path),
        "BUERGERAMT_DATABASE_URL": store.url,
        "BUERGERAMT_WHEEL_DIR": str(wheels),
        "BUERGERAMT_CLOCK_START": OUTSIDE.isoformat(),
    }
    env.pop("BUERGERAMT_CONFIG_FILE", None)
    return subprocess.run(
        [sys.executable, "-c", "from hub.cli import main; main()", "devices", *args],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_the_command_line_offers_updates_and_shows_their_outcome(store, three, tmp_path):
    wheels = tmp_path / "wheels"
    build_wheel(wheels, "buergeramt-virtuell", "1.1.0")
    first = three[0]
    assert devices(store, tmp_path, wheels, "ring", str(first), "canary").returncode == 0
    unknown = devices(store, tmp_path, wheels, "update", "9.9", "--ring", "canary")
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == ("Error: the hub serves no appliance '9.9'; it serves: 1.1.0")
    general = devices(store, tmp_path, wheels, "update", "1.1.0", "--ring", "general")
    assert general.returncode == 1 and "do not run 1.1.0 yet" in general.stderr
    done = devices(store, tmp_path, wheels, "update", "1.1.0", "--ring", "canary")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        f"update to 1.1.0 offered to device {first} (once each counter is closed)"
    )
    (action,) = actions_of(store, first)
    assert action.arguments == {"version": "1.1.0", "when": "closed"}
    take_requested(store, {first}, OUTSIDE)
    record_result(
        store,
        first,
        ActionResult(id=action.id, state="failed", result="1.1.0 rolled back"),
        OUTSIDE,
    )
    listed = devices(store, tmp_path, wheels, "list").stdout
    line = next(
        row
        for row in listed.splitlines()
        if row.startswith(f"{first:>4}") or row.split()[0] == str(first)
    )
    assert "canary 1.1.0 ✗" in line
    bad_ring = devices(store, tmp_path, wheels, "ring", str(first), "beta")
    assert (
        bad_ring.returncode == 2 and "'beta' is not one of 'canary', 'general'" in bad_ring.stderr
    )


def test_the_fleet_page_shows_the_ring_and_the_newest_update(store, three, serve_hub):
    add_user(store, "it", "fleet-admin-pw", "admin", INSIDE)
    canary = three[0]
    set_ring(store, canary, "canary")
    (action,) = offer(store, devices=[canary], when="now")
    take_requested(store, {canary}, INSIDE)
    failed = ActionResult(id=action.id, state="failed", result="1.1.0 rolled back to 1.0.0")
    assert record_result(store, canary, failed, INSIDE)
    hub = serve_hub(store.url, clock_start=INSIDE.isoformat())
    page = httpx.get(f"{hub.url}/it/devices", auth=("it", "fleet-admin-pw"), timeout=20).text
    row = page[page.index(f"/it/devices/{canary}") :].split("</tr>")[0]
    assert "Testring (zuerst aktualisiert)" in row
    assert "Update auf 1.1.0: fehlgeschlagen" in row
    other = page[page.index(f"/it/devices/{three[1]}") :].split("</tr>")[0]
    assert "Update auf" not in other and "Testring" not in other
