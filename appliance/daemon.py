"""`buergeramt appliance`: the one place that wires the counter core to its adapters (hub link,
media, devices, kiosk) and runs them until interrupted."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys

from appliance.actions import MachineActions, pushed, with_pushed
from appliance.config import ApplianceSettings
from appliance.core import Counter, Options
from appliance.core.state import Sending
from appliance.devices import open_devices
from appliance.devices.health import DeviceMonitor
from appliance.devices.scanner.keeper import PageKeeper
from appliance.enrolment.keeper import keeper_for
from appliance.errors import KioskPortUnavailable
from appliance.heartbeat import Heartbeats
from appliance.hub_files import HubFiles
from appliance.hub_link import HubLink
from appliance.inbox import FolderInbox
from appliance.kiosk.lock import ScreenLock
from appliance.kiosk.server import Kiosk
from appliance.logbook import BOOK, FORMAT
from appliance.media.feed import Feed
from appliance.media.sessions import CallMedia
from appliance.systemd import Notifier
from appliance.updates import Updates

log = logging.getLogger("appliance")


class Appliance:
    """The counter core with its adapters around it."""

    def __init__(self, settings: ApplianceSettings) -> None:
        settings = with_pushed(settings)  # settings IT pushed from the hub, above the environment
        if BOOK not in logging.getLogger().handlers:  # IT's `logs` action reads the last lines
            logging.getLogger().addHandler(BOOK)
        self.settings = settings
        self.exit_code: int | None = None  # a remote restart: the process exits with it
        self._main: asyncio.Task[None] | None = None
        self.devices = open_devices(settings)
        self.feed = Feed()  # what the kiosk screen shows and plays
        sending = Sending()
        self.media = CallMedia(
            settings,
            camera=self.devices.camera,
            microphone=self.devices.microphone,
            speaker=self.devices.speaker,
            relay=self.devices.relay,
            feed=self.feed,
            sending=sending,
        )
        # Enrolled appliances sign in with their own key (the screen shows its claim code
        # until IT approves it); older ones with the device credential.
        self.keeper = keeper_for(settings, lambda: self.counter.changed())
        self.link = HubLink(settings, self.keeper)
        keeper = self.keeper
        token = (lambda: keeper.access_token) if keeper is not None else None
        self.files = HubFiles(settings, lambda: self.counter.clerk_session, token)
        options = Options(
            auto_admit=settings.auto_admit,
            clerk_username=settings.clerk_username,
            clerk_password=settings.clerk_password,
            ask_outcomes=settings.kiosk,
        )
        scanner = PageKeeper(self.devices.scanner) if self.devices.scanner is not None else None
        inbox = FolderInbox(settings.document_folders) if settings.document_folders else None
        self.updates = Updates(settings, self.exit)
        performer = MachineActions(settings, self.exit, self._set_label, self.updates, BOOK.last)
        self.counter = Counter(
            self.link,
            self.media,
            options,
            sending,
            files=self.files,
            scanner=scanner,
            inbox=inbox,
            performer=performer,
        )
        self.counter.label = pushed(settings.data_dir).get("counter_label")
        self.link.bind(self.counter)
        self.monitor = DeviceMonitor(self.devices, self.feed, self.counter.devices_changed)
        self.heartbeats = Heartbeats(
            self.link, self.monitor.health, settings.heartbeat_seconds, settings.data_dir
        )
        self.systemd = Notifier()
        self.kiosk: Kiosk | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Serve the kiosk (if configured) and start the background work; not yet the link."""
        if self.settings.kiosk:
            self.kiosk = await start_kiosk(self)
        self._tasks = [
            asyncio.ensure_future(self.counter.keep_day_fresh()),
            asyncio.ensure_future(self.monitor.run()),
            *self._keeping_token(),
            asyncio.ensure_future(self.heartbeats.run()),
            asyncio.ensure_future(self.systemd.keep_alive()),
            asyncio.ensure_future(
                self.updates.settle(
                    lambda: self.counter.link == "online", self.devices, self.counter.remote.report
                )
            ),
        ]
        self.systemd.notify("READY=1", "STATUS=connecting to the hub")

    def _keeping_token(self) -> list[asyncio.Task[None]]:
        """An enrolled appliance renews its access token while it runs."""
        if self.keeper is None:
            return []
        return [asyncio.ensure_future(self.keeper.keep_fresh(self.link.renew_token))]

    def _set_label(self, label: str | None) -> None:
        self.counter.label = label
        self.counter.changed()

    async def exit(self, code: int, why: str) -> None:
        """Stop the daemon with `code` (a restart: the supervisor starts it again; a failed
        self-check after an update: the supervisor rolls back)."""
        self.exit_code = code
        self.systemd.notify("STOPPING=1", f"STATUS={why} (exit code {code})")
        log.warning("%s: exiting with %d", why, code)
        if self._main is not None:
            self._main.cancel()

    async def run(self) -> None:
        """Start, connect (retrying until the hub answers) and serve until cancelled."""
        self._main = asyncio.current_task()
        await self.start()
        try:
            await self.link.run()
        finally:
            # Closing a relayed peer connection waits for the TURN server; do not hang on it.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.close(), 5)

    async def close(self) -> None:
        """Hang up every call, stop the screen and the background work, and disconnect."""
        self.systemd.notify("STOPPING=1")
        for task in self._tasks:
            task.cancel()
        if self.kiosk is not None:
            await self.kiosk.stop()
            self.kiosk = None
        await self.counter.close()
        await self.media.close()
        await self.files.close()
        await self.link.disconnect()
        if self.keeper is not None:
            await self.keeper.close()


