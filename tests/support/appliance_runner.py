"""A real appliance daemon (core, hub link, aiortc, synthetic camera and tone) in a background
thread with its own event loop, so a test can look at what it received."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from appliance.config import ApplianceSettings
from appliance.core import Counter
from appliance.daemon import Appliance
from appliance.devices import Devices
from appliance.kiosk.server import Kiosk
from tests.support.netlab import enter


class RunningAppliance:
    """Start with .start(); .run(coro) executes a coroutine on its loop; .stop() ends it.

    With `netns` (a netlab namespace's name) the loop's thread lives in that namespace: every
    socket the daemon opens (hub link, ICE, the kiosk on 127.0.0.1) is the counter's there."""

    def __init__(self, *, kiosk: bool = False, netns: str | None = None, **settings: Any) -> None:
        settings.setdefault("kiosk_port", 0)
        self.settings = ApplianceSettings(kiosk=kiosk, **settings)
        self.loop = asyncio.new_event_loop()
        self.netns = netns
        self.thread = threading.Thread(target=self._run_loop, daemon=True)
        self.appliance: Appliance | None = None

    def _run_loop(self) -> None:
        if self.netns is not None:
            enter(self.netns)
        self.loop.run_forever()

    @property
    def counter(self) -> Counter:
        """The appliance's counter core (clerk, lobby, day, calls)."""
        assert self.appliance is not None, "not started"
        return self.appliance.counter

    @property
    def devices(self) -> Devices:
        assert self.appliance is not None, "not started"
        return self.appliance.devices

    @property
    def kiosk(self) -> Kiosk | None:
        return self.appliance.kiosk if self.appliance is not None else None

    @property
    def kiosk_url(self) -> str:
        assert self.kiosk is not None, "started without kiosk=True"
        return f"http://127.0.0.1:{self.kiosk.port}"

    def start(self) -> RunningAppliance:
        """Start and connect once; wait for the hub's hello."""
        self.thread.start()

        async def begin() -> Appliance:
            appliance = Appliance(self.settings)
            await appliance.start()
            await appliance.link.connect()
            await asyncio.wait_for(appliance.counter.hello.wait(), 10)
            return appliance

        self.appliance = self.run(begin())
        return self

    def launch(self) -> RunningAppliance:
        """Start as the daemon does (Appliance.run: retries, refusals), without waiting for
        the hub to accept it."""
        self.thread.start()

        async def begin() -> Appliance:
            appliance = Appliance(self.settings)
            await appliance.start()
            asyncio.get_running_loop().create_task(appliance.link.run())
            return appliance

        self.appliance = self.run(begin())
        return self

    def run(self, coro: Any, timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def wait_for(self, predicate, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            assert time.monotonic() < deadline, "appliance condition not met in time"
            time.sleep(0.05)

    def stop(self) -> None:
        if self.appliance is not None:
            self.run(self.appliance.close())

        async def settle() -> None:  # end the media relay's readers too
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        self.run(settle())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
