"""The kiosk's local web app: the page, its static files and one WebSocket, served by the
appliance on 127.0.0.1 only. The page never talks to the hub and holds no credential: it
shows the state the appliance pushes and sends commands; media comes as raw frames
(appliance.media.feed) on the same socket.

Host and Origin are checked on every request, so neither a web page open elsewhere on this
machine nor a DNS-rebinding trick can drive the counter through this port.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from aiohttp import WSMsgType, web
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import TypeAdapter, ValidationError

from appliance.media.feed import Reader, Stream
from appliance.hub_client import HubClient
from appliance.kiosk import commands
from appliance.kiosk.i18n import LANGUAGES, texts, translations
from appliance.kiosk.lock import ScreenLock, Unlock
from appliance.kiosk.screens import Screen, choose

if TYPE_CHECKING:
    from av import VideoFrame

log = logging.getLogger("kiosk")
HERE = Path(__file__).parent
HOST = "127.0.0.1"
LOOPBACK_NAMES = ("127.0.0.1", "localhost")
STATE_COALESCE_S = 0.05  # bursts of changes go out as one state message
# The clerk's own picture is a thumbnail: a third of the camera's rate at 320 px wide is plenty,
# and leaves the screen's time to the citizen's picture.
SELF_VIEW_EVERY = 3
SELF_VIEW_WIDTH = 320
CAMERA_STALLED_S = 2.0  # a camera or microphone silent this long is reported
COMMAND = TypeAdapter(commands.AnyCommand)
# Video frames sent but not yet confirmed drawn by the page: more would wait in socket buffers
# (a 640×480 frame is 450 KB; loopback buffers hold several) and add their age to the delay.
FRAMES_IN_FLIGHT = 2
DRAWN = "drawn"  # the page's confirmation of one video frame
MAX_COMMAND_BYTES = 16 * 1024
# Larger messages are refused with a reply; beyond this aiohttp closes the socket (1009), so a
# runaway page cannot make the appliance buffer without bound.
MAX_MESSAGE_BYTES = 4 * MAX_COMMAND_BYTES
# Commands are flat objects; json.loads recurses per level and raised RecursionError (closing
# the socket) on 10 KB of brackets, so the nesting is measured before parsing.
MAX_NESTING = 4
# The clerk's drafts: only for appointments of this counter's day, at most this many.
MAX_DRAFTS = 100


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(),
        extensions=["jinja2.ext.i18n"],
    )
    return env


class Kiosk:
    """Serves the kiosk page for one appliance and keeps its screens in step."""

    def __init__(
        self,
        client: HubClient,
        port: int,
        lock: ScreenLock | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.port = port
        self.lock = lock or ScreenLock()
        self.clock = clock
        self.drafts: dict[str, str] = {}  # the clerk's notes per call, kept across reloads
        self.sockets: set[web.WebSocketResponse] = set()
        self._env = _environment()
        self._dirty = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._runner: web.AppRunner | None = None
        self._readers = asyncio.Event()
        self._reading_since: float | None = None  # when the self view started reading
        self._camera_shown = "ok"
        self._microphone_shown = "ok"
        self._heard_at: float | None = None
        client.listeners.append(self._dirty.set)

    # --- serving ---

    def app(self) -> web.Application:
        """The aiohttp application."""
        app = web.Application(middlewares=[self._only_local], client_max_size=MAX_COMMAND_BYTES)
        app.router.add_get("/", self.page)
        app.router.add_get("/ws", self.websocket)
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/favicon.ico", self.favicon)
        app.router.add_static("/static", HERE / "static")
        return app

    async def favicon(self, request: web.Request) -> web.FileResponse:
        """The tab icon, for a browser that asks before reading the page's <link rel=icon>."""
        return web.FileResponse(HERE / "static" / "icon.svg")

    async def healthz(self, request: web.Request) -> web.Response:
        """The daemon answers, and how its hub link stands (for the launcher, watchdogs and
        fault tests; nothing personal)."""
        return web.json_response({"status": "ok", "hub": self.client.state})

    async def start(self) -> None:
        """Listen on 127.0.0.1 (port 0: any free port, for tests) and start the screen tasks."""
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, HOST, self.port)
        await site.start()
        sockets = getattr(site._server, "sockets", None)  # an asyncio.Server's, once listening
        if sockets:  # the port actually bound
            self.port = sockets[0].getsockname()[1]
        self._tasks = [
            asyncio.ensure_future(self._broadcast()),
            asyncio.ensure_future(self._tick()),
            asyncio.ensure_future(self._self_view()),
            asyncio.ensure_future(self.client.keep_day_fresh()),
        ]
        log.info("kiosk page on http://%s:%d/", HOST, self.port)

    async def stop(self) -> None:
        """Close the sockets and stop serving."""
        for task in self._tasks:
            task.cancel()
        for ws in list(self.sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @web.middleware
    async def _only_local(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        allowed = {f"{name}:{self.port}" for name in LOOPBACK_NAMES}
        if request.host not in allowed:
            raise web.HTTPForbidden(text="the kiosk answers only on 127.0.0.1")
        origin = request.headers.get("Origin")
        if origin is not None and origin.removeprefix("http://") not in allowed:
            raise web.HTTPForbidden(text="cross-origin requests are refused")
        if origin is None and request.path == "/ws":
            # Browsers always send Origin on a WebSocket; only another local process would
            # come without one, and only the kiosk's own page may drive the counter.
            raise web.HTTPForbidden(text="the kiosk's socket is for the kiosk's own page")
        response = await handler(request)
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; connect-src 'self'; img-src 'self' data:; "
            "style-src 'self'; script-src 'self'; frame-ancestors 'none'"
        )
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Cache-Control"] = "no-store"
        return response

    async def page(self, request: web.Request) -> web.Response:
        """The single page; ?lang=en for English."""
        lang = request.query.get("lang", "de")
        if lang not in LANGUAGES:
            lang = "de"
        self._env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]  # jinja2.ext.i18n
        html = self._env.get_template("kiosk.html").render(
            lang=lang, other="en" if lang == "de" else "de", texts=texts(lang)
        )
        return web.Response(text=html, content_type="text/html")

    # --- the socket ---

    async def websocket(self, request: web.Request) -> web.WebSocketResponse:
        """State out, commands in, media out as binary frames."""
        # No permessage-deflate: raw video does not compress, and deflating it costs a core.
        ws = web.WebSocketResponse(heartbeat=10, max_msg_size=MAX_MESSAGE_BYTES, compress=False)
        await ws.prepare(request)
        self.sockets.add(ws)
        self.client.screen_opened()
        reader = self.client.feed.open()
        drawn = Credits(FRAMES_IN_FLIGHT)
        self._readers.set()
        media = asyncio.ensure_future(self._send_media(ws, reader, drawn))
        try:
            await ws.send_json({"type": "state", "state": self.state()})
            async for message in ws:
                if message.type is not WSMsgType.TEXT:
                    continue
                if message.data == DRAWN:
                    drawn.give()
                else:
                    await ws.send_json(await self._command(message.data))
        finally:
            media.cancel()
            self.client.feed.close(reader)
            self.sockets.discard(ws)
            self.client.screen_closed()  # auto-admit need not wait for an answer from it
        return ws

    async def _send_media(self, ws: web.WebSocketResponse, reader: Reader, drawn: Credits) -> None:
        async def video() -> None:
            while True:
                for message in await reader.take_video():
                    await drawn.take()  # a frame sent only when the screen keeps up
                    await ws.send_bytes(message)

        async def audio() -> None:
            while True:
                for message in await reader.take_audio():
                    await ws.send_bytes(message)

        with contextlib.suppress(ConnectionError, RuntimeError):
            await asyncio.gather(video(), audio())

    async def _broadcast(self) -> None:
        while True:
            await self._dirty.wait()
            await asyncio.sleep(STATE_COALESCE_S)
            self._dirty.clear()
            message = {"type": "state", "state": self.state()}
            for ws in list(self.sockets):
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await ws.send_json(message)

    async def _tick(self) -> None:
        """Lock when idle; sign out after a long lock; notice a stalled camera."""
        while True:
            await asyncio.sleep(1)
            was_locked = self.lock.locked
            if self.lock.tick(self.clock(), busy=bool(self.client.calls)):
                await self._sign_out()
            devices = (self._camera(), self._microphone())
            if self.lock.locked != was_locked or devices != self._devices_shown:
                self._dirty.set()

    async def _listen(self) -> None:
        """Read the microphone while the camera is read, to see that it delivers."""
        microphone = self.client.microphone
        if microphone is None:
            return
        track = self.client.relay.subscribe(microphone, buffered=False)
        try:
            while True:
                await track.recv()
                self._heard_at = time.monotonic()
        finally:
            track.stop()

    async def _self_view(self) -> None:
        """The clerk's own picture (and a check of the microphone), while a screen is open."""
        while True:
            await self._readers.wait()
            track = self.client.relay.subscribe(self.client.camera, buffered=False)
            self._reading_since = time.monotonic()
            listening = asyncio.ensure_future(self._listen())
            count = 0
            try:
                while self.client.feed.readers:
                    frame = cast("VideoFrame", await track.recv())
                    count += 1
                    if count % SELF_VIEW_EVERY == 0:
                        height = frame.height * SELF_VIEW_WIDTH // frame.width & ~1
                        small = frame.reformat(SELF_VIEW_WIDTH, height, "yuv420p")
                        self.client.feed.video(Stream.SELF, small)
            finally:
                track.stop()
                listening.cancel()
                self._reading_since = None
            self._readers.clear()

    # --- state ---

    def _camera(self) -> str:
        """ok, or stalled when the camera delivered nothing for a while (once it is read)."""
        if not self.client.feed.readers or self._reading_since is None:
            return "ok"  # nobody looks: the camera is not read
        last = self.client.feed.last_video.get(Stream.SELF, self._reading_since)
        return "ok" if time.monotonic() - last < CAMERA_STALLED_S else "stalled"

    def _microphone(self) -> str:
        """ok, or stalled when the microphone delivered nothing for a while."""
        if self.client.microphone is None:
            return "absent"
        if self._reading_since is None:
            return "ok"
        last = self._heard_at if self._heard_at is not None else self._reading_since
        return (
            "ok"
            if time.monotonic() - max(last, self._reading_since) < CAMERA_STALLED_S
            else "stalled"
        )

    @property
    def _devices_shown(self) -> tuple[str, str]:
        return self._camera_shown, self._microphone_shown

    def _camera_state(self) -> str:
        self._camera_shown = self._camera()
        return self._camera_shown if self.client.sending.camera else "off"

    def _microphone_state(self) -> str:
        self._microphone_shown = self._microphone()
        if self._microphone_shown == "ok" and not self.client.sending.microphone:
            return "off"
        return self._microphone_shown

    def state(self) -> dict[str, Any]:
        """Everything the page shows, in one message."""
        client = self.client
        if client.clerk is None and self.lock.armed:
            self.lock.clear()  # the hub ended the session (expired, or signed out elsewhere)
        call = next(iter(client.calls.values()), None)
        view = client.views.get(call.appointment) if call else None
        screen = choose(
            hub_online=client.state == "online",
            hub_refused=client.state == "refused",
            signed_in=client.clerk is not None,
            locked=self.lock.locked,
            in_call=call is not None,
            to_record=client.to_record is not None,
        )
        # Names and appointments reach the page only while a clerk works with it.
        show = screen in (Screen.DAY, Screen.CALL, Screen.OUTCOME)
        record = client.to_record if show else None
        return {
            "screen": screen.value,
            "hub": client.state,
            "counter": client.counter,
            "clerk": client.clerk,
            "lock": {
                "locked": self.lock.locked,
                "attempts_left": self.lock.attempts_left,
                "armed": self.lock.armed,  # a PIN was set here: without one nothing could open it
            },
            "lobby": client.lobby if show else {},
            "day": client.day if show else [],
            "call": {
                **(view or {}),
                "appointment": call.appointment,
                "media": call.media,
                "quality": call.quality,
                "since_ms": int(call.connected_since * 1000) if call.connected_since else None,
                "notes": self.drafts.get(call.appointment, ""),
            }
            if call is not None and show
            else None,
            "record": {**record, "notes": self.drafts.get(record["appointment"], "")}
            if record
            else None,
            "sending": {"camera": client.sending.camera, "microphone": client.sending.microphone},
            "devices": {
                "camera": self._camera_state(),
                "microphone": self._microphone_state(),
                "scanner": "absent",
            },
        }

    # --- commands ---

    async def _command(self, raw: str) -> dict[str, Any]:
        if len(raw.encode()) > MAX_COMMAND_BYTES:
            return _refusal(None, "too_large", f"a command has at most {MAX_COMMAND_BYTES} bytes")
        if _too_deep(raw):
            return _refusal(None, "too_deep", f"a command nests at most {MAX_NESTING} levels")
        try:
            data = json.loads(raw)
        except ValueError:
            return _refusal(None, "invalid_command", "not JSON")
        request_id = data.get("id") if isinstance(data, dict) else None
        try:
            command = COMMAND.validate_python(data)
        except ValidationError as exc:
            fields = ", ".join(".".join(map(str, e["loc"])) for e in exc.errors())
            return _refusal(request_id, "invalid_command", f"invalid: {fields or 'payload'}")
        now = self.clock()
        self.lock.touch(now)
        reply = await self._run(command, now)
        self._dirty.set()
        return {**reply, "type": "reply", "id": command.id}

    async def _run(self, command: Any, now: float) -> dict[str, Any]:
        client = self.client
        if isinstance(command, commands.SignIn):
            if not ScreenLock.valid_pin(command.pin):
                return _refusal(None, "invalid_pin", "the PIN must have 4 to 8 digits")
            reply = await client.sign_in(command.username, command.password)
            if reply.get("ok"):
                # scrypt takes tens of milliseconds: not on the loop that carries the media.
                await asyncio.to_thread(self.lock.start, command.pin, now)
            return _ack(reply)
        if isinstance(command, commands.Unlock):
            result = await asyncio.to_thread(self.lock.unlock, command.pin, now)
            if result is Unlock.SIGN_OUT:
                await self._sign_out()
                return _refusal(None, "signed_out", "too many wrong PINs")
            if result is Unlock.WRONG:
                return _refusal(None, "wrong_pin", "wrong PIN")
            return {"ok": True}
        if self.lock.locked:
            return _refusal(None, "locked", "the screen is locked")
        if client.clerk is None and not isinstance(command, commands.Plain):
            # The sign-in screen: no other local process may act for the counter through it.
            return _refusal(None, "not_signed_in", "a clerk must sign in first")
        if isinstance(command, commands.Plain):
            if command.cmd == "lock":
                self.lock.lock(now)
            elif command.cmd == "sign_out":
                await self._sign_out()
            return {"ok": True}
        if isinstance(command, commands.OnAppointment):
            action = {"admit": client.admit, "hang_up": client.hang_up, "no_show": client.no_show}
            return _ack(await action[command.cmd](command.appointment))
        if isinstance(command, commands.Record):
            reply = await client.record(command.appointment, command.outcome, command.notes)
            if reply.get("ok"):
                self.drafts.pop(command.appointment, None)
            return _ack(reply)
        if isinstance(command, commands.Notes):
            return self._keep_draft(command.appointment, command.notes)
        if isinstance(command, commands.Send):
            client.send(command.kind, command.on)
            return {"ok": True}
        raise AssertionError(f"unhandled command {command!r}")

    def _keep_draft(self, appointment: str, notes: str) -> dict[str, Any]:
        """Keep a draft of the clerk's notes (bounded: MAX_NOTES each, this day's only)."""
        client = self.client
        ours = {entry.get("appointment") for entry in client.day}
        ours.update(call.appointment for call in client.calls.values())
        if client.to_record is not None:
            ours.add(client.to_record["appointment"])
        if appointment not in ours:
            return _refusal(None, "unknown_appointment", "not an appointment of this counter")
        for gone in set(self.drafts) - ours:  # calls no longer in the day
            del self.drafts[gone]
        if appointment not in self.drafts and len(self.drafts) >= MAX_DRAFTS:
            return _refusal(None, "too_many_drafts", f"at most {MAX_DRAFTS} drafts")
        self.drafts[appointment] = notes
        return {"ok": True}

    async def _sign_out(self) -> None:
        self.lock.clear()
        self.drafts.clear()
        await self.client.sign_out()


