"""A client of ClamAV's daemon (clamd) over its socket: the file goes in chunks through the
INSTREAM command, so clamd needs no access to the hub's files.

Address: a unix socket path (`/run/clamav/clamd.ctl`, also `unix:/path`) or `host:port`
(also `tcp://host:port`), clamd's LocalSocket or TCPSocket. clamd refuses streams longer than
its StreamMaxLength (25 MB by default): keep it above the hub's largest file.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterable
from pathlib import Path

from hub.documents.errors import DocumentRefused

log = logging.getLogger("hub.documents.clamd")
CHUNK = 64 * 1024
MAX_REPLY = 4096


def _connect(address: str, timeout: float) -> socket.socket:
    address = address.removeprefix("tcp://")
    if address.startswith("unix:") or address.startswith("/") or ":" not in address:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        sock.connect(address.removeprefix("unix:"))
        return sock
    host, _, port = address.rpartition(":")
    return socket.create_connection((host.strip("[]"), int(port)), timeout=timeout)


def _reply(sock: socket.socket) -> str:
    """clamd's answer, up to its terminating NUL (the `z` form of the command)."""
    answer = b""
    while not answer.endswith(b"\0"):
        more = sock.recv(MAX_REPLY)
        if not more or len(answer) > MAX_REPLY:
            break
        answer += more
    return answer.rstrip(b"\0").decode("utf-8", "replace").strip()


class Clamd:
    """One clamd, reached anew for each scan (clamd closes a stream's connection anyway)."""

    def __init__(self, address: str, timeout: float = 60.0) -> None:
        self.address = address
        self.timeout = timeout

    def ping(self) -> bool:
        """True when clamd answers PING."""
        try:
            with _connect(self.address, self.timeout) as sock:
                sock.sendall(b"zPING\0")
                return _reply(sock) == "PONG"
        except OSError:
            return False

    def scan(self, chunks: Iterable[bytes]) -> None:
        """Scan the stream of `chunks`; DocumentRefused `infected` with the signature's name,
        or `scanner_unavailable` when clamd cannot be asked or gives no clear answer."""
        try:
            with _connect(self.address, self.timeout) as sock:
                sock.sendall(b"zINSTREAM\0")
                for chunk in chunks:
                    for start in range(0, len(chunk), CHUNK):
                        piece = chunk[start : start + CHUNK]
                        sock.sendall(len(piece).to_bytes(4, "big") + piece)
                sock.sendall(b"\0\0\0\0")
                answer = _reply(sock)
        except OSError as exc:
            log.warning("clamd at %s cannot be reached: %s", self.address, exc)
            raise DocumentRefused(
                "scanner_unavailable", "the virus scanner cannot be reached"
            ) from None
        if answer.endswith(" FOUND"):
            signature = answer.removeprefix("stream:").removesuffix(" FOUND").strip()
            log.warning("clamd found %s; the file is refused", signature)
            raise DocumentRefused("infected", f"the virus scanner found {signature}")
        if answer != "stream: OK":
            # "INSTREAM size limit exceeded", a database error, a cut connection: no verdict.
            log.warning("clamd gave no verdict: %r", answer[:200])
            raise DocumentRefused("scanner_unavailable", "the virus scanner gave no verdict")

    def scan_file(self, path: Path) -> None:
        """Scan the file at `path` (read in chunks)."""
        with path.open("rb") as file:
            self.scan(iter(lambda: file.read(CHUNK), b""))
