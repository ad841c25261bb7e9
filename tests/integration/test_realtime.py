"""The realtime hub on loopback with real python-socketio clients: lobby, call, relay, refusals."""

from __future__ import annotations

import pytest
import socketio
from sqlalchemy import select

from hub.store.models import CallEventRow, CallRow
from tests.conftest import MONDAY_EARLY, berlin
from tests.realtime_clients import appliance, citizen, make_desk, signed_in

NINE = berlin(2026, 3, 2, 9, 0)
OFFER = {"type": "offer", "sdp": "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n"}
ANSWER = {"type": "answer", "sdp": "v=0\r\no=- 2 2 IN IP4 0.0.0.0\r\n"}
CANDIDATE = {
    "type": "candidate",
    "candidate": {"candidate": "candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host",
                  "sdpMid": "0", "sdpMLineIndex": 0},
}


@pytest.fixture
def desk(store):
    return make_desk(store, MONDAY_EARLY)


@pytest.fixture
def hub(store, serve_hub, desk):
    """A hub whose clock reads 08:50 on the day of the 09:00 appointments."""
    return serve_hub(
        store.url,
        clock_start=berlin(2026, 3, 2, 8, 50).isoformat(),
        presence_seconds="1",
        turn_urls='["turn:127.0.0.1:3478?transport=udp"]',
        turn_secret="coturn-shared-secret",
        stun_urls='["stun:127.0.0.1:3478"]',
    )


def states(store, appointment_id):
    with store.transaction() as session:
        return [
            (e.event, e.after, e.outcome)
            for e in session.scalars(
                select(CallEventRow)
                .where(CallEventRow.appointment_id == appointment_id)
                .order_by(CallEventRow.id)
            )
        ]


def test_a_whole_call_from_lobby_to_end(store, desk, hub):
    booking = desk.book(NINE)
    clerk = appliance(hub.url, desk.credentials[booking.counter]).connect()
    hello = clerk.next("hello")
    assert hello["call"] is None and hello["clerk"] is None
    assert hello["lobby"]["waiting"] == []
    signed_in(clerk)

    page = citizen(hub.url, booking.join_token).connect()
    status = page.next("status", state="waiting")
    assert status["wait"]["position"] == 1
    assert "ice_servers" not in status  # no TURN credentials before admission
    lobby = clerk.next("lobby", timeout=5)
    while not lobby["waiting"]:
        lobby = clerk.next("lobby")
    assert [w["appointment"] for w in lobby["waiting"]] == [str(booking.id)]
    assert lobby["waiting"][0]["name"] == "Person 0"

    reply = clerk.call("admit", {"appointment": str(booking.id)})
    assert reply["ok"], reply
    turn = [s for s in reply["call"]["ice_servers"] if "username" in s]
    assert turn and turn[0]["username"].endswith(f":{booking.id}")
    admitted = page.next("status", state="admitted")
    assert admitted["ice_servers"] == reply["call"]["ice_servers"]

    assert page.call("signal", OFFER) == {"ok": True}
    relayed = clerk.next("signal", type="offer")
    assert relayed == {"appointment": str(booking.id), **OFFER}
    assert page.call("signal", CANDIDATE)["ok"]
    assert clerk.next("signal", type="candidate")["candidate"] == CANDIDATE["candidate"]
    assert clerk.call("signal", {"appointment": str(booking.id), **ANSWER})["ok"]
    assert page.next("signal", type="answer") == ANSWER
    assert clerk.call("media", {"appointment": str(booking.id), "state": "connected"})["ok"]
    assert page.next("status", state="in_call")["ice_servers"]

    ended = clerk.call("end", {"appointment": str(booking.id), "outcome": "done"})
    assert ended["ok"] and ended["call"]["state"] == "ended"
    assert page.next("status", state="ended")["outcome"] == "done"

    assert states(store, booking.id) == [
        ("join", "waiting", None),
        ("admit", "admitted", None),
        ("offer", "connecting", None),
        ("connected", "in_call", None),
        ("end", "ended", "done"),
    ]
    # The ended call's link opens nothing any more.
    page.close()
    again = citizen(hub.url, booking.join_token)
    with pytest.raises(socketio.exceptions.ConnectionError):
        again.connect()
    assert again.refusal["data"]["code"] == "call_ended"
    clerk.close()
