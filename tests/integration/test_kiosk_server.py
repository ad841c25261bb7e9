"""The kiosk's local server, over real sockets: it answers only as 127.0.0.1, refuses other
origins, and answers every malformed command with a clear error, changing nothing."""

from __future__ import annotations

import asyncio
import json
import shutil

import aiohttp
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.store import Store
from hub.store.seed import seed_defaults
from tests.support.appliance_runner import RunningAppliance
from tests.support.environment import MONDAY_EARLY, berlin
from tests.support.hub import ServedHub
from tests.support.realtime_clients import PASSWORD, make_desk

CLOSING = (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR)


@pytest.fixture(scope="module")
def kiosk(tmp_path_factory, sqlite_template):
    """One appliance with its kiosk server (module-wide: the fuzz test sends many commands)."""
    tmp = tmp_path_factory.mktemp("kiosk")
    shutil.copy(sqlite_template, tmp / "hub.sqlite3")
    store = Store(f"sqlite:///{tmp / 'hub.sqlite3'}")
    with store.transaction() as session:
        seed_defaults(session)
    desk = make_desk(store, MONDAY_EARLY)
    booking = desk.book(berlin(2026, 3, 2, 9, 0))
    clock = {"BUERGERAMT_CLOCK_START": berlin(2026, 3, 2, 8, 50).isoformat()}
    hub = ServedHub(store.url, clock, tmp)
    running = RunningAppliance(
        kiosk=True, hub_url=hub.url, device_credential=desk.credentials[booking.counter]
    ).start()
    yield running
    running.stop()
    hub.stop()
    store.dispose()


OWN = "own"  # the kiosk's own origin, as its page sends it


def talk(kiosk, *messages: str | dict, origin: str | None = OWN) -> list[dict]:
    """Open the kiosk socket (by default as the kiosk's own page), send each message, collect
    the replies."""

    async def session() -> list[dict]:
        sent = kiosk.kiosk_url if origin == OWN else origin
        headers = {"Origin": sent} if sent else {}
        async with (
            aiohttp.ClientSession() as http,
            http.ws_connect(f"{kiosk.kiosk_url}/ws", headers=headers) as ws,
        ):
            first = await ws.receive_json(timeout=5)
            assert first["type"] == "state"
            replies = []
            for message in messages:
                await ws.send_str(message if isinstance(message, str) else json.dumps(message))
                while True:
                    answer = await ws.receive(timeout=5)
                    assert answer.type not in CLOSING, f"the kiosk closed the socket: {answer}"
                    if answer.type is aiohttp.WSMsgType.TEXT:
                        data = json.loads(answer.data)
                        if data["type"] == "reply":
                            replies.append(data)
                            break
            return replies

    return asyncio.run_coroutine_threadsafe(session(), kiosk.loop).result(20)


def test_the_page_is_served_only_to_loopback_names(kiosk):
    page = httpx.get(kiosk.kiosk_url + "/")
    assert page.status_code == 200 and 'lang="de"' in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert 'lang="en"' in httpx.get(kiosk.kiosk_url + "/?lang=en").text
    port = kiosk.kiosk.port
    rebound = httpx.get(kiosk.kiosk_url + "/", headers={"Host": f"evil.example:{port}"})
    assert rebound.status_code == 403  # a DNS-rebinding page gets nothing


def test_the_kiosk_serves_an_icon(kiosk):
    icon = httpx.get(kiosk.kiosk_url + "/favicon.ico")
    assert icon.status_code == 200
    assert icon.headers["content-type"].startswith("image/svg+xml")
    assert 'rel="icon"' in httpx.get(kiosk.kiosk_url + "/").text


def test_websockets_from_other_origins_are_refused(kiosk):
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        talk(kiosk, origin="https://evil.example")
    assert refused.value.status == 403
    assert talk(kiosk, {"id": 1, "cmd": "activity"}, origin=kiosk.kiosk_url) == [
        {"type": "reply", "id": 1, "ok": True}
    ]


def test_commands_are_checked_and_refused_with_a_reason(kiosk):
    replies = talk(
        kiosk,
        "not json",
        {"id": 2, "cmd": "launch_rockets"},
        {"id": 3, "cmd": "admit", "appointment": "../../etc"},
        {"id": 4, "cmd": "sign_in", "username": "clerk", "password": PASSWORD, "pin": "12"},
        {"id": 5, "cmd": "unlock", "pin": "1234"},
        {"id": 6, "cmd": "send", "kind": "camera", "on": "yes"},
    )
    codes = [(r["id"], r["ok"], r["error"]["code"] if not r["ok"] else None) for r in replies]
    assert codes == [
        (None, False, "invalid_command"),
        (2, False, "invalid_command"),
        (3, False, "invalid_command"),
        (4, False, "invalid_pin"),  # the PIN is checked before the hub is asked
        (5, True, None),  # nothing locked: nothing to open
        (6, False, "invalid_command"),
    ]
    assert kiosk.counter.clerk is None  # nobody got signed in on the way
    assert kiosk.counter.sending.camera is True


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.dictionaries(
        st.sampled_from(["id", "cmd", "pin", "appointment", "kind", "on", "notes", "extra"]),
        st.one_of(st.none(), st.integers(), st.text(max_size=40), st.booleans()),
    )
)
def test_arbitrary_commands_never_break_the_kiosk(kiosk, command):
    command.setdefault("id", 7)
    (reply,) = talk(kiosk, command)
    assert reply["type"] == "reply"
    assert reply["ok"] or reply["error"]["code"]
    assert kiosk.counter.clerk is None


