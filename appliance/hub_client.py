"""The appliance's link to the hub: a python-socketio client that reconnects by itself, signs
its clerk in, follows the lobby and runs the calls it holds (docs/protocol.md)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import socketio
from aiortc import RTCIceTransportPolicy
from aiortc.contrib.media import MediaRelay

from appliance.audio import open_microphone
from appliance.call import Call
from appliance.camera import open_camera
from appliance.config import ApplianceSettings

log = logging.getLogger("appliance.hub")
NAMESPACE = "/appliance"


class HubClient:
    """One appliance's connection and its calls."""

    def __init__(self, settings: ApplianceSettings) -> None:
        self.settings = settings
        self.camera = open_camera(settings)
        self.microphone = open_microphone(settings)
        self.relay = MediaRelay()
        self.calls: dict[str, Call] = {}
        self.clerk: dict[str, Any] | None = None
        self.lobby: dict[str, Any] = {}
        self.clerk_session: str | None = None
        self.hello = asyncio.Event()
        self.sio = socketio.AsyncClient(
            reconnection=True, reconnection_delay=0.5, reconnection_delay_max=5
        )
        for event in ("hello", "lobby", "call", "signal", "peer_left", "peer_rejoined", "revoked"):
            self.sio.on(event, getattr(self, f"_on_{event}"), namespace=NAMESPACE)

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
            try:
                await self.connect()
                break
            except socketio.exceptions.ConnectionError as exc:
                log.warning("hub not reachable (%s); retrying in %.0f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10)
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
        await self.sio.disconnect()

    async def emit(self, event: str, data: dict[str, Any]) -> Any:
        """Send an event and wait for the hub's acknowledgement."""
        reply = await self.sio.call(event, data, namespace=NAMESPACE, timeout=10)
        if not reply.get("ok"):
            log.warning("hub refused %s: %s", event, reply.get("error"))
        return reply

    async def _send(self, event: str, data: dict[str, Any]) -> None:
        await self.emit(event, data)

    async def _on_hello(self, hello: dict[str, Any]) -> None:
        self.clerk = hello["clerk"]
        self.lobby = hello["lobby"]
        if self.clerk is None and self.settings.clerk_username:
            reply = await self.emit(
                "sign_in",
                {
                    "username": self.settings.clerk_username,
                    "password": self.settings.clerk_password,
                },
            )
            if reply.get("ok"):
                self.clerk, self.clerk_session = reply["clerk"], reply["session"]
        if hello["call"]:
            self._call(hello["call"])
        self.hello.set()
        await self._maybe_admit()

    async def _on_lobby(self, lobby: dict[str, Any]) -> None:
        self.lobby = lobby
        await self._maybe_admit()

    async def _maybe_admit(self) -> None:
        """With auto-admit (demo, tests): let the first waiting citizen in when free."""
        if not self.settings.auto_admit or self.calls or self.clerk is None:
            return
        waiting = self.lobby.get("waiting") or self.lobby.get("unattended") or []
        if waiting:
            reply = await self.emit("admit", {"appointment": waiting[0]["appointment"]})
            if reply.get("ok"):
                self._call(reply["call"])

    def _call(self, view: dict[str, Any]) -> Call:
        appointment = view["appointment"]
        call = self.calls.get(appointment)
        if call is None:
            call = self.calls[appointment] = Call(
                appointment,
                view.get("ice_servers", []),
                self.camera,
                self.microphone,
                self.relay,
                self._send,
            )
            call.transport_policy = RTCIceTransportPolicy(self.settings.ice_transport_policy)
        return call

    async def _on_call(self, view: dict[str, Any]) -> None:
        if view["state"] == "ended":
            call = self.calls.pop(view["appointment"], None)
            if call is not None:
                await call.close()
            await self._maybe_admit()

    async def _on_signal(self, message: dict[str, Any]) -> None:
        call = self.calls.get(message["appointment"])
        if call is None:
            return
        # Handlers run as concurrent tasks; the lock keeps a call's signals in arrival order
        # (a candidate must not reach the peer connection before its offer).
        async with call.signals:
            if message["type"] == "offer":
                await call.offer(message["sdp"])
            elif message["type"] == "candidate":
                await call.candidate(message.get("candidate"))

    async def _on_peer_left(self, message: dict[str, Any]) -> None:
        log.info("citizen of %s left; waiting for a new offer", message["appointment"])

    async def _on_peer_rejoined(self, message: dict[str, Any]) -> None:
        log.info("citizen of %s is back; a new offer follows", message["appointment"])

    async def _on_revoked(self, message: dict[str, Any]) -> None:
        log.error("this device was revoked (%s): stopping", message.get("reason"))
        self.sio.reconnection = False
