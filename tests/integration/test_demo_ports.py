"""`buergeramt demo` (and `hub`, `appliance`) with a port taken: one clear line naming the
setting, a non-zero exit, nothing left running (issue 13, point 6).

Before: with :5000 taken the demo printed its banner and then an OSError traceback; with :8470
taken the appliance died with a traceback while the hub went on serving.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.environment import free_port

pytestmark = pytest.mark.slow


@pytest.fixture
def taken() -> Iterator[int]:
    """A port some other program listens on (on all addresses, as a stray server would)."""
    with socket.socket() as other:
        other.bind(("0.0.0.0", 0))
        other.listen()
        yield other.getsockname()[1]


def run(tmp_path: Path, *args: str, timeout: float = 90, **env: str) -> subprocess.CompletedProcess:
    """`buergeramt ARGS` in its own process group; afterwards the group must be empty."""
    child = subprocess.Popen(
        [sys.executable, "-c", "from hub.cli import main; main()", *args],
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("BUERGERAMT_")},
            "BUERGERAMT_DATA_DIR": str(tmp_path / "var"),
            **env,
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = child.communicate(timeout=timeout)
    finally:
        if child.poll() is None:
            os.killpg(child.pid, 9)
            child.wait()
    with pytest.raises(ProcessLookupError):  # no appliance or other child outlived the command
        os.killpg(child.pid, 0)
    return subprocess.CompletedProcess(child.args, child.returncode, stdout, stderr)


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def nobody_listens(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def test_the_demo_with_the_hub_port_taken_says_so_in_one_line(tmp_path, taken):
    kiosk_port = free_port()
    done = run(tmp_path, "demo", "--port", str(taken), "--kiosk-port", str(kiosk_port))
    assert done.returncode != 0
    assert lines(done.stderr) == [f"Error: port {taken} is in use: {HUB_HINT}"], done.stderr
    assert "Book an appointment" not in done.stdout  # no banner pointing at someone else's page
    assert nobody_listens(kiosk_port)


def test_the_demo_with_the_kiosk_port_taken_says_so_in_one_line(tmp_path, taken):
    hub_port = free_port()
    done = run(tmp_path, "demo", "--port", str(hub_port), "--kiosk-port", str(taken))
    assert done.returncode != 0
    assert lines(done.stderr) == [f"Error: port {taken} is in use: {KIOSK_HINT}"], done.stderr
    assert "Book an appointment" not in done.stdout
    assert nobody_listens(hub_port)


HUB_HINT = "choose another with --port (make demo PORT=…)"
KIOSK_HINT = (
    "choose another for the counter screen with --kiosk-port (make demo KIOSK_PORT=…) "
    "or BUERGERAMT_APPLIANCE_KIOSK_PORT"
)


def test_the_hub_with_its_port_taken_says_so_in_one_line(tmp_path, taken):
    run(tmp_path, "db", "upgrade")
    done = run(tmp_path, "hub", "--port", str(taken))
    assert done.returncode != 0
    assert lines(done.stderr) == [f"Error: port {taken} is in use: choose another with --port"], (
        done.stderr
    )


def test_the_appliance_with_its_kiosk_port_taken_says_so_in_one_line(tmp_path, taken):
    done = run(
        tmp_path,
        "appliance",
        BUERGERAMT_APPLIANCE_DEVICE_CREDENTIAL="unused-the-kiosk-starts-first",
        BUERGERAMT_APPLIANCE_HUB_URL=f"http://127.0.0.1:{free_port()}",
        BUERGERAMT_APPLIANCE_KIOSK_PORT=str(taken),
    )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert lines(done.stderr)[-1] == (
        f"Error: port {taken} is in use: choose another with BUERGERAMT_APPLIANCE_KIOSK_PORT"
    ), done.stderr


def test_the_demo_stops_when_its_appliance_dies(tmp_path):
    """Whatever ends the appliance (here: a camera that is not there), the demo does not go on
    serving a hub whose counter is gone."""
    hub_port = free_port()
    done = run(
        tmp_path,
        "demo",
        "--port",
        str(hub_port),
        "--kiosk-port",
        str(free_port()),
        BUERGERAMT_APPLIANCE_CAMERA="opencv",
        BUERGERAMT_APPLIANCE_CAMERA_DEVICE="63",
    )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert "the demo's counter appliance stopped" in lines(done.stderr)[-1], done.stderr
    assert nobody_listens(hub_port)


def test_the_demo_on_other_ports_serves_both_and_stops_cleanly(tmp_path):
    """`make demo PORT=… KIOSK_PORT=…`: hub and counter screen where asked; SIGTERM ends both
    with status 0 and without the appliance-stopped error."""
    hub_port, kiosk_port = free_port(), free_port()
    child = subprocess.Popen(
        [sys.executable, "-c", "from hub.cli import main; main()", "demo",
         "--port", str(hub_port), "--kiosk-port", str(kiosk_port)],
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("BUERGERAMT_")},
            "BUERGERAMT_DATA_DIR": str(tmp_path / "var"),
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        state = None
        while state != "online" and time.monotonic() < deadline:
            try:
                state = httpx.get(f"http://127.0.0.1:{kiosk_port}/healthz").json()["hub"]
            except httpx.HTTPError:
                time.sleep(0.25)
        assert state == "online"
        assert httpx.get(f"http://127.0.0.1:{hub_port}/healthz").status_code == 200
    finally:
        os.killpg(child.pid, 15)  # as a terminal's Ctrl-C reaches the whole group
        stdout, stderr = child.communicate(timeout=30)
    assert child.returncode == 0, stderr
    assert f"http://127.0.0.1:{kiosk_port}/" in stdout
    assert "Error" not in stderr
    with pytest.raises(ProcessLookupError):
        os.killpg(child.pid, 0)
