"""An appliance the hub refuses (unknown or revoked credential) says so, and what IT must do;
one the hub cannot check (its database away) stays "offline, retrying"."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import httpx
import pytest

from hub.booking.tokens import new_token
from hub.operations.accounts import add_device, revoke_device
from tests.support.appliance_runner import RunningAppliance
from tests.support.environment import MONDAY_EARLY
from tests.support.waiting import wait_until

RETRY_LOG = "hub not reachable"
REFUSED_LOG = "the hub refused this appliance: unknown or revoked device credential"


@pytest.fixture
def appliances():
    started: list[RunningAppliance] = []

    def launch(**settings: object) -> RunningAppliance:
        running = RunningAppliance(kiosk=True, **settings).launch()
        started.append(running)
        return running

    yield launch
    for running in started:
        if running.thread.is_alive():  # not stopped by the test itself
            running.stop()


def kiosk_says(running: RunningAppliance) -> tuple[str, str]:
    health = httpx.get(f"{running.kiosk_url}/healthz", timeout=5).json()
    screen = running.run(_screen(running))
    return health["hub"], screen


async def _screen(running: RunningAppliance) -> str:
    assert running.kiosk is not None
    return running.kiosk.state()["screen"]


def test_a_wrong_credential_is_refused_and_the_kiosk_says_call_it(
    sqlite_store, serve_hub, appliances, caplog
):
    caplog.set_level(logging.INFO, logger="appliance.hub")
    hub = serve_hub(sqlite_store.url)
    running = appliances(hub_url=hub.url, device_credential=new_token())
    running.wait_for(lambda: running.counter.link == "refused")
    assert kiosk_says(running) == ("refused", "refused")
    assert REFUSED_LOG in caplog.text
    assert "buergeramt devices add" in caplog.text
    assert "hub not reachable" not in caplog.text
    page = httpx.get(f"{running.kiosk_url}/", timeout=5).text
    assert 'id="screen-refused"' in page and "Bitte rufen Sie die IT an." in page


def test_a_revoked_appliance_shows_the_refusal(sqlite_store, serve_hub, appliances, caplog):
    caplog.set_level(logging.INFO, logger="appliance.hub")
    device, credential = add_device(sqlite_store, 1, "Pi", MONDAY_EARLY)
    hub = serve_hub(sqlite_store.url)
    running = appliances(hub_url=hub.url, device_credential=credential)
    running.wait_for(lambda: running.counter.link == "online")
    revoke_device(sqlite_store, device.id, datetime.now(UTC))
    running.wait_for(lambda: running.counter.link == "refused", timeout=10)
    assert kiosk_says(running) == ("refused", "refused")


def test_a_hub_without_its_database_is_offline_not_a_refusal(serve_hub, appliances, caplog):
    caplog.set_level(logging.INFO, logger="appliance.hub")
    hub = serve_hub("postgresql+psycopg://postgres@127.0.0.1:1/nowhere")
    running = appliances(hub_url=hub.url, device_credential=new_token())
    running.wait_for(lambda: running.counter.link == "offline")
    # A few more refusals with code `unavailable`, each answered with another try.
    tries = caplog.text.count(RETRY_LOG)
    wait_until(
        lambda: caplog.text.count(RETRY_LOG) >= tries + 2, 15, "two more refused connections"
    )
    assert running.counter.link == "offline"
    assert kiosk_says(running) == ("offline", "offline")
    assert REFUSED_LOG not in caplog.text
