"""The appliance's link to the hub: a python-socketio client that reconnects by itself, signs
its clerk in, follows the lobby and the counter's day, and runs the calls it holds
(docs/protocol.md). The kiosk screen reads this state and acts through the methods below."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any, Literal

import socketio
from aiortc import RTCIceTransportPolicy
from aiortc.contrib.media import MediaRelay

from appliance.devices.audio import open_microphone, open_speaker
from appliance.media.call import Call
from appliance.devices.camera import open_camera
from appliance.config import ApplianceSettings
from appliance.media.encoded import PacketEncoder, SoftwareEncoder
from appliance.media.feed import Feed
from appliance.media.switch import Sending

log = logging.getLogger("appliance.hub")
NAMESPACE = "/appliance"
DAY_COALESCE_S = 0.3  # lobby and call news arrive in bursts: fetch the day once per burst
DAY_REFRESH_S = 60.0
# Signals for a call this appliance does not hold yet (after a restart the citizen's offer can
# overtake `hello`) are kept this long, this many per call, for this many calls.
EARLY_SIGNAL_S = 15.0
EARLY_SIGNALS_PER_CALL = 64
EARLY_CALLS = 4

# A hub that refuses this appliance's credential (code `unknown_device`) is asked again this
# seldom, in case IT enrols it again; `unavailable` (the hub's database is away) is no refusal.
REFUSED_RETRY_S = 60.0
REFUSED_MESSAGE = (
    "the hub refused this appliance: unknown or revoked device credential; IT must enrol it"
    " again (buergeramt devices add --counter N) and set BUERGERAMT_APPLIANCE_DEVICE_CREDENTIAL"
)

HubState = Literal["connecting", "online", "offline", "refused"]


class HubClient:
    """One appliance's connection and its calls."""

    def __init__(self, settings: ApplianceSettings) -> None:
        self.settings = settings
        self.camera = open_camera(settings)
        self.microphone = open_microphone(settings)
        self.speaker = open_speaker(settings)
        self.relay = MediaRelay()
        self.feed = Feed()
        self.sending = Sending()
        self.calls: dict[str, Call] = {}
        self.views: dict[str, dict[str, Any]] = {}  # the hub's view of each held call
        self.clerk: dict[str, Any] | None = None
        self.counter: dict[str, Any] | None = None
        self.lobby: dict[str, Any] = {}
        self.day: list[dict[str, Any]] = []
        self.to_record: dict[str, Any] | None = None  # an ended call awaiting its outcome
        self.screens = 0  # kiosk pages open now: someone who can be asked for an outcome
        self._admit_task: asyncio.Future[None] | None = None
        self.unsent_ends: set[str] = set()  # hung up while the hub was unreachable
        self.clerk_session: str | None = None
        self.state: HubState = "connecting"
        self.hello = asyncio.Event()
        self.listeners: list[Callable[[], None]] = []
        self._day_task: asyncio.Task[None] | None = None
        self._day_stale = False  # news of the day came since the last fetch started
        self._early: dict[str, list[tuple[float, dict[str, Any]]]] = {}
        self._refused = False  # the last connection attempt was refused (unknown_device)
        self.sio = socketio.AsyncClient(
            # A counter comes back within ~2 s of the hub; 30 devices retrying that often
            # are nothing for it.
            reconnection=True,
            reconnection_delay=0.5,
            reconnection_delay_max=2,
        )
        events = ("hello", "lobby", "call", "signal", "peer_left", "peer_rejoined", "revoked")
        for event in (*events, "day_changed"):
            self.sio.on(event, getattr(self, f"_on_{event}"), namespace=NAMESPACE)
        self.sio.on("disconnect", self._on_disconnect, namespace=NAMESPACE)
        self.sio.on("connect_error", self._on_connect_error, namespace=NAMESPACE)

    def changed(self) -> None:
        """Tell the listeners (the kiosk screen) that something they show changed."""
        for listener in self.listeners:
            listener()

    def _auth(self) -> dict[str, str]:
        auth = {"device": self.settings.device_credential}
        if self.clerk_session:
            auth["clerk_session"] = self.clerk_session
        return auth

    async def connect(self) -> None:
        """Connect (the client then reconnects on its own after any drop)."""
        await self.sio.connect(
            self.settings.hub_url,
            namespaces=[NAMESPACE],
            auth=self._auth,
            transports=["websocket"],
            wait_timeout=10,
        )

    async def run(self) -> None:
        """Connect (retrying until the hub answers) and stay connected until cancelled."""
        delay = 0.5
        while True:
            self._refused = False
            try:
                await self.connect()
                break
            except socketio.exceptions.ConnectionError as exc:
                if self._refused:  # logged by _on_connect_error
                    await asyncio.sleep(REFUSED_RETRY_S)
                    continue
                log.warning("hub not reachable (%s); retrying in %.0f s", exc, delay)
                self._set_state("offline")
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2)  # as the reconnection back-off: back within ~2 s
        try:
            await self.sio.wait()
        finally:
            # Closing a relayed peer connection waits for the TURN server; do not hang on it.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.close(), 5)

    async def close(self) -> None:
        """Hang up every call and disconnect."""
        for call in list(self.calls.values()):
            await call.close()
        self.calls.clear()
        if self._day_task is not None:
            self._day_task.cancel()
        if self.speaker is not None:
            await asyncio.to_thread(self.speaker.close)  # lets the card finish what it has
        await self.sio.disconnect()

    def _set_state(self, state: HubState) -> None:
        if state != self.state:
            self.state = state
            self.changed()

    async def emit(self, event: str, data: dict[str, Any]) -> dict[str, Any]:
        """Send an event and wait for the hub's acknowledgement (a refusal when unreachable)."""
        try:
            reply = await self.sio.call(event, data, namespace=NAMESPACE, timeout=10)
        except (socketio.exceptions.TimeoutError, socketio.exceptions.BadNamespaceError):
            reply = {"ok": False, "error": {"code": "hub_unreachable", "message": "no hub"}}
        if not reply.get("ok"):
            log.warning("hub refused %s: %s", event, reply.get("error"))
        return reply

    async def _send(self, event: str, data: dict[str, Any]) -> None:
        await self.emit(event, data)

    # --- what the clerk does (the kiosk screen calls these) ---

    async def sign_in(self, username: str, password: str) -> dict[str, Any]:
        """Sign a clerk in at this counter."""
        reply = await self.emit("sign_in", {"username": username, "password": password})
        if reply.get("ok"):
            self.clerk, self.clerk_session = reply["clerk"], reply["session"]
            self.lobby = reply.get("lobby") or {}
            self.refresh_day()
            self.changed()
            await self._maybe_admit()
        return reply

    async def sign_out(self) -> dict[str, Any]:
        """Sign the clerk out (the hub forgets the session even if this fails to reach it)."""
        reply = await self.emit("sign_out", {}) if self.state == "online" else {"ok": True}
        self.clerk, self.clerk_session = None, None
        self.lobby, self.day = {}, []
        self.changed()
        return reply

    async def admit(self, appointment: str) -> dict[str, Any]:
        """Let a waiting citizen in."""
        reply = await self.emit("admit", {"appointment": appointment})
        if reply.get("ok"):
            self._call(reply["call"])
            self.changed()
        return reply

    async def hang_up(self, appointment: str) -> dict[str, Any]:
        """End the call at once (recorded as done until the clerk picks the outcome)."""
        call = self.calls.pop(appointment, None)
        if call is not None:
            await call.close()
        reply = await self.emit("end", {"appointment": appointment, "outcome": "done"})
        if reply.get("error", {}).get("code") == "hub_unreachable":
            self.unsent_ends.add(appointment)  # told when the hub is back (see hello)
        view = reply.get("call") or self.views.get(appointment)
        self.views.pop(appointment, None)
        if view is not None:
            self._ask_outcome(view)
        self.changed()
        return reply

    def _ask_outcome(self, view: dict[str, Any]) -> None:
        """Have the kiosk ask for the ended call's outcome. Without a kiosk nobody can be
        asked: the hang-up's outcome stands, with no `record` step (docs/operations.md)."""
        if self.settings.kiosk:
            self.to_record = view

    async def record(self, appointment: str, outcome: str, notes: str) -> dict[str, Any]:
        """The outcome of a call that ended, with the clerk's notes."""
        reply = await self.emit(
            "record", {"appointment": appointment, "outcome": outcome, "notes": notes}
        )
        if reply.get("ok") and self.to_record and self.to_record["appointment"] == appointment:
            self.to_record = None
        self.refresh_day()
        self.changed()
        await self._maybe_admit()
        return reply

    async def no_show(self, appointment: str) -> dict[str, Any]:
        """Close an appointment whose citizen never came (also one admitted who vanished)."""
        reply = await self.emit("end", {"appointment": appointment, "outcome": "no_show"})
        if reply.get("ok"):
            # The hub tells the ending appliance nothing more: drop a call held for it here.
            call = self.calls.pop(appointment, None)
            self.views.pop(appointment, None)
            if call is not None:
                await call.close()
        self.refresh_day()
        self.changed()
        return reply

    def send(self, kind: Literal["camera", "microphone"], on: bool) -> None:
        """Camera off / mute (and back) for every call of this appliance."""
        setattr(self.sending, kind, on)
        self.changed()

    # --- what the hub tells ---

    async def _on_disconnect(self, reason: Any = None) -> None:
        if self.state == "refused":
            return  # revoked: the refusal stays on screen
        log.warning("hub connection lost (%s); reconnecting", reason)
        self._set_state("offline")

    async def _on_connect_error(self, error: Any = None) -> None:
        """The hub refused the connection: `unknown_device` is for IT to fix (say so, ask again
        once a minute); anything else (`unavailable`: its database is away) passes by itself."""
        data = error.get("data") if isinstance(error, dict) else None
        if isinstance(data, dict) and data.get("code") == "unknown_device":
            log.error("%s; asking again every %.0f s", REFUSED_MESSAGE, REFUSED_RETRY_S)
            # The client's own reconnection (after a drop) slows down to the same pace.
            self.sio.reconnection_delay_max = REFUSED_RETRY_S
            self._refused = True
            self._set_state("refused")

    async def _on_hello(self, hello: dict[str, Any]) -> None:
        self.clerk = hello["clerk"]
        self.counter = hello["counter"]
        self.lobby = hello["lobby"]
        if self.clerk is None:
            self.clerk_session = None  # expired or signed out elsewhere
        if self.clerk is None and self.settings.clerk_username:
            await self.sign_in(self.settings.clerk_username, self.settings.clerk_password or "")
        held = hello["call"]
        if held and held["appointment"] in self.unsent_ends:
            await self.emit("end", {"appointment": held["appointment"], "outcome": "done"})
        elif held:
            self._call(held)  # its fresh offer follows (`peer_rejoined`), or came early
        self.unsent_ends.clear()
        self.hello.set()
        self.sio.reconnection_delay_max = 2
        self._set_state("online")
        self.refresh_day()
        self.changed()
        await self._maybe_admit()

    async def _on_lobby(self, lobby: dict[str, Any]) -> None:
        self.lobby = lobby
        self.refresh_day()
        self.changed()
        await self._maybe_admit()

    async def _on_day_changed(self, _message: dict[str, Any] | None = None) -> None:
        """A booking, move, cancellation or device check at this counter: fetch the day."""
        self.refresh_day()

    def refresh_day(self) -> None:
        """Fetch the counter's day soon (once for a burst of news); only for a clerk."""
        if self.clerk is None:
            return
        self._day_stale = True
        if self._day_task is None or self._day_task.done():
            self._day_task = asyncio.ensure_future(self._fetch_day())

    async def _fetch_day(self) -> None:
        # News that arrives while a fetch is under way may postdate the hub's answer: fetch
        # again then, so the last change is never left for the minute's refresh.
        while self._day_stale:
            await asyncio.sleep(DAY_COALESCE_S)
            self._day_stale = False
            reply = await self.emit("day", {})
            if reply.get("ok"):
                self.day = reply["day"]
                self.changed()

    async def keep_day_fresh(self) -> None:
        """Refetch the day every minute too: time alone changes it (a citizen becomes late)."""
        while True:
            await asyncio.sleep(DAY_REFRESH_S)
            if self.state == "online":
                self.refresh_day()

    async def _maybe_admit(self) -> None:
        """With auto-admit (demo, tests): let the first waiting citizen in when free, and
        not while the kiosk still asks for the last call's outcome (the clerk answers first).
        With no kiosk page open nobody can answer: the hang-up's outcome stands."""
        if not self.settings.auto_admit or self.calls or self.clerk is None:
            return
        if self.to_record is not None:
            if self.screens:
                return
            log.info("no screen open: outcome of %s not asked", self.to_record["appointment"])
            self.to_record = None
            self.changed()
        waiting = self.lobby.get("waiting") or self.lobby.get("unattended") or []
        if waiting:
            await self.admit(waiting[0]["appointment"])

    def screen_opened(self) -> None:
        """A kiosk page connected: from now on it can be asked for outcomes."""
        self.screens += 1

    def screen_closed(self) -> None:
        """A kiosk page went away; if it was the last one, auto-admit need not wait for it."""
        self.screens -= 1
        if not self.screens and self.to_record is not None and self.settings.auto_admit:
            self._admit_task = asyncio.ensure_future(self._maybe_admit())

    def _call(self, view: dict[str, Any]) -> Call:
        appointment = view["appointment"]
        self.views[appointment] = {k: v for k, v in view.items() if k != "ice_servers"}
        call = self.calls.get(appointment)
        if call is None:
            call = self.calls[appointment] = Call(
                appointment,
                view.get("ice_servers", []),
                self.camera,
                self.microphone,
                self.relay,
                self._send,
                feed=self.feed,
                sending=self.sending,
                changed=self.changed,
                video_encoder=self._video_encoder(),
                own_audio=self.settings.audio_encoder == "opus",
                speaker=self.speaker,
            )
            call.transport_policy = RTCIceTransportPolicy(self.settings.ice_transport_policy)
            call.watch()
            early = [m for at, m in self._early.pop(appointment, []) if _fresh(at)]
            if early:
                call.received.tasks.append(asyncio.ensure_future(self._apply(call, *early)))
        return call

    def _video_encoder(self) -> Callable[[], PacketEncoder] | None:
        codec = self.settings.video_encoder
        if codec == "aiortc":
            return None
        return lambda: SoftwareEncoder(codec, self.settings.fps)

    async def _on_call(self, view: dict[str, Any]) -> None:
        appointment = view["appointment"]
        if view["state"] == "ended":
            call = self.calls.pop(appointment, None)
            self.views.pop(appointment, None)
            if call is not None:
                await call.close()
                # Ended by the hub (dropped, or the clerk's end from elsewhere): still ask.
                if self.to_record is None and view.get("outcome") in ("done", "dropped"):
                    self._ask_outcome(view)
            self.refresh_day()
            self.changed()
            await self._maybe_admit()
        elif appointment in self.calls:
            self.views[appointment] = view
            self.changed()

    async def _on_signal(self, message: dict[str, Any]) -> None:
        call = self.calls.get(message["appointment"])
        if call is None:
            self._keep_early(message)
            return
        await self._apply(call, message)

    async def _apply(self, call: Call, *messages: dict[str, Any]) -> None:
        # Handlers run as concurrent tasks; the lock keeps a call's signals in arrival order
        # (a candidate must not reach the peer connection before its offer).
        async with call.signals:
            for message in messages:
                if message["type"] == "offer":
                    await call.offer(message["sdp"])
                elif message["type"] == "candidate":
                    await call.candidate(message.get("candidate"))

    def _keep_early(self, message: dict[str, Any]) -> None:
        """Keep a signal for a call not held yet, bounded in time, count and calls."""
        self._early = {
            key: kept for key, kept in self._early.items() if kept and _fresh(kept[-1][0])
        }
        appointment = message["appointment"]
        if appointment not in self._early and len(self._early) >= EARLY_CALLS:
            return
        kept = self._early.setdefault(appointment, [])
        if message["type"] == "offer":
            kept.clear()  # a new offer makes what came before it useless
        if len(kept) < EARLY_SIGNALS_PER_CALL:
            kept.append((time.monotonic(), message))

    async def _on_peer_left(self, message: dict[str, Any]) -> None:
        log.info("citizen of %s left; waiting for a new offer", message["appointment"])
        call = self.calls.get(message["appointment"])
        if call is not None:
            call.media = "lost"
            self.changed()

    async def _on_peer_rejoined(self, message: dict[str, Any]) -> None:
        log.info("citizen of %s is back; a new offer follows", message["appointment"])

    async def _on_revoked(self, message: dict[str, Any]) -> None:
        reason = message.get("reason")
        log.error("this device was revoked (%s): stopping; %s", reason, REFUSED_MESSAGE)
        self.sio.reconnection = False
        self._set_state("refused")


def _fresh(at: float) -> bool:
    return time.monotonic() - at < EARLY_SIGNAL_S
