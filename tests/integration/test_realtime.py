"""The realtime hub on loopback with real python-socketio clients: lobby, call, relay, refusals."""

from __future__ import annotations

import httpx
import pytest
import socketio
from sqlalchemy import select

from hub.store.models import CallEventRow, CallRow, CounterRow
from tests.support.environment import MONDAY_EARLY, REDIS_URL, berlin, need_redis
from tests.support.realtime_clients import Party, appliance, citizen, make_desk, signed_in
from tests.support.waiting import Deadline

NINE = berlin(2026, 3, 2, 9, 0)
OFFER = {"type": "offer", "sdp": "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n"}
ANSWER = {"type": "answer", "sdp": "v=0\r\no=- 2 2 IN IP4 0.0.0.0\r\n"}
CANDIDATE = {
    "type": "candidate",
    "candidate": {
        "candidate": "candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host",
        "sdpMid": "0",
        "sdpMLineIndex": 0,
    },
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
    assert hello["lobby"] == {}  # nothing of the lobby before a clerk signs in
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
    assert citizen(hub.url, booking.join_token).refused()["code"] == "call_ended"
    clerk.close()


def refused(party):
    return party.refused()


def test_join_links_are_refused_outside_the_window_cancelled_or_wrong(store, desk, hub):
    from hub.booking.tokens import new_token
    from hub.operations.booking import cancel

    soon = desk.book(NINE)
    later = desk.book(berlin(2026, 3, 2, 11, 0), n=1)
    earlier = desk.book(berlin(2026, 3, 2, 8, 0), n=2)  # ends 08:20; grace 15 min: 08:35
    gone = desk.book(berlin(2026, 3, 2, 9, 15), n=3)
    cancel(store, MONDAY_EARLY, gone.id, gone.manage_token)

    assert refused(citizen(hub.url, new_token()))["code"] == "unknown_token"
    assert refused(citizen(hub.url, "not a token"))["code"] == "unknown_token"
    assert refused(citizen(hub.url, soon.join_token[:-2] + "xx"))["code"] == "unknown_token"
    assert refused(citizen(hub.url, gone.manage_token))["code"] == "unknown_token"
    too_early = refused(citizen(hub.url, later.join_token))
    assert too_early["code"] == "too_early"
    assert too_early["opens_at"] == "2026-03-02T10:45:00+01:00"
    assert refused(citizen(hub.url, earlier.join_token))["code"] == "too_late"
    assert refused(citizen(hub.url, gone.join_token))["code"] == "cancelled"
    no_auth = Party(hub.url, "/citizen", {})
    assert refused(no_auth)["code"] == "unknown_token"
    # The one inside its window gets in.
    assert citizen(hub.url, soon.join_token).connect().next("status")["state"] == "waiting"


def in_call(desk, hub, booking, clerk=None, page=None):
    """Bring a booking's call to in_call; returns (appliance, citizen page)."""
    if clerk is None:
        clerk = appliance(hub.url, desk.credentials[booking.counter]).connect()
        clerk.next("hello")
        signed_in(clerk)
    page = page or citizen(hub.url, booking.join_token).connect()
    page.next("status", state="waiting")
    assert clerk.call("admit", {"appointment": str(booking.id)})["ok"]
    page.next("status", state="admitted")
    assert page.call("signal", OFFER)["ok"]
    clerk.next("signal", type="offer")
    assert clerk.call("signal", {"appointment": str(booking.id), **ANSWER})["ok"]
    page.next("signal", type="answer")
    assert clerk.call("media", {"appointment": str(booking.id), "state": "connected"})["ok"]
    page.next("status", state="in_call")
    return clerk, page


def test_signals_reach_only_the_parties_of_their_own_call(store, desk, hub):
    a, b = desk.book(NINE, n=1), desk.book(NINE, n=2)
    assert a.counter != b.counter
    clerk_a, page_a = in_call(desk, hub, a)
    clerk_b = appliance(hub.url, desk.credentials[b.counter]).connect()
    clerk_b.next("hello")
    signed_in(clerk_b, "clerk2")
    page_b = citizen(hub.url, b.join_token).connect()
    page_b.next("status", state="waiting")

    # B is not admitted yet: nothing to signal into.
    assert page_b.call("signal", OFFER)["error"]["code"] == "not_admitted"
    # A citizen cannot name another call: the payload has no such field.
    smuggled = page_a.call("signal", {**OFFER, "appointment": str(b.id)})
    assert smuggled["error"]["code"] == "invalid_payload"
    # An appliance cannot signal into a call it does not hold, nor admit another counter's
    # citizen while that counter is online, nor end it.
    assert clerk_a.call("signal", {"appointment": str(b.id), **ANSWER})["error"]["code"] == (
        "not_your_call"
    )
    assert clerk_a.call("admit", {"appointment": str(b.id)})["error"]["code"] == "other_counter"
    assert (
        clerk_a.call("end", {"appointment": str(b.id), "outcome": "no_show"})["error"]["code"]
        == "not_your_call"
    )

    assert clerk_b.call("admit", {"appointment": str(b.id)})["ok"]
    page_b.next("status", state="admitted")
    assert page_a.call("signal", {**OFFER, "sdp": "v=0\r\nfor-a\r\n"})["ok"]
    assert page_b.call("signal", {**OFFER, "sdp": "v=0\r\nfor-b\r\n"})["ok"]
    assert clerk_a.next("signal", type="offer")["sdp"] == "v=0\r\nfor-a\r\n"
    assert clerk_b.next("signal", type="offer")["sdp"] == "v=0\r\nfor-b\r\n"
    assert clerk_b.call("signal", {"appointment": str(b.id), **ANSWER})["ok"]
    page_b.next("signal", type="answer")
    # Nothing crossed over: each side saw exactly its own call's messages.
    assert not [m for m in clerk_a.seen if m[0] == "signal"]
    assert not [m for m in clerk_b.seen if m[0] == "signal"]
    assert not [m for m in page_a.seen if m[0] == "signal"]


def test_malformed_events_are_refused_without_harming_anyone(store, desk, hub):
    a, c = desk.book(NINE, n=1), desk.book(NINE, n=2)
    clerk, page = in_call(desk, hub, a)
    rogue = citizen(hub.url, c.join_token).connect()
    rogue.next("status")
    bad = [
        ("signal", None),
        ("signal", "offer"),
        ("signal", [1, 2]),
        ("signal", {"type": "offer"}),
        ("signal", {"type": "offer", "sdp": 5}),
        ("signal", {"type": "bye", "sdp": "x"}),
        ("signal", {"type": "candidate", "sdp": "x"}),
        ("signal", {"type": "offer", "sdp": "x" * (64 * 1024 + 1)}),
        ("signal", {"type": "candidate", "candidate": {"candidate": "c", "sdpMLineIndex": -1}}),
        ("media", {"state": "exploded"}),
        ("hangup", {"now": True}),
        ("admit", {"appointment": str(a.id)}),
        ("no_such_event", {}),
    ]
    for event, data in bad:
        reply = rogue.call(event, data)
        assert reply["ok"] is False, (event, data, reply)
        assert reply["error"]["code"] in ("invalid_payload", "unknown_event", "not_admitted")
    # Appliance-side garbage too.
    for data in (None, {"appointment": "1"}, {"appointment": str(a.id), "state": "on"}):
        assert clerk.call("media", data)["error"]["code"] == "invalid_payload"
    assert clerk.call("end", {"appointment": str(a.id), "outcome": "great"})["ok"] is False

    # A flood is cut off by the per-connection rate, and the connection stays usable.
    replies = [rogue.call("signal", OFFER) for _ in range(150)]
    codes = {r["error"]["code"] for r in replies}
    assert codes == {"not_admitted", "rate_limited"}
    # ... and logged as a few lines with counts, not a line per refused event.
    logged = [line for line in hub.log.read_text().splitlines() if " refused " in line]
    assert len(logged) <= 10, logged[:20]
    # The call next door never noticed.
    assert page.call("signal", CANDIDATE)["ok"]
    assert clerk.next("signal", type="candidate")["candidate"] == CANDIDATE["candidate"]
    # A message over the size limit costs the sender its own connection, nobody else's.
    rogue.client.emit("signal", {"type": "offer", "sdp": "x" * 200_000}, namespace="/citizen")
    assert rogue.disconnected.wait(10)
    assert clerk.call("signal", {"appointment": str(a.id), **ANSWER})["ok"]
    assert page.next("signal", type="answer") == ANSWER


def test_browsers_from_other_origins_are_refused(store, desk, hub):
    booking = desk.book(NINE)
    stranger = citizen(hub.url, booking.join_token, Origin="https://evil.example")
    with pytest.raises(socketio.exceptions.ConnectionError):
        stranger.connect()
    polling = httpx.get(
        f"{hub.url}/socket.io/?EIO=4&transport=polling", headers={"Origin": "https://evil.example"}
    )
    assert polling.status_code == 403
    # The page served by the hub itself (websocket-client sends the hub's own origin) gets in.
    assert citizen(hub.url, booking.join_token).connect().next("status")["state"] == "waiting"
    metrics = httpx.get(f"{hub.url}/metrics").text
    assert 'buergeramt_realtime_refusals_total{code="bad_origin"} 2.0' in metrics
    assert "refused origin 'https://evil.example'" in hub.log.read_text()


def test_clerk_must_sign_in_to_admit(store, desk, hub):
    booking = desk.book(NINE)
    clerk = appliance(hub.url, desk.credentials[booking.counter]).connect()
    clerk.next("hello")
    page = citizen(hub.url, booking.join_token).connect()
    page.next("status", state="waiting")
    assert clerk.call("admit", {"appointment": str(booking.id)})["error"]["code"] == (
        "not_signed_in"
    )
    wrong = clerk.call("sign_in", {"username": "clerk", "password": "falsch-falsch"})
    assert wrong["error"]["code"] == "sign_in_failed"
    nobody = clerk.call("sign_in", {"username": "nobody", "password": "falsch-falsch"})
    assert nobody["error"]["code"] == "sign_in_failed"
    session = signed_in(clerk)
    assert clerk.call("sign_out")["ok"]
    assert clerk.call("admit", {"appointment": str(booking.id)})["error"]["code"] == (
        "not_signed_in"
    )
    # A signed-out session cannot be resumed.
    again = appliance(hub.url, desk.credentials[booking.counter], clerk_session=session)
    assert again.connect().next("hello")["clerk"] is None


def test_a_revoked_appliance_is_disconnected_at_once_and_refused(store, desk, hub):
    import subprocess
    import sys

    booking = desk.book(NINE)
    clerk = appliance(hub.url, desk.credentials[booking.counter]).connect()
    clerk.next("hello")
    deadline = Deadline(4)  # the hub checks every second
    subprocess.run(
        [
            sys.executable,
            "-c",
            "from hub.cli import main; main()",
            "devices",
            "revoke",
            str(desk.device_ids[booking.counter]),
        ],
        env=hub.env,
        check=True,
        capture_output=True,
    )
    assert clerk.next("revoked", timeout=deadline.remaining())
    assert clerk.disconnected.wait(deadline.remaining())
    refusal = appliance(hub.url, desk.credentials[booking.counter]).refused()
    assert refusal["code"] == "unknown_device"
    assert appliance(hub.url, "x" * 43).refused()["code"] == "unknown_device"


def test_a_citizen_who_reloads_rejoins_the_same_call(store, desk, hub):
    booking = desk.book(NINE)
    clerk, page = in_call(desk, hub, booking)
    page.client.disconnect()  # the page reloads
    assert clerk.next("peer_left") == {"appointment": str(booking.id)}
    assert clerk.next("call", state="reconnecting")

    reloaded = citizen(hub.url, booking.join_token).connect()
    status = reloaded.next("status")
    assert status["state"] == "reconnecting" and status["ice_servers"]
    assert clerk.next("peer_rejoined") == {"appointment": str(booking.id)}
    # The page offers afresh; the call is restored when media flows again.
    assert reloaded.call("signal", OFFER)["ok"]
    assert clerk.next("signal", type="offer")["sdp"] == OFFER["sdp"]
    assert clerk.call("media", {"appointment": str(booking.id), "state": "connected"})["ok"]
    assert reloaded.next("status", state="in_call")

    # The same link opened in a second tab: the newest wins, the older is told and closed.
    second = citizen(hub.url, booking.join_token).connect()
    assert reloaded.next("replaced") == {}
    assert reloaded.disconnected.wait(5)
    assert second.next("status")["state"] == "reconnecting"
    assert second.call("signal", OFFER)["ok"]
    events = [event for event, _, _ in states(store, booking.id)]
    assert events == ["join", "admit", "offer", "connected", "lost", "connected", "lost"]


def test_an_appliance_that_reconnects_is_told_its_call(store, desk, hub):
    booking = desk.book(NINE)
    clerk = appliance(hub.url, desk.credentials[booking.counter]).connect()
    clerk.next("hello")
    session = signed_in(clerk)
    clerk, page = in_call(desk, hub, booking, clerk=clerk)
    clerk.client.disconnect()
    assert page.next("peer_left") == {"appointment": str(booking.id)}
    assert page.next("status", state="reconnecting")

    back = appliance(hub.url, desk.credentials[booking.counter], clerk_session=session).connect()
    hello = back.next("hello")
    assert hello["clerk"]["name"] == "Frau Schmidt"
    assert hello["call"]["appointment"] == str(booking.id)
    assert hello["call"]["state"] == "reconnecting" and hello["call"]["ice_servers"]
    assert page.next("peer_rejoined") == {"appointment": str(booking.id)}
    assert page.call("signal", OFFER)["ok"]
    assert back.next("signal", type="offer")
    assert back.call("media", {"appointment": str(booking.id), "state": "connected"})["ok"]
    assert page.next("status", state="in_call")


def test_another_counter_takes_a_citizen_whose_counter_is_offline(store, desk, hub):
    booking = desk.book(NINE)
    other = next(c for c in desk.credentials if c != booking.counter)
    helper = appliance(hub.url, desk.credentials[other]).connect()
    helper.next("hello")
    signed_in(helper, "clerk2")
    page = citizen(hub.url, booking.join_token).connect()
    status = page.next("status", state="waiting")
    assert status["wait"] == {"position": 1, "minutes": None, "reason": "counter_offline"}
    lobby = helper.next("lobby")
    while not lobby["unattended"]:
        lobby = helper.next("lobby")
    assert lobby["waiting"] == []
    assert lobby["unattended"][0]["appointment"] == str(booking.id)

    # While the citizen's own counter is online, it is that counter's citizen.
    own = appliance(hub.url, desk.credentials[booking.counter]).connect()
    own.next("hello")
    assert helper.call("admit", {"appointment": str(booking.id)})["error"]["code"] == (
        "other_counter"
    )
    own.client.disconnect()
    deadline = __import__("time").monotonic() + 5
    while (reply := helper.call("admit", {"appointment": str(booking.id)}))["ok"] is False:
        assert __import__("time").monotonic() < deadline, reply
    assert reply["call"]["counter"] == other
    assert reply["call"]["assigned_counter"] == booking.counter
    assert page.next("status", state="admitted")


def test_a_hub_restart_loses_no_call_and_both_sides_come_back_by_themselves(store, desk, hub):
    booking = desk.book(NINE)
    clerk = appliance(hub.url, desk.credentials[booking.counter], reconnection=True).connect()
    clerk.next("hello")
    clerk.auth["clerk_session"] = signed_in(clerk)  # what the appliance keeps for reconnects
    page = citizen(hub.url, booking.join_token, reconnection=True).connect()
    clerk, page = in_call(desk, hub, booking, clerk=clerk, page=page)

    hub.restart()

    hello = clerk.next("hello", timeout=20)
    assert hello["clerk"]["username"] == "clerk"
    assert hello["call"]["appointment"] == str(booking.id)
    status = page.next("status", timeout=20, state="reconnecting")
    assert status["ice_servers"]
    assert page.call("signal", OFFER)["ok"]
    assert clerk.next("signal", type="offer")["sdp"] == OFFER["sdp"]
    assert clerk.call("media", {"appointment": str(booking.id), "state": "connected"})["ok"]
    assert page.next("status", state="in_call")
    with store.transaction() as session:
        assert session.get(CallRow, booking.id).state == "in_call"


def test_the_lobby_tells_waiting_citizens_honestly_how_long_the_clerk_is_busy(store, desk, hub):
    with store.transaction() as session:  # one counter open, so all book the same one
        session.get(CounterRow, 2).active = False
    store.forget_catalogue()
    running = desk.book(berlin(2026, 3, 2, 8, 30), n=1)  # planned 08:30-08:40; now it is 08:50
    next_up = desk.book(berlin(2026, 3, 2, 8, 45), n=2)
    after = desk.book(NINE, n=3)
    assert running.counter == next_up.counter == after.counter == 1
    in_call(desk, hub, running)

    first = citizen(hub.url, next_up.join_token).connect()
    status = first.next("status", state="waiting")
    # The clerk runs over: nobody knows by how much, so the page says so and counts a minute.
    assert status["wait"] == {"position": 1, "minutes": 1, "reason": "overrunning"}
    second = citizen(hub.url, after.join_token).connect()
    status = second.next("status", state="waiting")
    # Behind the 10 minutes of the citizen ahead: past this appointment's own 09:00 start.
    assert status["wait"] == {"position": 2, "minutes": 11, "reason": "overrunning"}


def test_two_hub_processes_share_calls_through_redis_and_postgresql(pg_store, serve_hub):
    import uuid

    need_redis()
    desk = make_desk(pg_store, MONDAY_EARLY)
    booking = desk.book(NINE)
    env = {
        "clock_start": berlin(2026, 3, 2, 8, 50).isoformat(),
        "redis_url": REDIS_URL,
        "rate_limit_key_prefix": f"test-{uuid.uuid4().hex}",
        # Each test hub's clock starts at clock_start when its process starts, so the two
        # clocks differ by a second or two; presence must tolerate that (real clocks do not).
        "presence_seconds": "5",
    }
    one, two = serve_hub(pg_store.url, **env), serve_hub(pg_store.url, **env)

    clerk = appliance(two.url, desk.credentials[booking.counter]).connect()
    clerk.next("hello")
    signed_in(clerk)
    page = citizen(one.url, booking.join_token).connect()
    page.next("status", state="waiting")
    lobby = clerk.next("lobby")  # sent by process one, through Redis
    while not lobby["waiting"]:
        lobby = clerk.next("lobby")
    assert lobby["waiting"][0]["appointment"] == str(booking.id)

    assert clerk.call("admit", {"appointment": str(booking.id)})["ok"]
    assert page.next("status", state="admitted")["ice_servers"] == []
    assert page.call("signal", OFFER)["ok"]
    assert clerk.next("signal", type="offer") == {"appointment": str(booking.id), **OFFER}
    assert clerk.call("signal", {"appointment": str(booking.id), **ANSWER})["ok"]
    assert page.next("signal", type="answer") == ANSWER
    for _ in range(3):
        assert page.call("signal", CANDIDATE)["ok"]
        assert clerk.next("signal", type="candidate")["candidate"] == CANDIDATE["candidate"]
    assert clerk.call("media", {"appointment": str(booking.id), "state": "connected"})["ok"]
    assert page.next("status", state="in_call")
    assert page.call("hangup")["ok"]
    assert clerk.next("call", state="ended")["outcome"] == "done"


def test_cancelling_while_waiting_ends_the_lobby_place(store, desk, hub):
    from hub.operations.booking import cancel

    booking = desk.book(NINE)
    page = citizen(hub.url, booking.join_token).connect()
    page.next("status", state="waiting")
    cancel(store, MONDAY_EARLY, booking.id, booking.manage_token)  # from the e-mail's link
    ended = page.next("status", timeout=10, state="ended")
    assert ended["outcome"] == "cancelled"
    assert states(store, booking.id)[-1] == ("end", "ended", "cancelled")


def test_a_call_whose_citizen_does_not_come_back_is_dropped(store, desk, serve_hub):
    hub = serve_hub(
        store.url,
        clock_start=berlin(2026, 3, 2, 8, 50).isoformat(),
        presence_seconds="1",
        reconnect_grace_seconds="5",
    )
    booking = desk.book(NINE)
    clerk, page = in_call(desk, hub, booking)
    page.client.disconnect()  # the phone went into a tunnel and stayed there
    assert clerk.next("call", state="reconnecting")
    ended = clerk.next("call", timeout=15, state="ended")
    assert ended["outcome"] == "dropped"
    assert states(store, booking.id)[-2:] == [
        ("lost", "reconnecting", None),
        ("end", "ended", "dropped"),
    ]
    # The link no longer opens the call.
    assert citizen(hub.url, booking.join_token).refused()["code"] == "call_ended"


def test_the_device_check_result_reaches_the_clerk(store, desk, hub):
    import httpx

    booking = desk.book(NINE)
    url = f"{hub.url}/join/{booking.join_token}/device-check"
    assert httpx.post(url, json={"result": "maybe"}).status_code == 422
    assert httpx.post(url, content=b"not json").status_code == 422
    assert (
        httpx.post(f"{hub.url}/join/{'x' * 43}/device-check", json={"result": "ready"}).status_code
        == 404
    )
    assert httpx.post(url, json={"result": "audio_only"}).status_code == 204
    # The page's connection test gets ICE servers with TURN credentials of its own.
    ice = httpx.get(f"{hub.url}/join/{booking.join_token}/ice").json()["ice_servers"]
    assert [s for s in ice if s.get("username", "").split(":")[-1].startswith("check-")]
    assert httpx.get(f"{hub.url}/join/{'y' * 43}/ice").status_code == 404
    clerk = appliance(hub.url, desk.credentials[booking.counter]).connect()
    clerk.next("hello")
    signed_in(clerk)
    page = citizen(hub.url, booking.join_token).connect()
    page.next("status", state="waiting")
    lobby = clerk.next("lobby")
    while not lobby["waiting"]:
        lobby = clerk.next("lobby")
    assert lobby["waiting"][0]["device_check"] == "audio_only"


def test_the_counters_day_and_the_outcome_recorded_after_the_call(store, desk, hub):
    booking = desk.book(NINE)
    at_ten = [desk.book(berlin(2026, 3, 2, 10, 0), n=n) for n in (1, 2)]
    other = next(b for b in at_ten if b.counter != booking.counter)
    same = next(b for b in at_ten if b.counter == booking.counter)
    clerk = appliance(hub.url, desk.credentials[booking.counter]).connect()
    clerk.next("hello")
    signed_in(clerk)

    day = clerk.call("day", {})
    assert day["ok"]
    assert [d["appointment"] for d in day["day"]] == [str(booking.id), str(same.id)]
    first = day["day"][0]
    assert first["start"] == "2026-03-02T09:00:00+01:00"
    assert first["state"] == "scheduled" and first["may_close"] is False  # 08:50: not late
    assert first["service"]["documents_de"]  # what the citizen should have ready
    assert str(other.id) not in {d["appointment"] for d in day["day"]}

    page = citizen(hub.url, booking.join_token).connect()
    page.next("status", state="waiting")
    assert clerk.call("admit", {"appointment": str(booking.id)})["ok"]
    refused = clerk.call("record", {"appointment": str(booking.id), "outcome": "done"})
    assert refused["error"]["code"] == "not_allowed"  # not before the call ended
    assert clerk.call("end", {"appointment": str(booking.id), "outcome": "done"})["ok"]
    record = {"appointment": str(booking.id), "outcome": "follow_up", "notes": "  Nachweis fehlt "}
    recorded = clerk.call("record", record)
    assert recorded["ok"] and recorded["call"]["outcome"] == "follow_up"
    assert recorded["call"]["notes"] == "Nachweis fehlt"
    too_long = clerk.call("record", {**record, "notes": "x" * 4001})
    assert too_long["error"]["code"] == "invalid_payload"

    # Another counter's appliance may not record (or correct) this call's outcome.
    stranger = appliance(hub.url, desk.credentials[other.counter]).connect()
    stranger.next("hello")
    signed_in(stranger, "clerk2")
    taken = stranger.call("record", {**record, "outcome": "no_show"})
    assert taken["error"]["code"] == "not_your_call"

    with store.transaction() as session:
        row = session.get(CallRow, booking.id)
        assert (row.outcome, row.notes) == ("follow_up", "Nachweis fehlt")
    assert states(store, booking.id)[-2:] == [
        ("end", "ended", "done"),
        ("record", "ended", "follow_up"),
    ]
    after = clerk.call("day", {})["day"][0]
    assert (after["state"], after["outcome"]) == ("ended", "follow_up")
    for party in (page, clerk, stranger):
        party.close()


def test_the_device_credential_alone_reads_no_names_and_closes_nothing(store, desk, hub):
    booking = desk.book(NINE)
    at_half_past_eleven = [desk.book(berlin(2026, 3, 2, 11, 30), n=n) for n in (1, 2)]
    later = next(b for b in at_half_past_eleven if b.counter == booking.counter)
    from hub.operations import accounts

    # A second appliance at the same counter, where nobody signs in.
    _, second = accounts.add_device(store, booking.counter, "", MONDAY_EARLY)
    bare = appliance(hub.url, second).connect()
    assert bare.next("hello")["lobby"] == {}
    for event, data in [
        ("day", {}),
        ("end", {"appointment": str(later.id), "outcome": "no_show"}),
        ("record", {"appointment": str(booking.id), "outcome": "done", "notes": ""}),
        ("admit", {"appointment": str(booking.id)}),
    ]:
        assert bare.call(event, data)["error"]["code"] == "not_signed_in", event

    # A signed-in clerk at a second appliance of the same counter sees the citizen by name;
    # by then the bare appliance would have had the same lobby, were it in the room.
    clerk = appliance(hub.url, desk.credentials[booking.counter]).connect()
    clerk.next("hello")
    assert signed_in(clerk)
    page = citizen(hub.url, booking.join_token).connect()
    page.next("status", state="waiting")
    lobby = clerk.next("lobby")
    while not lobby["waiting"]:
        lobby = clerk.next("lobby")
    assert lobby["waiting"][0]["name"] == "Person 0"
    while not bare.inbox.empty():
        bare.seen.append(bare.inbox.get())
    assert "lobby" not in [event for event, _ in bare.seen]

    # Even a clerk cannot close the 11:30 appointment as "did not come" at 08:50.
    early = clerk.call("end", {"appointment": str(later.id), "outcome": "no_show"})
    assert early["error"]["code"] == "too_early"
    assert states(store, later.id) == []


def test_connect_and_disconnect_cannot_be_sent_as_events(store, desk, hub):
    booking = desk.book(NINE)
    page = citizen(hub.url, booking.join_token).connect()
    page.next("status", state="waiting")
    for event in ("connect", "disconnect"):
        reply = page.call(event, {"join": booking.join_token})
        assert reply["error"]["code"] == "reserved_event", reply
    # The page is still in the lobby, once.
    assert page.call("hangup", {})["error"]["code"] == "not_admitted"


def test_a_call_whose_media_was_relayed_once_counts_as_relayed(store, desk, hub):
    booking = desk.book(NINE)
    clerk = appliance(hub.url, desk.credentials[booking.counter]).connect()
    clerk.next("hello")
    signed_in(clerk)
    page = citizen(hub.url, booking.join_token).connect()
    page.next("status", state="waiting")
    assert clerk.call("admit", {"appointment": str(booking.id)})["ok"]
    page.next("status", state="admitted")

    def relayed():
        with store.transaction() as session:
            return session.scalar(
                select(CallRow.relayed).where(CallRow.appointment_id == booking.id)
            )

    assert relayed() is None  # nobody said yet
    bad = page.call("media", {"state": "connected", "path": "teleported"})
    assert bad["error"]["code"] == "invalid_payload" and relayed() is None
    direct = {"appointment": str(booking.id), "state": "connected", "path": "direct"}
    assert clerk.call("media", direct)["state"] == "in_call"
    assert relayed() is False
    # The page's report comes second: the call is in_call already, the path is noted all the same.
    assert page.call("media", {"state": "connected", "path": "relayed"})["state"] == "in_call"
    assert relayed() is True
    assert page.call("media", {"state": "disconnected"})["state"] == "reconnecting"
    assert page.call("media", {"state": "connected", "path": "direct"})["state"] == "in_call"
    assert relayed() is True  # once relayed, the call counts as relayed
