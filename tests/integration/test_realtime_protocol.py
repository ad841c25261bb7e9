"""The realtime protocol as clients meet it: the version an appliance speaks, and real messages
checked against the JSON Schema the hub serves."""

from __future__ import annotations

import httpx
import jsonschema
import pytest

from protocol.limits import VERSION
from tests.support.environment import MONDAY_EARLY, berlin
from tests.support.realtime_clients import PASSWORD, Party, appliance, citizen, make_desk

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


OFFER = {"type": "offer", "sdp": "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n"}
ANSWER = {"type": "answer", "sdp": "v=0\r\no=- 2 2 IN IP4 0.0.0.0\r\n"}


def served_schema(hub, name):
    response = httpx.get(f"{hub.url}/protocol/v1/{name}.schema.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/schema+json")
    return response.json()


def check(document, direction, event, message, part="payload"):
    """Validate a message against one event's part of a served document."""
    schema = {**document, "$ref": f"#/events/{direction}/{event}/{part}"}
    jsonschema.validate(message, schema, cls=jsonschema.Draft202012Validator)


def test_real_messages_fit_the_served_json_schema(desk, hub):
    citizen_doc, appliance_doc = served_schema(hub, "citizen"), served_schema(hub, "appliance")
    assert citizen_doc["version"] == appliance_doc["version"] == VERSION
    assert httpx.get(f"{hub.url}/protocol/v1/kiosk.schema.json").status_code == 404
    booking = desk.book(NINE)
    appointment = str(booking.id)

    clerk = appliance(hub.url, desk.credentials[booking.counter]).connect()
    check(appliance_doc, "to_client", "hello", clerk.next("hello"))  # lobby {}
    signed = clerk.call("sign_in", {"username": "clerk", "password": PASSWORD})
    check(appliance_doc, "to_server", "sign_in", signed, "answer")
    wrong = clerk.call("sign_in", {"username": "clerk", "password": "falsch-falsch"})
    check(appliance_doc, "to_server", "sign_in", wrong, "answer")  # a refusal is an answer too
    check(appliance_doc, "to_server", "day", clerk.call("day", {}), "answer")

    page = citizen(hub.url, booking.join_token).connect()
    check(citizen_doc, "to_client", "status", page.next("status", state="waiting"))
    lobby = clerk.next("lobby")
    while not lobby["waiting"]:
        lobby = clerk.next("lobby")
    check(appliance_doc, "to_client", "lobby", lobby)
    admitted = clerk.call("admit", {"appointment": appointment})
    check(appliance_doc, "to_server", "admit", admitted, "answer")
    check(appliance_doc, "to_client", "call", clerk.next("call", state="admitted"))
    check(citizen_doc, "to_client", "status", page.next("status", state="admitted"))

    check(citizen_doc, "to_server", "signal", OFFER)
    check(citizen_doc, "to_server", "signal", page.call("signal", OFFER), "answer")
    check(appliance_doc, "to_client", "signal", clerk.next("signal", type="offer"))
    clerk.call("signal", {"appointment": appointment, **ANSWER})
    check(citizen_doc, "to_client", "signal", page.next("signal", type="answer"))
    media = clerk.call("media", {"appointment": appointment, "state": "connected"})
    check(appliance_doc, "to_server", "media", media, "answer")
    check(citizen_doc, "to_client", "status", page.next("status", state="in_call"))
    # The appliance restarts mid-call: hello with the clerk, the held call and a lobby.
    clerk.close()
    clerk = appliance(hub.url, desk.credentials[booking.counter], signed["session"]).connect()
    hello = clerk.next("hello")
    assert hello["call"]["ice_servers"] and hello["lobby"]["counter"] == booking.counter
    check(appliance_doc, "to_client", "hello", hello)
    ended = clerk.call("end", {"appointment": appointment, "outcome": "done"})
    check(appliance_doc, "to_server", "end", ended, "answer")
    ended_status = page.next("status", state="ended")
    check(citizen_doc, "to_client", "status", ended_status)
    day = clerk.call("day", {})
    assert day["day"][0]["state"] == "ended"
    check(appliance_doc, "to_server", "day", day, "answer")

    # The schema is not a rubber stamp.
    stateless = {k: v for k, v in ended_status.items() if k != "state"}
    smuggled = {**OFFER, "appointment": appointment}
    nameless = {"ok": True, "day": [{"appointment": appointment}]}
    for namespace, direction, event, message, part in [
        (citizen_doc, "to_client", "status", stateless, "payload"),
        (citizen_doc, "to_server", "signal", smuggled, "payload"),
        (appliance_doc, "to_server", "day", nameless, "answer"),
    ]:
        with pytest.raises(jsonschema.ValidationError):
            check(namespace, direction, event, message, part)
    page.close()
    clerk.close()
