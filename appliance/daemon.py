"""`buergeramt appliance`: run the counter daemon until interrupted."""

from __future__ import annotations

import asyncio
import logging
import signal

from appliance.config import ApplianceSettings
from appliance.errors import KioskPortUnavailable
from appliance.hub_client import HubClient
from appliance.kiosk.lock import ScreenLock
from appliance.kiosk.server import Kiosk

log = logging.getLogger("appliance")


async def run(settings: ApplianceSettings) -> None:
    """Connect to the hub and serve calls until SIGTERM or SIGINT."""
    client = HubClient(settings)
    kiosk = await start_kiosk(client) if settings.kiosk else None
    task = asyncio.create_task(client.run())
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, task.cancel)
    log.info("appliance connecting to %s (camera: %s)", settings.hub_url, settings.camera)
    try:
        await task
    except asyncio.CancelledError:
        log.info("appliance stopped")
    finally:
        if kiosk is not None:
            await kiosk.stop()


async def start_kiosk(client: HubClient) -> Kiosk:
    """Serve the clerk's screen on 127.0.0.1."""
    settings = client.settings
    lock = ScreenLock(
        idle_seconds=settings.kiosk_idle_lock_seconds,
        sign_out_seconds=settings.kiosk_sign_out_minutes * 60,
    )
    kiosk = Kiosk(client, settings.kiosk_port, lock)
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
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)


def main(settings: ApplianceSettings | None = None) -> None:
    """Entry point for the command line."""
    configure_logging()
    # asyncio's own loop: uvloop saved no CPU measurably in a call (bench/call.py) and doubled
    # the counter screen's delay (bench/kiosk.py: 186 ms instead of 79 ms glass to glass).
    asyncio.run(run(settings or ApplianceSettings()))
