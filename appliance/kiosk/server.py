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
from functools import cache
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import TypeAdapter, ValidationError

from appliance.core import Counter, CounterState
from appliance.core.ports import Answer
from appliance.kiosk.i18n import LANGUAGES, texts, translations
from appliance.kiosk.lock import ScreenLock, Unlock
from appliance.kiosk.screens import Screen, choose
from appliance.media.feed import Feed, Reader
from protocol import kiosk as commands
from protocol.kiosk import (
    CallOnScreen,
    Devices,
    EnrolmentView,
    FolderFile,
    KioskState,
    LockView,
    RecordOnScreen,
    ScanPageView,
    ScanView,
    Sending,
    StateMessage,
)
from protocol.limits import VERSION
from protocol.schema import document

log = logging.getLogger("kiosk")
HERE = Path(__file__).parent
HOST = "127.0.0.1"
LOOPBACK_NAMES = ("127.0.0.1", "localhost")
STATE_COALESCE_S = 0.05  # bursts of changes go out as one state message
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
        counter: Counter,
        feed: Feed,
        port: int,
        lock: ScreenLock | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.counter = counter
        self.feed = feed
        self.port = port
        self.lock = lock or ScreenLock()
        self.clock = clock
        self.sockets: set[web.WebSocketResponse] = set()
        self._env = _environment()
        self._dirty = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._runner: web.AppRunner | None = None
        self._folder_shown: list[str] = []
        # An appliance enrolling with its own key: what IT compares (None: nothing to show).
        self.enrolment: Callable[[], EnrolmentView | None] = lambda: None
        counter.listeners.append(self._dirty.set)

    # --- serving ---

    def app(self) -> web.Application:
        """The aiohttp application."""
        app = web.Application(middlewares=[self._only_local], client_max_size=MAX_COMMAND_BYTES)
        app.router.add_get("/", self.page)
        app.router.add_get("/ws", self.websocket)
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get(f"/protocol/v{VERSION}/kiosk.schema.json", self.schema)
        app.router.add_get("/favicon.ico", self.favicon)
        app.router.add_get("/documents/{appointment}/{document}", self.document)
        app.router.add_get("/scan/{page}.jpg", self.scan_preview)
        app.router.add_static("/static", HERE / "static")
        return app

    async def favicon(self, request: web.Request) -> web.FileResponse:
        """The tab icon, for a browser that asks before reading the page's <link rel=icon>."""
        return web.FileResponse(HERE / "static" / "icon.svg")

    async def schema(self, request: web.Request) -> web.Response:
        """The JSON Schema of this socket's messages (the page's commands, state and replies)."""
        return web.Response(text=_schema(), content_type="application/schema+json")

    def _working(self) -> None:
        """Files reach the screen only while a clerk works with it (signed in, unlocked)."""
        if self.counter.clerk is None or self.lock.locked:
            raise web.HTTPForbidden(text="a clerk must sign in and unlock first")

    async def document(self, request: web.Request) -> web.StreamResponse:
        """A file of the call under way, fetched from the hub for the clerk's screen."""
        self._working()
        download = await self.counter.desk.download(
            request.match_info["appointment"], request.match_info["document"]
        )
        if download is None:
            raise web.HTTPNotFound(text="no such document in the call under way")
        headers = {"Content-Type": download.media_type, "Content-Disposition": "inline"}
        response = web.StreamResponse(headers={**headers, **_security_headers(request.path)})
        await response.prepare(request)
        async for chunk in download.chunks:
            await response.write(chunk)
        await response.write_eof()
        return response

    async def scan_preview(self, request: web.Request) -> web.Response:
        """A scanned page as it would be sent."""
        self._working()
        scanner = self.counter.desk.scanner
        page = request.match_info["page"]
        pages = {p.id: p.rotation for p in self.counter.desk.scan_pages}
        if scanner is None or page not in pages:
            raise web.HTTPNotFound(text="no such page")
        preview = await asyncio.to_thread(scanner.preview, page, pages[page])
        return web.Response(body=preview, content_type="image/jpeg")

    async def healthz(self, request: web.Request) -> web.Response:
        """The daemon answers, and how its hub link stands (for the launcher, watchdogs and
        fault tests; nothing personal)."""
        return web.json_response({"status": "ok", "hub": self.counter.link})

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
        if not response.prepared:  # a streamed response set them before it started
            response.headers.update(_security_headers(request.path))
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
        self.counter.screen_opened()
        reader = self.feed.open()
        drawn = Credits(FRAMES_IN_FLIGHT)
        media = asyncio.ensure_future(self._send_media(ws, reader, drawn))
        try:
            await ws.send_json(StateMessage(state=self.screen_state()).wire())
            async for message in ws:
                if message.type is not WSMsgType.TEXT:
                    continue
                if message.data == DRAWN:
                    drawn.give()
                else:
                    await ws.send_json(await self._command(message.data))
        finally:
            media.cancel()
            self.feed.close(reader)
            self.sockets.discard(ws)
            self.counter.screen_closed()  # auto-admit need not wait for an answer from it
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
            message = StateMessage(state=self.screen_state()).wire()
            for ws in list(self.sockets):
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await ws.send_json(message)

    async def _tick(self) -> None:
        """Lock when idle; sign out after a long lock."""
        while True:
            await asyncio.sleep(1)
            was_locked = self.lock.locked
            if self.lock.tick(self.clock(), busy=bool(self.counter.calls)):
                await self._sign_out()
            # A file the municipal software just printed into the folder shows by itself.
            folder = [f.id for f in self.counter.desk.inbox_files()] if self.counter.calls else []
            if self.lock.locked != was_locked or folder != self._folder_shown:
                self._folder_shown = folder
                self._dirty.set()

    # --- state ---

    def state(self) -> dict[str, Any]:
        """Everything the page shows, in one message (as JSON-ready data)."""
        return self.screen_state().wire()

    def screen_state(self) -> KioskState:
        """Everything the page shows: the counter's state as this screen presents it."""
        now = self.counter.state()
        if now.clerk is None and self.lock.armed:
            self.lock.clear()  # the hub ended the session (expired, or signed out elsewhere)
        enrolment = self.enrolment()
        screen = choose(
            enrolling=enrolment is not None,
            hub_online=now.link == "online",
            hub_refused=now.link == "refused",
            signed_in=now.clerk is not None,
            locked=self.lock.locked,
            in_call=now.call is not None,
            to_record=now.to_record is not None,
        )
        # Names and appointments reach the page only while a clerk works with it.
        show = screen in (Screen.DAY, Screen.CALL, Screen.OUTCOME)
        drafts = self.counter.drafts
        desk = self.counter.desk
        return KioskState(
            screen=screen.value,
            hub=now.link,
            counter=now.counter,
            clerk=now.clerk,
            lock=LockView(
                locked=self.lock.locked,
                attempts_left=self.lock.attempts_left,
                armed=self.lock.armed,  # a PIN was set here: without one nothing could open it
            ),
            lobby=now.lobby if show else None,
            day=list(now.day) if show else [],
            call=_call_on_screen(now, drafts.get) if show else None,
            record=RecordOnScreen.model_validate(
                {**now.to_record.model_dump(), "notes": drafts.get(now.to_record.appointment)}
            )
            if show and now.to_record is not None
            else None,
            sending=Sending(camera=now.sending[0], microphone=now.sending[1]),
            devices=_devices(now),
            documents=now.documents if show else None,
            scan=ScanView(
                available=now.can_scan,
                scanning=now.scanning,
                pages=[ScanPageView(id=p.id, rotation=p.rotation) for p in now.scan]
                if show
                else [],
            ),
            folder=[FolderFile(id=f.id, name=f.name, size=f.size) for f in desk.inbox_files()]
            if show and now.call is not None
            else [],
            payments=now.payments if show else None,
            enrolment=enrolment if screen is Screen.ENROLMENT else None,
            identify=now.identify,
        )

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
        counter = self.counter
        if isinstance(command, commands.SignIn):
            if not ScreenLock.valid_pin(command.pin):
                return _refusal(None, "invalid_pin", "the PIN must have 4 to 8 digits")
            reply = await counter.sign_in(command.username, command.password)
            if reply.ok:
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
        if counter.clerk is None and not isinstance(command, commands.Plain):
            # The sign-in screen: no other local process may act for the counter through it.
            return _refusal(None, "not_signed_in", "a clerk must sign in first")
        if isinstance(command, commands.Plain):
            if command.cmd == "lock":
                self.lock.lock(now)
            elif command.cmd == "sign_out":
                await self._sign_out()
            return {"ok": True}
        if isinstance(command, commands.OnAppointment):
            action = {
                "admit": counter.admit,
                "hang_up": counter.hang_up,
                "no_show": counter.no_show,
            }
            return _ack(await action[command.cmd](command.appointment))
        if isinstance(command, commands.Record):
            return _ack(await counter.record(command.appointment, command.outcome, command.notes))
        if isinstance(command, commands.Notes):
            return _ack(counter.keep_draft(command.appointment, command.notes))
        if isinstance(command, commands.Send):
            counter.send(command.kind, command.on)
            return {"ok": True}
        return await self._document_command(command)

    async def _document_command(self, command: Any) -> dict[str, Any]:
        """Files of the call, the scanner's pages and the operator's folders."""
        desk = self.counter.desk
        if isinstance(command, commands.Review):
            if not command.accepted and not command.reason.strip():
                return _refusal(None, "reason_required", "say why the file is needed again")
            review = desk.review(
                command.appointment, command.document, command.accepted, command.reason.strip()
            )
            return _ack(await review)
        if isinstance(command, commands.Scan):
            if command.cmd == "scan":
                return _ack(await desk.scan())
            desk.discard_scan()
            self.counter.changed()
            return {"ok": True}
        if isinstance(command, commands.OnPage):
            if command.cmd == "scan_rotate":
                return _ack(desk.rotate_page(command.page))
            if command.cmd == "scan_remove":
                return _ack(desk.remove_page(command.page))
            return _ack(await desk.scan(replace=command.page))
        if isinstance(command, commands.SendScan):
            return _ack(await desk.send_scan(command.appointment, command.name, command.item))
        if isinstance(command, commands.SendFile):
            return _ack(await desk.send_file(command.appointment, command.file))
        return await self._payment_command(command)

    async def _payment_command(self, command: Any) -> dict[str, Any]:
        """Fees of the call: ask for them, withdraw a request, send one by e-mail."""
        payments = self.counter.payments
        if isinstance(command, commands.PayRequest):
            return _ack(await payments.request(command.appointment, command.lines))
        if isinstance(command, commands.OnPayment):
            act = payments.cancel if command.cmd == "pay_cancel" else payments.mail
            return _ack(await act(command.appointment, command.payment))
        raise AssertionError(f"unhandled command {command!r}")

    async def _sign_out(self) -> None:
        self.lock.clear()
        await self.counter.sign_out()


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


