"""Liveness of the devices: while a screen is open the camera is read (the clerk's own picture,
a thumbnail) and the microphone listened to; one that delivers nothing for a while is reported
`stalled`, a missing one `absent`. The scanner, when there is one, is asked every few seconds.
The core gets a report whenever it changes."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from appliance.core.state import DeviceReport
from appliance.devices import Devices
from appliance.media.feed import Feed, Stream
from protocol.kiosk import DeviceHealth

if TYPE_CHECKING:
    from av import VideoFrame

    from appliance.devices.scanner import Scanner

log = logging.getLogger("appliance.devices")

STALLED_S = 2.0  # a camera or microphone silent this long is reported
CHECK_S = 1.0
# The clerk's own picture is a thumbnail: a third of the camera's rate at 320 px wide is plenty,
# and leaves the screen's time to the citizen's picture.
SELF_VIEW_EVERY = 3
SELF_VIEW_WIDTH = 320
SCANNER_CHECK_S = 5.0  # a scanner's check starts a process (scanimage) or opens a camera


class DeviceMonitor:
    """Reads the devices while someone looks, and reports their health."""

    def __init__(
        self,
        devices: Devices,
        feed: Feed,
        report: Callable[[DeviceReport], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.devices = devices
        self.feed = feed
        self.report = report
        self.clock = clock
        self._reading_since: float | None = None  # when the self view started reading
        self._heard_at: float | None = None
        self._scanner: DeviceHealth = "absent"

    async def run(self) -> None:
        """Until cancelled: the self view while screens are open, and a check every second."""
        await asyncio.gather(self._self_view(), self._check(), self._check_scanner())

    async def _check(self) -> None:
        while True:
            self.report(self.health())
            await asyncio.sleep(CHECK_S)

    def health(self) -> DeviceReport:
        """What the checks find now."""
        return DeviceReport(
            camera=self._camera(),
            microphone=self._microphone(),
            speaker="ok",
            scanner=self._scanner,
        )

    async def _check_scanner(self) -> None:
        """The scanner's own check, every few seconds (none configured: absent)."""
        while self.devices.scanner is not None:
            self._scanner = await scanner_health(self.devices.scanner)
            await asyncio.sleep(SCANNER_CHECK_S)

    def _camera(self) -> DeviceHealth:
        """ok, or stalled when the camera delivered nothing for a while (once it is read)."""
        if not self.feed.readers or self._reading_since is None:
            return "ok"  # nobody looks: the camera is not read
        last = self.feed.last_video.get(Stream.SELF, self._reading_since)
        return "ok" if self.clock() - last < STALLED_S else "stalled"

    def _microphone(self) -> DeviceHealth:
        """ok, or stalled when the microphone delivered nothing for a while."""
        if self.devices.microphone is None:
            return "absent"
        if self._reading_since is None:
            return "ok"
        last = self._heard_at if self._heard_at is not None else self._reading_since
        return "ok" if self.clock() - max(last, self._reading_since) < STALLED_S else "stalled"

    async def _listen(self) -> None:
        """Read the microphone while the camera is read, to see that it delivers."""
        microphone = self.devices.microphone
        if microphone is None:
            return
        track = self.devices.relay.subscribe(microphone, buffered=False)
        try:
            while True:
                await track.recv()
                self._heard_at = self.clock()
        finally:
            track.stop()

    async def _self_view(self) -> None:
        """The clerk's own picture (and a check of the microphone), while a screen is open."""
        while True:
            await self.feed.watched.wait()
            track = self.devices.relay.subscribe(self.devices.camera, buffered=False)
            self._reading_since = self.clock()
            listening = asyncio.ensure_future(self._listen())
            count = 0
            try:
                while self.feed.readers:
                    frame = cast("VideoFrame", await track.recv())
                    count += 1
                    if count % SELF_VIEW_EVERY == 0:
                        height = frame.height * SELF_VIEW_WIDTH // frame.width & ~1
                        small = frame.reformat(SELF_VIEW_WIDTH, height, "yuv420p")
                        self.feed.video(Stream.SELF, small)
            finally:
                track.stop()
                listening.cancel()
                self._reading_since = None


async def scanner_health(
    scanner: Scanner | None, timeout: float = 2 * SCANNER_CHECK_S
) -> DeviceHealth:
    """The scanner's health: absent without one, stalled when its check does not end in time
    or fails unexpectedly (a device must never take the monitor with it)."""
    if scanner is None:
        return "absent"
    try:
        return await asyncio.wait_for(scanner.check(), timeout)
    except TimeoutError:
        return "stalled"
    except Exception:
        log.exception("scanner check of %s failed", scanner.name)
        return "stalled"


SELF_CHECK_S = 5.0  # a device that delivers nothing in this time fails the self-check


async def self_check(devices: Devices, timeout: float = SELF_CHECK_S) -> list[str]:
    """What fails when the call's devices are asked to deliver now (an update's self-check):
    the camera a picture, the microphone a sound. Empty: all good. The scanner is left out: a
    counter whose scanner is unplugged still holds calls, and must not refuse every update."""
    problems = []
    named = [("camera", devices.camera), ("microphone", devices.microphone)]
    for name, device in named:
        if device is None:
            continue
        track = devices.relay.subscribe(device, buffered=False)
        try:
            await asyncio.wait_for(track.recv(), timeout)
        except TimeoutError:
            problems.append(f"the {name} delivered nothing in {timeout:.0f} s")
        except Exception as exc:  # a broken driver is a failed check, not a crash
            problems.append(f"the {name} failed: {type(exc).__name__}: {exc}")
        finally:
            track.stop()
    return problems
