"""The appliance's logs name no citizen's address (issue 12, point 18): aioice logged every ICE
candidate pair at INFO, with both sides' IP addresses."""

from __future__ import annotations

import asyncio
import logging
import re
from concurrent.futures import ThreadPoolExecutor

from aiortc import RTCPeerConnection

from appliance.daemon import configure_logging

IPV4 = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b")


class Kept(logging.Handler):
    """Keeps every record it is handed."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def connect_two_peers() -> None:
    """A real ICE and DTLS exchange between two peers on this machine's addresses."""
    citizen, counter = RTCPeerConnection(), RTCPeerConnection()
    opened = asyncio.Event()
    channel = citizen.createDataChannel("probe")
    channel.on("open", opened.set)
    await citizen.setLocalDescription(await citizen.createOffer())
    await counter.setRemoteDescription(citizen.localDescription)
    await counter.setLocalDescription(await counter.createAnswer())
    await citizen.setRemoteDescription(counter.localDescription)
    try:
        await asyncio.wait_for(opened.wait(), 30)
    finally:
        await citizen.close()
        await counter.close()


def test_a_call_leaves_no_ip_address_in_the_appliances_log():
    root = logging.getLogger()
    kept = Kept()
    saved = root.level, {n: logging.getLogger(n).level for n in ("aioice", "aiortc")}
    root.addHandler(kept)
    try:
        configure_logging()
        root.setLevel(logging.INFO)  # as the daemon runs (basicConfig is a no-op under pytest)
        # Its own thread: Playwright's driver (browser tests) keeps a loop in the main one.
        worker = ThreadPoolExecutor(1)
        worker.submit(asyncio.run, connect_two_peers()).result(60)
        worker.shutdown()
        logging.getLogger("appliance.media.call").info("call %s: connected", "probe")
    finally:
        root.removeHandler(kept)
        root.setLevel(saved[0])
        for name, level in saved[1].items():
            logging.getLogger(name).setLevel(level)
    lines = [record.getMessage() for record in kept.records]
    assert "call probe: connected" in lines  # the appliance's own INFO lines still come
    assert [line for line in lines if IPV4.search(line)] == []
