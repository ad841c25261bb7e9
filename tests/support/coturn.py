"""coturn (Debian's `turnserver`) on loopback with shared-secret auth, for tests and benches."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

TURNSERVER = shutil.which("turnserver") or "/usr/bin/turnserver"


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Coturn:
    """A TURN server for one test: UDP on loopback, relays in a small port range.

    Loopback peers are allowed because both parties of the test live on 127.0.0.1; a real
    deployment denies loopback and private ranges (docs/operations.md).
    """

    def __init__(self, secret: str, log: Path) -> None:
        self.secret = secret
        self.port = _free_udp_port()
        self.url = f"turn:127.0.0.1:{self.port}?transport=udp"
        first = 40000 + (self.port % 200) * 100
        self._log = log.open("w")
        self.process = subprocess.Popen(
            [
                TURNSERVER,
                "-n",
                "--listening-ip=127.0.0.1",
                "--relay-ip=127.0.0.1",
                f"--listening-port={self.port}",
                f"--min-port={first}",
                f"--max-port={first + 99}",
                "--use-auth-secret",
                f"--static-auth-secret={secret}",
                "--realm=buergeramt.test",
                "--no-tls",
                "--no-dtls",
                "--no-tcp",
                "--allow-loopback-peers",
                "--no-cli",
                "--fingerprint",
                "--log-file=stdout",
                "--simple-log",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        time.sleep(0.5)
        if self.process.poll() is not None:
            raise RuntimeError(f"turnserver exited: {log.read_text()}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self._log.close()