async def run(settings: ApplianceSettings) -> int | None:
    """Connect to the hub and serve calls until SIGTERM or SIGINT (or IT's restart: its
    exit code)."""
    appliance = Appliance(settings)
    task = asyncio.create_task(appliance.run())
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, task.cancel)
    log.info("appliance connecting to %s (camera: %s)", settings.hub_url, settings.camera)
    try:
        await task
    except asyncio.CancelledError:
        log.info("appliance stopped")
    return appliance.exit_code


async def start_kiosk(appliance: Appliance) -> Kiosk:
    """Serve the clerk's screen on 127.0.0.1."""
    settings = appliance.settings
    lock = ScreenLock(
        idle_seconds=settings.kiosk_idle_lock_seconds,
        sign_out_seconds=settings.kiosk_sign_out_minutes * 60,
    )
    kiosk = Kiosk(appliance.counter, appliance.feed, settings.kiosk_port, lock)
    keeper = appliance.keeper
    if keeper is not None:  # the claim code while pending; a refused token or revoked key
        kiosk.enrolment = lambda: keeper.view(refused=appliance.counter.link == "refused")
    try:
        await kiosk.start()
    except OSError as exc:  # the port is taken: say so in one line, not with a traceback
        await kiosk.stop()
        raise KioskPortUnavailable(settings.kiosk_port, exc) from exc
    return kiosk


# Libraries whose INFO lines name network addresses: aioice logs every ICE candidate pair and
# TURN allocation, i.e. the citizen's IP addresses (personal data the appliance has no need to
# keep), and flooded the demo's log. aiortc logs nothing at INFO today; it is held to warnings
# too, so that a new version cannot start logging addresses unnoticed.
QUIET_LIBRARIES = ("aioice", "aiortc")


def configure_logging() -> None:
    """INFO for the appliance's own lines, WARNING for the WebRTC libraries."""
    logging.basicConfig(level=logging.INFO, format=FORMAT)
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)


def main(settings: ApplianceSettings | None = None) -> None:
    """Entry point for the command line."""
    configure_logging()
    # asyncio's own loop: uvloop saved no CPU measurably in a call (bench/call.py) and doubled
    # the counter screen's delay (bench/kiosk.py: 186 ms instead of 79 ms glass to glass).
    code = asyncio.run(run(settings or ApplianceSettings()))
    if code is not None:
        sys.exit(code)  # the supervisor (or the unit's Restart=on-failure) starts it again
