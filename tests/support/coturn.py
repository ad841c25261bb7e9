"""coturn (Debian's `turnserver`) with shared-secret auth, for tests and benches: on loopback, or
on an address of a netlab namespace (tests/support/netlab.py) with TCP and the relay rules of a
real deployment."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.support.netlab import Host

TURNSERVER = shutil.which("turnserver") or "/usr/bin/turnserver"
# Where a TURN server must never relay to (docs/operations.md, "coturn"): private, shared,
# loopback, link-local, documentation, benchmarking, multicast and reserved IPv4 ranges, and
# the IPv6 ones that match.
DENIED_PEERS = (
    "0.0.0.0-0.255.255.255",
    "10.0.0.0-10.255.255.255",
    "100.64.0.0-100.127.255.255",
    "127.0.0.0-127.255.255.255",
    "169.254.0.0-169.254.255.255",
    "172.16.0.0-172.31.255.255",
    "192.0.0.0-192.0.0.255",
    "192.0.2.0-192.0.2.255",
    "192.88.99.0-192.88.99.255",
    "192.168.0.0-192.168.255.255",
    "198.18.0.0-198.19.255.255",
    "198.51.100.0-198.51.100.255",
    "203.0.113.0-203.0.113.255",
    "224.0.0.0-255.255.255.255",
    "::1",
    "64:ff9b::-64:ff9b::ffff:ffff",
    "::ffff:0.0.0.0-::ffff:255.255.255.255",
    "100::-100::ffff:ffff:ffff:ffff",
    "2001::-2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff",
    "2002::-2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    "fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    "fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
)


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Coturn:
    """A TURN server for one test: UDP on loopback, relays in a small port range.

    Loopback peers are allowed because both parties of the test live on 127.0.0.1; a real
    deployment denies loopback and private ranges (docs/operations.md), and so does a coturn
    in a netlab namespace (tests/support/netlab.py).
    """

    def __init__(
        self,
        secret: str,
        log: Path,
        *,
        address: str = "127.0.0.1",
        tcp: bool = False,
        allowed_peers: Sequence[str] = (),
        host: Host | None = None,
    ) -> None:
        """On loopback by default. With `host` (a netlab namespace) it listens on `address`
        there, on the standard port 3478 (UDP, and TCP with `tcp`), and relays to no private or
        reserved address except the ranges in `allowed_peers` (as docs/operations.md says)."""
        self.secret = secret
        self.address = address
        self.port = 3478 if host is not None else _free_udp_port()
        self.url = f"turn:{address}:{self.port}?transport=udp"
        self.tcp_url = f"turn:{address}:{self.port}?transport=tcp"
        first = 40000 + (self.port % 200) * 100
        argv = [
            TURNSERVER,
            "-n",
            f"--listening-ip={address}",
            f"--relay-ip={address}",
            f"--listening-port={self.port}",
            f"--min-port={first}",
            f"--max-port={first + 99}",
            "--use-auth-secret",
            f"--static-auth-secret={secret}",
            "--realm=buergeramt.test",
            "--no-tls",
            "--no-dtls",
            "--no-cli",
            "--fingerprint",
            "--log-file=stdout",
            "--simple-log",
        ]
        if not tcp:
            argv.append("--no-tcp")
        if address == "127.0.0.1":
            argv.append("--allow-loopback-peers")
        else:
            argv += ["--no-multicast-peers", *(f"--denied-peer-ip={r}" for r in DENIED_PEERS)]
            argv += [f"--allowed-peer-ip={r}" for r in allowed_peers]
        self._log = log.open("w")
        popen = host.popen if host is not None else subprocess.Popen
        self.process = popen(argv, stdout=self._log, stderr=subprocess.STDOUT)
        time.sleep(0.5)
        if self.process.poll() is not None:
            raise RuntimeError(f"turnserver exited: {log.read_text()}")

    def denied_peers(self) -> set[str]:
        """The peer addresses coturn refused to relay to so far (its `denied-peer-ip` rules)."""
        self._log.flush()
        found = re.findall(r"A peer IP (\S+) denied", Path(self._log.name).read_text())
        return set(found)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self._log.close()
