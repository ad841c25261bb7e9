"""`buergeramt appliance`: run the counter daemon until interrupted."""

from __future__ import annotations

import asyncio
import logging
import signal

from appliance.config import ApplianceSettings
from appliance.hub_client import HubClient

log = logging.getLogger("appliance")


async def run(settings: ApplianceSettings) -> None:
    """Connect to the hub and serve calls until SIGTERM or SIGINT."""
    client = HubClient(settings)
    task = asyncio.create_task(client.run())
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, task.cancel)
    log.info("appliance connecting to %s (camera: %s)", settings.hub_url, settings.camera)
    try:
        await task
    except asyncio.CancelledError:
        log.info("appliance stopped")


def main(settings: ApplianceSettings | None = None) -> None:
    """Entry point for the command line."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    asyncio.run(run(settings or ApplianceSettings()))
