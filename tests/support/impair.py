"""A user-space UDP impairment relay: delay, jitter and loss where the kernel has no netem.

`UdpImpairment` listens on one address and forwards every datagram to a target, one upstream
socket per client (so the target sees each client as its own 5-tuple and its replies find the
way back), and the replies back to the client. Each datagram, in each direction, is dropped with
probability `loss` (a seeded RNG: the same run drops the same packets) or held for `delay_s`
plus a uniform extra in [-jitter_s, +jitter_s]. A direction keeps its order, as a queue's jitter
does (netem with jitter would reorder; real paths rarely do): a datagram never leaves before the
one that came in before it.

tests/network puts it on the citizen's media path: the citizen's router rewrites the citizen's
UDP to coturn (`divert`) to the relay, which runs in the server's namespace and forwards to
coturn; everything else the citizen sends by UDP is dropped, so the call's only path is
citizen → relay → coturn → counter (docs/networks.md, "Impairment").
"""

from __future__ import annotations

import heapq
import itertools
import random
import selectors
import socket
import threading
import time
from dataclasses import dataclass, field

from tests.support.netlab import NFT, Host, enter

Address = tuple[str, int]
MAX_DATAGRAM = 65535


@dataclass(frozen=True)
class Impairment:
    """What happens to each datagram, each way: one-way delay, jitter around it, loss."""

    delay_s: float = 0.0
    jitter_s: float = 0.0
    loss: float = 0.0
    seed: int = 19

    @classmethod
    def link(cls, round_trip_s: float, jitter_s: float, loss: float) -> Impairment:
        """A link of this round trip (half each way), jitter and loss (each way)."""
        return cls(round_trip_s / 2, jitter_s, loss)


@dataclass
class Counts:
    """Datagrams the relay forwarded and dropped, per direction."""

    forwarded: dict[str, int] = field(default_factory=lambda: {"up": 0, "down": 0})
    dropped: dict[str, int] = field(default_factory=lambda: {"up": 0, "down": 0})


class UdpImpairment:
    """The relay: `start()` begins forwarding, `close()` ends it (sockets and threads)."""

    def __init__(
        self, listen: Address, target: Address, impairment: Impairment, netns: str | None = None
    ) -> None:
        self.listen, self.target, self.impairment = listen, target, impairment
        self.netns = netns
        self.counts = Counts()
        self._rng = random.Random(impairment.seed)
        self._selector = selectors.DefaultSelector()
        self._upstream: dict[Address, socket.socket] = {}  # client → its socket to the target
        self._clients: dict[socket.socket, Address] = {}
        self._queue: list[tuple[float, int, socket.socket, bytes, Address | None]] = []
        self._order = itertools.count()
        self._last_due = {"up": 0.0, "down": 0.0}
        self._wake = threading.Condition()
        self._stopped = threading.Event()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._threads = [
            threading.Thread(target=self._receive, name="impair-receive", daemon=True),
            threading.Thread(target=self._send, name="impair-send", daemon=True),
        ]
        self._server: socket.socket | None = None

    def start(self) -> UdpImpairment:
        """Bind (inside `netns`, when given) and start forwarding."""
        for thread in self._threads:
            thread.start()
        self._ready.wait(5)
        if self._error is not None:
            raise self._error
        return self

    def _socket(self) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        sock.setblocking(False)
        return sock

    def _receive(self) -> None:
        try:
            if self.netns is not None:
                enter(self.netns)  # sockets this thread opens live in the namespace
            server = self._server = self._socket()
            server.bind(self.listen)
            self._selector.register(server, selectors.EVENT_READ)
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        while not self._stopped.is_set():
            for key, _ in self._selector.select(0.2):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                while True:
                    try:
                        data, source = sock.recvfrom(MAX_DATAGRAM)
                    except (BlockingIOError, ConnectionRefusedError):
                        break
                    if sock is server:
                        self._schedule("up", self._upstream_for(source), data, None)
                    else:
                        self._schedule("down", server, data, self._clients[sock])

    def _upstream_for(self, client: Address) -> socket.socket:
        sock = self._upstream.get(client)
        if sock is None:
            sock = self._upstream[client] = self._socket()
            sock.bind((self.listen[0], 0))
            sock.connect(self.target)
            self._clients[sock] = client
            self._selector.register(sock, selectors.EVENT_READ)
        return sock

    def _schedule(self, way: str, via: socket.socket, data: bytes, to: Address | None) -> None:
        impairment = self.impairment
        if self._rng.random() < impairment.loss:
            self.counts.dropped[way] += 1
            return
        extra = self._rng.uniform(-impairment.jitter_s, impairment.jitter_s)
        due = max(time.monotonic() + impairment.delay_s + extra, self._last_due[way])
        self._last_due[way] = due
        with self._wake:
            heapq.heappush(self._queue, (due, next(self._order), via, data, to))
            self._wake.notify()
        self.counts.forwarded[way] += 1

    def _send(self) -> None:
        while not self._stopped.is_set():
            with self._wake:
                if not self._queue:
                    self._wake.wait(0.2)
                    continue
                wait = self._queue[0][0] - time.monotonic()
                if wait > 0:
                    self._wake.wait(wait)
                    continue
                _, _, via, data, to = heapq.heappop(self._queue)
            try:
                if to is None:
                    via.send(data)
                else:
                    via.sendto(data, to)
            except OSError:  # a full buffer or an unreachable client: lost, as on a real link
                pass

    def close(self) -> None:
        """Stop forwarding and close every socket."""
        self._stopped.set()
        with self._wake:
            self._wake.notify()
        for thread in self._threads:
            thread.join(5)
        for sock in [*self._upstream.values(), *([self._server] if self._server else [])]:
            sock.close()
        self._selector.close()


@dataclass
class Diversion:
    """A destination rewrite on a router; `lift()` removes it."""

    router: Host
    table: str

    def lift(self) -> None:
        self.router.run(NFT, "delete", "table", "ip", self.table)


def divert(router: Host, match: str, to: Address) -> Diversion:
    """On `router`, send what comes from its LAN and `match` selects (nftables syntax, e.g.
    "ip daddr 10.77.1.3 udp dport 3478") to `to` instead (DNAT before routing; replies are
    rewritten back, so the host behind it never sees the relay's address)."""
    table = "divert"
    router.nft(
        f"table ip {table} {{\n"
        "  chain prerouting {\n"
        "    type nat hook prerouting priority dstnat; policy accept;\n"
        f'    iifname "lan0" {match} dnat to {to[0]}:{to[1]}\n'
        "  }\n"
        "}\n"
    )
    return Diversion(router, table)
