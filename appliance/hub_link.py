"""The counter's link to the hub (the core's `Hub` port): a python-socketio client that
reconnects by itself, validates what the hub sends against the protocol and hands it to the
core, and sends the core's requests (docs/protocol.md)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import socketio
from pydantic import ValidationError

from appliance.config import ApplianceSettings
from appliance.core import Counter
from appliance.core.ports import Answer
from appliance.enrolment.keeper import TokenKeeper
from protocol.appliance import NAMESPACE
from protocol.base import Request
from protocol.events import names, spec
from protocol.limits import VERSION

log = logging.getLogger("appliance.hub")

# A hub that refuses this appliance (code `unknown_device`: IT must enrol it again;
# `unsupported_protocol`: its software must be updated) is asked again this seldom;
# `unavailable` (the hub's database is away) is no refusal.
REFUSED_RETRY_S = 60.0
REFUSALS = {
    "unknown_device": (
        "the hub refused this appliance: unknown or revoked device credential; IT must enrol"
        " it again (buergeramt devices add --counter N) and set"
        " BUERGERAMT_APPLIANCE_DEVICE_CREDENTIAL"
    ),
    "unsupported_protocol": (
        f"the hub does not speak this appliance's protocol version {VERSION}; update the"
        " appliance's software to the hub's release"
    ),
}
REFUSED_MESSAGE = REFUSALS["unknown_device"]
REQUEST_TIMEOUT_S = 10
CONNECT_TIMEOUT_S = 3.0
TOKEN_RENEW = "token_renew"  # an enrolled appliance's access token, renewed while connected


def _http_session() -> aiohttp.ClientSession:
    """Engine.IO's HTTP session, made on its first connect (inside the event loop)."""
    return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(sock_connect=CONNECT_TIMEOUT_S))


class HubLink:
    """One appliance's connection to the hub, delivering news to its counter core."""

    def __init__(self, settings: ApplianceSettings, keeper: TokenKeeper | None = None) -> None:
        self.settings = settings
        self.keeper = keeper  # None: the long-lived device credential of older setups
        self.counter: Counter | None = None
        self._refused = False  # the last connection attempt was refused for good
        self.sio = socketio.AsyncClient(
            # A counter comes back within ~2 s of the hub; 30 devices retrying that often
            # are nothing for it.
            reconnection=True,
            reconnection_delay=0.5,
            reconnection_delay_max=2,
            # A connection attempt that gets no answer gives up after CONNECT_TIMEOUT_S and
            # the next one starts: otherwise one attempt made while the hub was unreachable
            # waits out TCP's back-off (SYNs after 1, 3, 7, 15 s ...) long after it is back.
            http_session=_http_session,
        )
        for event in sorted(names(NAMESPACE, "to_client")):
            self.sio.on(event, self._deliver(event), namespace=NAMESPACE)
        self.sio.on("disconnect", self._on_disconnect, namespace=NAMESPACE)
        self.sio.on("connect_error", self._on_connect_error, namespace=NAMESPACE)

    def bind(self, counter: Counter) -> None:
        """The core that gets the hub's news."""
        self.counter = counter

    @property
    def core(self) -> Counter:
        """The bound core (the daemon binds it before connecting)."""
        assert self.counter is not None, "HubLink.bind(counter) before connecting"
        return self.counter

    async def _auth(self) -> dict[str, Any]:
        auth: dict[str, Any] = {"protocol": VERSION}
        if self.keeper is not None:  # a token run out meanwhile is renewed by challenge first
            auth["access_token"] = await self.keeper.current()
        else:
            auth["device"] = self.settings.device_credential
        if self.core.clerk_session:
            auth["clerk_session"] = self.core.clerk_session
        return auth

    async def connect(self) -> None:
        """Connect (the client then reconnects on its own after any drop); an enrolled
        appliance first waits for IT's approval and its access token."""
        if self.keeper is not None:
            await self.keeper.ready()
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
                self.core.link_changed("offline")
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2)  # as the reconnection back-off: back within ~2 s
        await self.sio.wait()

    def sid(self) -> str | None:
        """This connection's id while connected to the namespace (None: not connected)."""
        return self.sio.get_sid(NAMESPACE) if self.sio.connected else None

    async def renew_token(self) -> dict[str, Any] | None:
        """`token_renew` over the live connection (None: not connected, or no answer)."""
        try:
            reply = await self.sio.call(TOKEN_RENEW, namespace=NAMESPACE, timeout=REQUEST_TIMEOUT_S)
        except (socketio.exceptions.TimeoutError, socketio.exceptions.BadNamespaceError):
            return None
        return reply if isinstance(reply, dict) else None

    async def disconnect(self) -> None:
        """Close the connection."""
        await self.sio.disconnect()

    async def request(self, event: str, payload: Request) -> Answer:
        """Send an event and wait for the hub's acknowledgement (a refusal when unreachable)."""
        try:
            reply = await self.sio.call(
                event,
                payload.model_dump(mode="json"),
                namespace=NAMESPACE,
                timeout=REQUEST_TIMEOUT_S,
            )
        except (socketio.exceptions.TimeoutError, socketio.exceptions.BadNamespaceError):
            return Answer.unreachable()
        if not isinstance(reply, dict):
            log.warning("hub answered %s with %r", event, reply)
            return Answer.refusal("invalid_answer", "the hub's answer is not an object")
        if reply.get("ok") is True:
            return Answer(True, reply)
        error = reply.get("error")
        error = error if isinstance(error, dict) else {}
        log.warning("hub refused %s: %s", event, error)
        return Answer.refusal(str(error.get("code", "refused")), str(error.get("message", "")))

    def _deliver(self, event: str) -> Callable[[Any], Awaitable[None]]:
        """A handler that validates `event` and hands it to the core's `on_<event>`."""
        model = spec(NAMESPACE, event, "to_client").payload

        async def handle(data: Any = None) -> None:
            try:
                news = model.model_validate(data if data is not None else {})
            except ValidationError as exc:
                log.warning("ignored a %s the protocol does not allow: %s", event, exc)
                return
            if event == "hello":
                self.sio.reconnection_delay_max = 2
            elif event == "revoked":
                log.error("%s", REFUSED_MESSAGE)
                self.sio.reconnection = False
            await getattr(self.core, f"on_{event}")(news)

        return handle

    async def _on_disconnect(self, reason: Any = None) -> None:
        if self.core.link == "refused":
            return  # revoked: the refusal stays on screen
        log.warning("hub connection lost (%s); reconnecting", reason)
        self.core.link_changed("offline")

    async def _on_connect_error(self, error: Any = None) -> None:
        """The hub refused the connection: `unknown_device` and `unsupported_protocol` are for
        IT to fix (say so, ask again once a minute); anything else (`unavailable`: its database
        is away) passes by itself."""
        data = error.get("data") if isinstance(error, dict) else None
        code = data.get("code") if isinstance(data, dict) else None
        if self.keeper is not None and self.keeper.refused_connection(code):
            return  # the next attempt signs a new challenge; a revoked key shows then
        if code in REFUSALS:
            log.error("%s; asking again every %.0f s", REFUSALS[code], REFUSED_RETRY_S)
            # The client's own reconnection (after a drop) slows down to the same pace.
            self.sio.reconnection_delay_max = REFUSED_RETRY_S
            self._refused = True
            self.core.link_changed("refused")