def _security_headers(path: str) -> dict[str, str]:
    """What every answer of the kiosk carries: only its own resources, never framed by others
    (a file of the call is shown in a frame of the kiosk's own page)."""
    frames = "'self'" if path.startswith("/documents/") else "'none'"
    return {
        "Content-Security-Policy": "default-src 'self'; connect-src 'self'; img-src 'self' data:; "
        f"style-src 'self'; script-src 'self'; frame-ancestors {frames}",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
    }


@cache
def _schema() -> str:
    return json.dumps(document("kiosk"), indent=2, ensure_ascii=False)


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


def _ack(answer: Answer) -> dict[str, Any]:
    if answer.ok:
        return {"ok": True}
    return _refusal(None, answer.code or "refused", answer.message)


def _call_on_screen(now: CounterState, draft: Callable[[str], str]) -> CallOnScreen | None:
    """The held call with its media state and the clerk's draft."""
    call = now.call
    if call is None:
        return None
    view = call.view.model_dump() if call.view is not None else {}
    return CallOnScreen.model_validate(
        {
            **view,
            "appointment": call.appointment,
            "media": call.media,
            "quality": call.quality,
            "since_ms": int(call.since * 1000) if call.since else None,
            "notes": draft(call.appointment),
        }
    )


def _devices(now: CounterState) -> Devices:
    """Device health, with a camera switched off shown as off (and a muted, working
    microphone as off: a stalled one stays stalled, the clerk must know)."""
    camera_on, microphone_on = now.sending
    microphone = now.devices.microphone
    return Devices(
        camera=now.devices.camera if camera_on else "off",
        microphone="off" if microphone == "ok" and not microphone_on else microphone,
        scanner=now.devices.scanner,
    )


def _refusal(request_id: int | None, code: str, message: str) -> dict[str, Any]:
    error = {"code": code, "message": message}
    return {"type": "reply", "id": request_id, "ok": False, "error": error}