class Credits:
    """A window of frames the page may have outstanding."""

    def __init__(self, window: int) -> None:
        self._window = window
        self._free = window
        self._event = asyncio.Event()
        self._event.set()

    async def take(self) -> None:
        """Wait for room, then use one place."""
        while self._free <= 0:
            self._event.clear()
            await self._event.wait()
        self._free -= 1

    def give(self) -> None:
        """The page drew a frame."""
        self._free = min(self._free + 1, self._window)
        self._event.set()


def _too_deep(raw: str) -> bool:
    """Whether the JSON text `raw` nests arrays and objects deeper than MAX_NESTING (brackets
    inside strings do not count)."""
    if raw.count("[") + raw.count("{") <= MAX_NESTING:
        return False  # the usual command: nothing to measure
    depth = 0
    in_string = escaped = False
    for char in raw:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > MAX_NESTING:
                return True
        elif char in "]}":
            depth -= 1
    return False


def _ack(reply: dict[str, Any]) -> dict[str, Any]:
    if reply.get("ok"):
        return {"ok": True}
    error = reply.get("error") or {}
    return _refusal(None, error.get("code", "refused"), error.get("message", ""))


def _refusal(request_id: int | None, code: str, message: str) -> dict[str, Any]:
    error = {"code": code, "message": message}
    return {"type": "reply", "id": request_id, "ok": False, "error": error}
