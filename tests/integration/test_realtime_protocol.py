"""The realtime protocol as clients meet it: the version an appliance speaks, and real messages
checked against the JSON Schema the hub serves."""

from __future__ import annotations

import httpx
import pytest

from protocol.limits import VERSION
from tests.support.environment import MONDAY_EARLY, berlin
from tests.support.realtime_clients import Party, make_desk

NINE = berlin(2026, 3, 2, 9, 0)


@pytest.fixture
def desk(store):
    return make_desk(store, MONDAY_EARLY)


@pytest.fixture
def hub(store, serve_hub, desk):
    """A hub whose clock reads 08:50 on the day of the 09:00 appointments."""
    return serve_hub(
        store.url,
        clock_start=berlin(2026, 3, 2, 8, 50).isoformat(),
        turn_urls='["turn:127.0.0.1:3478?transport=udp"]',
        turn_secret="coturn-shared-secret",
        stun_urls='["stun:127.0.0.1:3478"]',
    )


def speaking(hub, credential, version):
    """An appliance that sends `auth.protocol` (`...`: sends none, as before versions)."""
    auth = {"device": credential}
    if version is not ...:
        auth["protocol"] = version
    return Party(hub.url, "/appliance", auth)


def test_an_appliance_speaking_another_protocol_version_is_refused(desk, hub):
    credential = desk.credentials[1]
    assert speaking(hub, credential, ...).connect().next("hello")["protocol"] == VERSION
    assert speaking(hub, credential, VERSION).connect().next("hello")["protocol"] == VERSION

    for version in (VERSION + 1, 0, "1", 1.0, True, None, [1]):
        refusal = speaking(hub, credential, version).refused()
        assert refusal["code"] == "unsupported_protocol", (version, refusal)
        assert refusal["supported"] == [VERSION]
    # Refused before the credential is even looked at, counted and logged like any refusal.
    assert speaking(hub, "x" * 43, VERSION + 1).refused()["code"] == "unsupported_protocol"
    metrics = httpx.get(f"{hub.url}/metrics").text
    assert 'buergeramt_realtime_refusals_total{code="unsupported_protocol"} 8.0' in metrics
    assert "refused unsupported_protocol" in hub.log.read_text()
