"""Processes a fault test may stop and start: a private PostgreSQL (never the machine's) and a
counter appliance daemon (`buergeramt appliance`, synthetic camera and tone)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from tests.support.environment import free_port

PG_BIN = Path(os.environ.get("BUERGERAMT_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))


def _as_postgres(*command: str) -> subprocess.CompletedProcess[str]:
    # PostgreSQL refuses to run as root; the Debian package's `postgres` user runs it.
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    return subprocess.run(
        [*prefix, *command], check=True, capture_output=True, text=True, timeout=60
    )


class PrivatePostgres:
    """A PostgreSQL cluster of the test's own in a temporary folder, on a free port."""

    def __init__(self) -> None:
        if not (PG_BIN / "initdb").exists():
            raise FileNotFoundError(f"no PostgreSQL binaries in {PG_BIN}")
        self.dir = Path(tempfile.mkdtemp(prefix="bv-pg-"))
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        _as_postgres(
            str(PG_BIN / "initdb"), "-D", str(self.dir / "data"), "-U", "postgres",
            "--auth=trust", "--no-sync",
        )  # fmt: skip

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        _as_postgres(
            str(PG_BIN / "pg_ctl"), "-D", str(self.dir / "data"), "-o", options,
            "-l", str(self.dir / "server.log"), "-w", "start",
        )  # fmt: skip

    def stop(self) -> None:
        """Stop the server at once (connections are cut, as in an outage)."""
        data = str(self.dir / "data")
        _as_postgres(str(PG_BIN / "pg_ctl"), "-D", data, "-m", "immediate", "stop")

    def remove(self) -> None:
        """Stop (if running) and delete the cluster."""
        subprocess.run(
            ["runuser", "-u", "postgres", "--", str(PG_BIN / "pg_ctl"), "-D",
             str(self.dir / "data"), "-m", "immediate", "stop"],
            capture_output=True, check=False, timeout=60,
        )  # fmt: skip
        shutil.rmtree(self.dir, ignore_errors=True)


class ApplianceProcess:
    """`buergeramt appliance` in a child process: auto-admitting, with its clerk signed in and
    its counter screen on a free loopback port (whose state tells whether the hub is there)."""

    def __init__(self, hub_url: str, credential: str, password: str, log_dir: Path) -> None:
        self.kiosk_port = free_port()
        self.env = {
            **os.environ,
            "BUERGERAMT_APPLIANCE_HUB_URL": hub_url,
            "BUERGERAMT_APPLIANCE_DEVICE_CREDENTIAL": credential,
            "BUERGERAMT_APPLIANCE_CLERK_USERNAME": "clerk",
            "BUERGERAMT_APPLIANCE_CLERK_PASSWORD": password,
            "BUERGERAMT_APPLIANCE_AUTO_ADMIT": "true",
            "BUERGERAMT_APPLIANCE_KIOSK_PORT": str(self.kiosk_port),
        }
        self.log = log_dir / f"appliance-{self.kiosk_port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def launch(self) -> None:
        """Start the daemon (it connects, and keeps retrying, by itself)."""
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-c", "from hub.cli import main; main()", "appliance"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        """kill -9: no goodbye to the hub, no closing of its peer connection."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def hub_state(self) -> str | None:
        """What the appliance says of its hub link ("online", "offline", ...), None if it does
        not answer yet. Read from the page state its counter screen serves."""
        try:
            reply = httpx.get(f"http://127.0.0.1:{self.kiosk_port}/healthz", timeout=1)
        except httpx.HTTPError:
            return None
        return reply.json().get("hub") if reply.status_code == 200 else None

    def wait_online(self, timeout: float) -> float:
        """Seconds until the appliance reports its hub link online."""
        started = time.monotonic()
        while self.hub_state() != "online":
            assert self.process is not None and self.process.poll() is None, self.log.read_text()
            assert time.monotonic() - started < timeout, "appliance not online in time"
            time.sleep(0.1)
        return time.monotonic() - started

    def stop(self) -> None:
        """End the daemon (SIGTERM, then SIGKILL)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
