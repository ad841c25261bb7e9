"""A real appliance daemon (HubClient: aiortc, synthetic camera and tone) in a background thread
with its own event loop, so a test can look at what it received."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from appliance.config import ApplianceSettings
from appliance.daemon import start_kiosk
from appliance.hub_client import HubClient
from appliance.kiosk.server import Kiosk


class RunningAppliance:
    """Start with .start(); .run(coro) executes a coroutine on its loop; .stop() ends it."""

    def __init__(self, *, kiosk: bool = False, **settings: Any) -> None:
        settings.setdefault("kiosk_port", 0)
        self.settings = ApplianceSettings(kiosk=kiosk, **settings)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.client: HubClient | None = None
        self.kiosk: Kiosk | None = None

    @property
    def kiosk_url(self) -> str:
        assert self.kiosk is not None, "started without kiosk=True"
        return f"http://127.0.0.1:{self.kiosk.port}"

    def start(self) -> RunningAppliance:
        self.thread.start()

        async def begin() -> HubClient:
            client = HubClient(self.settings)
            if self.settings.kiosk:
                self.kiosk = await start_kiosk(client)
            await client.connect()
            await asyncio.wait_for(client.hello.wait(), 10)
            return client

        self.client = self.run(begin())
        return self

    def launch(self) -> RunningAppliance:
        """Start as the daemon does (HubClient.run: retries, refusals), without waiting for
        the hub to accept it."""
        self.thread.start()

        async def begin() -> HubClient:
            client = HubClient(self.settings)
            if self.settings.kiosk:
                self.kiosk = await start_kiosk(client)
            asyncio.get_running_loop().create_task(client.run())
            return client

        self.client = self.run(begin())
        return self

    def run(self, coro: Any, timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def wait_for(self, predicate, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            assert time.monotonic() < deadline, "appliance condition not met in time"
            time.sleep(0.05)

    def stop(self) -> None:
        if self.kiosk is not None:
            self.run(self.kiosk.stop())
        if self.client is not None:
            self.run(self.client.close())

        async def settle() -> None:  # end the media relay's readers too
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        self.run(settle())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
