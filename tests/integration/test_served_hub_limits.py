"""The served hub under floods and misbehaving connections: Engine.IO handshakes, half-open
requests, WebSockets that end untidily (issue 12, points 6 and 19)."""

from __future__ import annotations

import socket
import time

import httpx
import pytest
import websocket

from tests.support.environment import MONDAY_EARLY, berlin
from tests.support.realtime_clients import citizen, make_desk

NINE = berlin(2026, 3, 2, 9, 0)
HANDSHAKE = "/socket.io/?EIO=4&transport=polling"


@pytest.fixture
def desk(sqlite_store):
    return make_desk(sqlite_store, MONDAY_EARLY)


def served(serve_hub, store, **env: str):
    return serve_hub(
        store.url,
        clock_start=berlin(2026, 3, 2, 8, 50).isoformat(),
        rate_limit_enabled="false",
        **env,
    )


def handshake(client: httpx.Client, url: str, address: str) -> httpx.Response:
    return client.get(url + HANDSHAKE, headers={"X-Forwarded-For": address})


def sid_of(response: httpx.Response) -> str:
    import json

    assert response.text.startswith("0"), response.text
    return json.loads(response.text[1:])["sid"]


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout}s: {what}"
        time.sleep(0.1)


def test_handshakes_are_limited_per_address_expire_and_leave_citizens_in(
    sqlite_store, desk, serve_hub
):
    hub = served(
        serve_hub,
        sqlite_store,
        trusted_proxies="1",
        realtime_pending_per_address="5",
        realtime_handshake_seconds="2",
    )
    flooder = "203.0.113.7"
    with httpx.Client(timeout=10) as client:
        accepted = [handshake(client, hub.url, flooder) for _ in range(5)]
        assert [r.status_code for r in accepted] == [200] * 5
        sids = [sid_of(r) for r in accepted]
        started = time.monotonic()
        refused = [handshake(client, hub.url, flooder) for _ in range(20)]
        assert {r.status_code for r in refused} == {429}
        assert time.monotonic() - started < 10  # refused at once, not after a wait
        assert "too_many_handshakes" in refused[0].text

        # A citizen from another address is not affected by the flood.
        booking = desk.book(NINE)
        page = citizen(hub.url, booking.join_token, **{"X-Forwarded-For": "198.51.100.2"})
        page.connect()
        assert page.next("status", state="waiting")

        # Sessions that never connected a namespace are closed after the expiry ...
        def gone(sid: str) -> bool:
            answer = client.post(
                f"{hub.url}{HANDSHAKE}&sid={sid}",
                content="3",  # a pong: harmless on a live session
                headers={"X-Forwarded-For": flooder},
            )
            return answer.status_code == 400

        wait_until(lambda: all(gone(s) for s in sids), 20, "pending sessions closed")
        # ... and the address may shake hands again.
        assert handshake(client, hub.url, flooder).status_code == 200
        # The citizen, who connected a namespace, is still there.
        assert page.client.connected and not page.disconnected.is_set()
        page.close()
    metrics = httpx.get(f"{hub.url}/metrics").text
    assert 'buergeramt_realtime_refusals_total{code="too_many_handshakes"} 20.0' in metrics


def test_handshakes_are_limited_in_total(sqlite_store, serve_hub):
    hub = served(
        serve_hub,
        sqlite_store,
        trusted_proxies="1",
        realtime_pending_per_address="100",
        realtime_pending_total="10",
        realtime_handshake_seconds="30",
    )
    with httpx.Client(timeout=10) as client:
        codes = [handshake(client, hub.url, f"192.0.2.{i}").status_code for i in range(15)]
    assert codes == [200] * 10 + [503] * 5


def test_a_half_sent_request_is_closed_after_the_header_timeout(sqlite_store, serve_hub):
    hub = served(serve_hub, sqlite_store, header_timeout_seconds="2")
    with socket.create_connection(("127.0.0.1", hub.port), timeout=30) as sock:
        sock.sendall(b"GET /healthz HT")
        started = time.monotonic()
        assert sock.recv(100) == b""  # closed by the hub (a 30 s timeout would raise)
        assert time.monotonic() - started < 25
    with socket.create_connection(("127.0.0.1", hub.port), timeout=30) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        started, answer = time.monotonic(), b""
        while chunk := sock.recv(4096):  # until the hub closes the idle keep-alive connection
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 200")
        assert time.monotonic() - started < 25
    assert "Traceback" not in hub.log.read_text()


def test_websockets_outlive_the_header_timeout(sqlite_store, desk, serve_hub):
    hub = served(serve_hub, sqlite_store, header_timeout_seconds="1")
    booking = desk.book(NINE)
    page = citizen(hub.url, booking.join_token).connect()
    assert page.next("status", state="waiting")
    time.sleep(4)  # well past the timeout, and no traffic but the hub's own
    assert page.client.connected
    assert not page.disconnected.is_set()
    page.close()


def test_bytes_after_a_closed_websocket_are_not_logged_as_errors(sqlite_store, serve_hub):
    hub = served(serve_hub, sqlite_store)
    ws = websocket.create_connection(
        f"ws://127.0.0.1:{hub.port}/socket.io/?EIO=4&transport=websocket", timeout=10
    )
    assert ws.recv().startswith("0{")
    ws.send("1")  # Engine.IO close: the hub closes the WebSocket
    opcode, _ = ws.recv_data(control_frame=True)
    assert opcode == websocket.ABNF.OPCODE_CLOSE
    ws.sock.sendall(b"\x88\x82abcdXY")  # a late closing frame of the client's own
    ws.sock.settimeout(10)
    assert ws.sock.recv(100) == b""  # the hub hung up: no HTTP on an upgraded connection
    ws.sock.close()
    # the log is written by another process; give it a moment to catch up
    time.sleep(0.5)
    log = hub.log.read_text()
    assert "Invalid HTTP method" not in log
    assert "ERROR" not in log


def test_an_unexpected_polling_packet_does_not_hang_its_request(sqlite_store, serve_hub):
    """A POST of a NOOP packet made Engine.IO disconnect the session and wait, forever, for a
    poll that never came: the request (and its greenlet) hung."""
    hub = served(serve_hub, sqlite_store)
    with httpx.Client(timeout=15) as client:
        sid = sid_of(client.get(hub.url + HANDSHAKE))
        answer = client.post(f"{hub.url}{HANDSHAKE}&sid={sid}", content="6")
        assert answer.status_code == 400
        assert client.post(f"{hub.url}{HANDSHAKE}&sid={sid}", content="3").status_code == 400