def test_a_local_process_without_an_origin_is_refused(kiosk):
    """Only the kiosk's own page (a browser always sends Origin) may open the socket."""
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        talk(kiosk, origin=None)
    assert refused.value.status == 403
    with pytest.raises(aiohttp.WSServerHandshakeError):
        talk(kiosk, origin="null")  # a sandboxed frame or a file:// page


def test_deep_or_oversized_messages_are_refused_and_the_socket_stays(kiosk):
    nested = "[" * 5000 + "]" * 5000  # 10 KB: json.loads raised RecursionError
    deep_object = '{"id": 8, "cmd": "notes", "notes": ' + "[" * 40 + "]" * 40 + "}"
    oversized = json.dumps({"id": 9, "cmd": "activity", "pad": "x" * 40_000})
    replies = talk(kiosk, nested, deep_object, oversized, {"id": 10, "cmd": "lock"})
    codes = [(r["id"], r["ok"] or r["error"]["code"]) for r in replies]
    assert codes[:3] == [(None, "too_deep"), (None, "too_deep"), (None, "too_large")]
    assert codes[3][0] == 10  # the same socket still answers


def test_note_drafts_are_kept_only_for_the_counters_own_appointments(kiosk):
    """Drafts were unbounded (+76 MB for 20,000): only appointments of this counter's day (or
    its call) may have one, each at most MAX_NOTES long."""
    import uuid

    sign_in = {"id": 1, "cmd": "sign_in", "username": "clerk", "password": PASSWORD, "pin": "1234"}
    assert talk(kiosk, sign_in)[0]["ok"]
    try:
        kiosk.wait_for(lambda: bool(kiosk.counter.day))
        ours = kiosk.counter.day[0].appointment
        strangers = [
            {"id": 100 + i, "cmd": "notes", "appointment": str(uuid.uuid4()), "notes": "x" * 4000}
            for i in range(200)
        ]
        mine = {"id": 2, "cmd": "notes", "appointment": ours, "notes": "Ausweis fehlt"}
        replies = talk(kiosk, *strangers, mine)
        assert {r["ok"] or r["error"]["code"] for r in replies[:-1]} == {"unknown_appointment"}
        assert replies[-1]["ok"]
        assert kiosk.counter.drafts.kept() == {ours: "Ausweis fehlt"}
    finally:
        talk(kiosk, {"id": 3, "cmd": "sign_out"})
    assert kiosk.counter.drafts.kept() == {}


def test_the_sign_in_screen_acts_for_nobody(kiosk):
    """While no clerk is signed in, a local process on the socket can close, record or note
    nothing (issue 12: "did not come" at 09:30 for the 13:00 appointment)."""
    appointment = "0b7e3a52-5d0c-4d7e-9a43-4e0c1f1f2a10"
    replies = talk(
        kiosk,
        {"id": 1, "cmd": "no_show", "appointment": appointment},
        {"id": 2, "cmd": "hang_up", "appointment": appointment},
        {"id": 3, "cmd": "record", "appointment": appointment, "outcome": "done", "notes": "x"},
        {"id": 4, "cmd": "notes", "appointment": appointment, "notes": "geb. 01.01.1970"},
    )
    assert [r["error"]["code"] for r in replies] == ["not_signed_in"] * 4
    assert appointment not in kiosk.counter.drafts.kept()


def test_what_the_kiosk_sends_fits_the_schema_it_serves(kiosk):
    """The JSON Schema at /protocol/v1/kiosk.schema.json describes the real state messages and
    replies of a signed-in screen with its day, and a page's commands; it is not vacuous."""
    import jsonschema

    document = httpx.get(f"{kiosk.kiosk_url}/protocol/v1/kiosk.schema.json").json()

    def validator(direction: str, part: str) -> jsonschema.Draft202012Validator:
        schema = document["events"][direction][part[0]][part[1]]
        return jsonschema.Draft202012Validator({"$defs": document["$defs"], **schema})

    state = validator("to_client", ("state", "payload"))
    reply = validator("to_server", ("command", "answer"))
    command = validator("to_server", ("command", "payload"))
    sign_in = {"id": 1, "cmd": "sign_in", "username": "clerk", "password": PASSWORD, "pin": "1234"}
    command.validate(sign_in)
    assert talk(kiosk, sign_in)[0]["ok"]
    try:
        kiosk.wait_for(lambda: bool(kiosk.counter.day))

        async def current() -> dict:  # read on the appliance's own loop
            return kiosk.kiosk.state()

        message = {"type": "state", "state": kiosk.run(current())}
        assert message["state"]["screen"] == "day" and message["state"]["day"]
        state.validate(message)
        for answer in talk(kiosk, {"id": 2, "cmd": "notes", "appointment": "nope", "notes": ""}):
            reply.validate(answer)
        broken = {**message, "state": {**message["state"], "screen": "elsewhere"}}
        assert not state.is_valid(broken)
        assert not command.is_valid({"id": 3, "cmd": "record", "appointment": "x"})
    finally:
        talk(kiosk, {"id": 4, "cmd": "sign_out"})
