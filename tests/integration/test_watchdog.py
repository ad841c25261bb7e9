"""The daemon and systemd's watchdog, over a real unix datagram socket as NOTIFY_SOCKET:
READY=1 once started, WATCHDOG=1 every half WatchdogSec from the event loop, none while the
loop is blocked (systemd would restart a hung daemon), STOPPING=1 when it stops."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import pytest

from hub.booking.tokens import new_token
from tests.support.appliance_runner import RunningAppliance
from tests.support.waiting import wait_until

WATCHDOG_USEC = 200_000  # pings every 0.1 s


@pytest.fixture
def notify_socket() -> Iterator[tuple[socket.socket, str]]:
    """A bound datagram socket, as systemd's; its path short enough for sun_path."""
    folder = tempfile.mkdtemp(prefix="notify-", dir="/tmp")
    path = str(Path(folder) / "sd")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(0.05)
    yield sock, path
    sock.close()
    os.unlink(path)
    os.rmdir(folder)


def received(sock: socket.socket, seconds: float) -> list[tuple[float, str]]:
    """(time, message) of each datagram within `seconds`."""
    messages: list[tuple[float, str]] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            data = sock.recv(4096)
        except TimeoutError:
            continue
        messages.append((time.monotonic(), data.decode()))
    return messages


def test_ready_then_pings_that_stop_while_the_event_loop_hangs(notify_socket, monkeypatch):
    sock, path = notify_socket
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    monkeypatch.setenv("WATCHDOG_USEC", str(WATCHDOG_USEC))
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    # No hub: READY=1 means the daemon runs, not that the hub answered.
    running = RunningAppliance(hub_url="http://127.0.0.1:9", device_credential=new_token())
    running.launch()
    try:
        first = received(sock, 1.0)
        texts = [text for _, text in first]
        assert any(text.startswith("READY=1") for text in texts)
        assert texts.count("WATCHDOG=1") >= 5

        blocked = time.monotonic()
        running.loop.call_soon_threadsafe(time.sleep, 1.5)  # a handler that hangs the loop
        during = [t for t, text in received(sock, 2.5) if text == "WATCHDOG=1"]
        # Silent while blocked (systemd would restart the daemon), alive again afterwards.
        stamps = [blocked, *during]
        assert max(b - a for a, b in pairwise(stamps)) > 1.3
        assert len(during) >= 5 and during[-1] > time.monotonic() - 0.5
    finally:
        running.stop()
    assert any(text == "STOPPING=1" for _, text in received(sock, 0.5))


def test_the_daemon_process_notifies_systemd(notify_socket, tmp_path):
    sock, path = notify_socket
    env = {
        **os.environ,
        "NOTIFY_SOCKET": path,
        "WATCHDOG_USEC": str(WATCHDOG_USEC),
        "BUERGERAMT_APPLIANCE_HUB_URL": "http://127.0.0.1:9",
        "BUERGERAMT_APPLIANCE_DEVICE_CREDENTIAL": new_token(),
        "BUERGERAMT_APPLIANCE_KIOSK": "false",
        "BUERGERAMT_APPLIANCE_DATA_DIR": str(tmp_path),
    }
    process = subprocess.Popen(
        [sys.executable, "-c", "from hub.cli import main; main()", "appliance"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        messages: list[str] = []
        wait_until(
            lambda: (
                messages.extend(text for _, text in received(sock, 0.2))
                or messages.count("WATCHDOG=1") >= 3
            ),
            30,
            "READY=1 and watchdog pings from the daemon",
        )
        assert messages[0].startswith("READY=1")
        process.send_signal(signal.SIGTERM)
        process.wait(15)
        assert "STOPPING=1" in [text for _, text in received(sock, 0.5)] + messages
    finally:
        if process.poll() is None:
            process.kill()
