"""The heartbeat: every `heartbeat_seconds` (and at once after each connect) the appliance tells
the hub its version, uptime, temperature, load, free disk and devices' health for IT's fleet
view, and how long the hub took to answer the previous heartbeat."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from appliance.core.state import DeviceReport
from appliance.hub_link import HubLink
from appliance.version import software_version
from protocol.appliance import DevicesHealth, Heartbeat

log = logging.getLogger("appliance.heartbeat")

THERMAL_ZONE = Path("/sys/class/thermal/thermal_zone0/temp")
POLL_S = 1.0  # how soon a new connection gets its first heartbeat


def cpu_temperature(zone: Path = THERMAL_ZONE) -> float | None:
    """Degrees Celsius of the first thermal zone (a Pi's SoC), None where there is none."""
    try:
        return round(int(zone.read_text().strip()) / 1000, 1)
    except (OSError, ValueError):
        return None


def free_disk_mb(folder: Path) -> int:
    """Free megabytes on the file system of `folder` (or of its nearest existing parent)."""
    for candidate in (folder, *folder.parents):
        try:
            return shutil.disk_usage(candidate).free // (1024 * 1024)
        except OSError:
            continue
    return 0


class Heartbeats:
    """Sends the heartbeat over the hub link while it is connected."""

    def __init__(
        self,
        link: HubLink,
        health: Callable[[], DeviceReport],
        every: float,
        data_dir: Path,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.link = link
        self.health = health
        self.every = every
        self.data_dir = data_dir
        self.clock = clock
        self.started = clock()
        self.rtt_ms: float | None = None  # the last heartbeat's round trip
        self.version = software_version()

    def report(self) -> Heartbeat:
        """The heartbeat as things stand now."""
        health = self.health()
        return Heartbeat(
            version=self.version[:40],
            uptime_s=int(self.clock() - self.started),
            cpu_temp_c=cpu_temperature(),
            load=round(min(os.getloadavg()[0], 1000.0), 2),
            disk_free_mb=free_disk_mb(self.data_dir),
            devices=DevicesHealth(
                camera=health.camera,
                microphone=health.microphone,
                speaker=health.speaker,
                scanner=health.scanner,
            ),
            rtt_ms=self.rtt_ms,
        )

    async def send(self) -> bool:
        """One heartbeat; its acknowledgement's time is the round trip the next one reports."""
        sent = self.clock()
        answer = await self.link.request("heartbeat", self.report())
        if answer.ok:
            self.rtt_ms = round((self.clock() - sent) * 1000, 1)
        return answer.ok

    async def run(self) -> None:
        """Until cancelled: a heartbeat right after each connect, then every `every` seconds."""
        connection: str | None = None
        due = 0.0
        while True:
            sid = self.link.sid()
            if sid is not None and (sid != connection or self.clock() >= due):
                connection, due = sid, self.clock() + self.every
                try:
                    await self.send()
                except Exception:  # a heartbeat must never take the daemon with it
                    log.exception("heartbeat not sent")
            await asyncio.sleep(POLL_S)
