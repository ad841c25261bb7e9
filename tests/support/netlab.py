"""A private test network made of Linux network namespaces (root only; no netem needed).

Every host is a namespace; the "internet" is one more namespace routing between them. Each lab
has its own names (`bvnet<pid>x<n>-<role>`), so parallel runs never meet, and namespaces left by
a run that died are removed when the next lab starts. Nothing leaves the machine: the lab's
namespaces have no link to the root namespace, and every address is the lab's own.

Addresses: host link k of the internet is 10.77.k.0/24 (the internet's side .1, the host .2,
further addresses of the same host .3, .4, ...); the LAN behind router k is 10.78.k.0/24 (the
router .1, the host behind it .2). Inside a lab they are always these; the namespaces keep labs
apart.

The API (a `netlab` fixture gives a fresh `Netlab`, closed after the test even when it fails):

- `lab.attach(role, extra=0)`: a host on the internet (its address `host.address`, `extra`
  more addresses in `host.addresses`).
- `lab.behind_router(role, nat="symmetric" | "masquerade", allow_out=None)`: a host behind its
  own router namespace (`host.router`). "symmetric" is nftables masquerade with
  `random,fully-random` (a new outside port for every destination, as mobile carriers do);
  "masquerade" keeps ports where it can. `allow_out` (addresses) makes the router a firewall:
  only new connections to those pass, and replies to them.
- `lab.block(host, match)` / `Block.lift()`: drop what `match` (nftables syntax, e.g.
  "meta l4proto udp" or "ip daddr 10.77.1.2") selects where `host` forwards (a router, the
  internet); `lab.drop_to(address)` drops everything to and from an address on the internet.
- `lab.cut(host)` / `lab.restore(host)`: the host's uplink down and up (both ends).
- `lab.readdress(host, address)`: the host (or its router) moves to a new internet address,
  as a phone going from Wi-Fi to mobile does (the old address is gone, NAT follows).
- `lab.shape(host, kbit)` / `Shaping.lift()`: the host's uplink capped at `kbit` each way with
  tc tbf (`htb=True`: an htb class instead, for adding classes later).
- `host.run(*argv)`, `host.popen(argv)` (stopped when the lab closes), `host.call(fn)` (runs
  `fn` in a thread inside the namespace: sockets it opens live there), `enter(ns)` (moves the
  calling thread in: RunningAppliance uses it), `host.wrapper(program)` (a script that runs
  `program` in the namespace: Playwright launches Chromium through it).

Loss, delay and jitter: the kernel here has no netem; nftables' `numgen random` drops a share of
packets (`lab.block(host, "numgen random mod 100 < 2")`), and delay needs a user-space relay.
"""

from __future__ import annotations

import ctypes
import itertools
import os
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

import pytest

from tests.support.environment import IN_CI

T = TypeVar("T")
IP = shutil.which("ip") or "/usr/sbin/ip"
NFT = shutil.which("nft") or "/usr/sbin/nft"
CLONE_NEWNET = 0x40000000
NETNS_DIR = Path("/run/netns")
PREFIX = "bvnet"
_labs = itertools.count(1)
_libc = ctypes.CDLL(None, use_errno=True)

Nat = Literal["symmetric", "masquerade"]


def missing() -> str | None:
    """Why this machine cannot build a lab (None: it can)."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    for tool in (IP, NFT):
        if not Path(tool).exists():
            return f"no {tool} (apt install iproute2 nftables)"
    return None


def enter(ns: str) -> None:
    """Move the calling thread into namespace `ns` (only this thread: others stay)."""
    fd = os.open(NETNS_DIR / ns, os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"setns {ns}: {os.strerror(errno)}")
    finally:
        os.close(fd)


def _sh(*argv: str, input: str | None = None) -> str:
    done = subprocess.run(argv, input=input, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout


def sweep_leftovers() -> None:
    """Remove namespaces of labs whose process no longer runs."""
    for line in _sh(IP, "netns", "list").splitlines():
        name = line.split()[0] if line.strip() else ""
        if not name.startswith(PREFIX):
            continue
        owner = name[len(PREFIX) :].split("x", 1)[0]
        if owner.isdigit() and not _alive(int(owner)):
            subprocess.run([IP, "netns", "del", name], capture_output=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class Host:
    """One namespace: a host, a router or the internet."""

    lab: Netlab
    role: str
    ns: str
    addresses: list[str] = field(default_factory=list)
    uplink: str = ""  # its interface towards the internet (or its router)
    peer: tuple[Host, str] | None = None  # the other end of the uplink: (namespace, interface)
    gateway: str = ""
    router: Host | None = None  # the router in front of a host behind one
    link: int = 0  # the internet link number (10.77.<link>.0/24) of this host or its router

    @property
    def address(self) -> str:
        return self.addresses[0]

    def run(self, *argv: str, input: str | None = None) -> str:
        """Run a command inside the namespace and return its output; fail on an error."""
        return _sh(IP, "netns", "exec", self.ns, *argv, input=input)

    def ip(self, *argv: str) -> str:
        return _sh(IP, "-n", self.ns, *argv)

    def popen(self, argv: Sequence[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        """Start a process inside the namespace; the lab stops it when it closes."""
        process = subprocess.Popen([IP, "netns", "exec", self.ns, *argv], **kwargs)
        self.lab.processes.append(process)
        return process

    def call(self, fn: Callable[[], T], timeout: float = 60) -> T:
        """Run `fn` in a thread inside the namespace and return what it returns."""
        result: list[T] = []
        error: list[BaseException] = []

        def body() -> None:
            try:
                enter(self.ns)
                result.append(fn())
            except BaseException as exc:
                error.append(exc)

        thread = threading.Thread(target=body, name=f"in-{self.role}", daemon=True)
        thread.start()
        thread.join(timeout)
        if error:
            raise error[0]
        if not result:
            raise TimeoutError(f"{fn} in {self.role} took over {timeout}s")
        return result[0]

    def wrapper(self, program: str) -> Path:
        """An executable script that runs `program` (with its arguments) in this namespace."""
        path = self.lab.workdir / f"in-{self.role}-{Path(program).name}"
        path.write_text(f'#!/bin/sh\nexec {IP} netns exec {self.ns} {program} "$@"\n')
        path.chmod(0o755)
        return path

    def nft(self, ruleset: str) -> str:
        return self.run(NFT, "-f", "-", input=ruleset)


@dataclass
class Block:
    """A drop rule in one namespace's forward path; `lift()` removes it."""

    host: Host
    handle: str

    def lift(self) -> None:
        self.host.run(NFT, "delete", "rule", "inet", "netlab", "impair", "handle", self.handle)


@dataclass
class Shaping:
    """A rate cap on both ends of a link; `lift()` removes it."""

    ends: list[tuple[Host, str]]

    def lift(self) -> None:
        for host, dev in self.ends:
            _sh(IP, "netns", "exec", host.ns, "tc", "qdisc", "del", "dev", dev, "root")


# Forwarding namespaces get a table whose `impair` chain holds what `block` adds: it runs before
# a router's own firewall (priority -10), so a block wins over an accept.
IMPAIR_TABLE = """
table inet netlab {
  chain impair {
    type filter hook forward priority -10; policy accept;
  }
}
"""


class Netlab:
    """The lab: namespaces, links and rules, all removed by `close()`."""

    def __init__(self, workdir: Path) -> None:
        sweep_leftovers()
        self.workdir = workdir
        self.name = f"{PREFIX}{os.getpid()}x{next(_labs)}"
        self.hosts: list[Host] = []
        self.processes: list[subprocess.Popen[bytes]] = []
        self._links = itertools.count(1)
        self.internet = self._namespace("inet", forwarding=True)

    # --- building ---

    def _namespace(self, role: str, forwarding: bool = False) -> Host:
        host = Host(self, role, f"{self.name}-{role}")
        _sh(IP, "netns", "add", host.ns)
        self.hosts.append(host)
        settings = [
            "net.ipv6.conf.all.disable_ipv6=1",
            "net.ipv6.conf.default.disable_ipv6=1",
            "net.ipv4.conf.all.promote_secondaries=1",
            "net.ipv4.conf.default.promote_secondaries=1",
        ]
        if forwarding:
            settings += ["net.ipv4.ip_forward=1"]
        host.run("sysctl", "-qw", *settings)
        host.ip("link", "set", "lo", "up")
        if forwarding:
            host.nft(IMPAIR_TABLE)
        return host

    def _wire(
        self, a: Host, a_dev: str, a_cidr: str, b: Host, b_dev: str, b_cidrs: list[str]
    ) -> None:
        _sh(IP, "link", "add", a_dev, "netns", a.ns, "type", "veth", "peer", b_dev, "netns", b.ns)
        a.ip("addr", "add", a_cidr, "dev", a_dev)
        for cidr in b_cidrs:
            b.ip("addr", "add", cidr, "dev", b_dev)
        a.ip("link", "set", a_dev, "up")
        b.ip("link", "set", b_dev, "up")

    def _on_internet(self, host: Host, extra: int) -> None:
        k = next(self._links)
        addresses = [f"10.77.{k}.{2 + i}" for i in range(1 + extra)]
        self._wire(
            self.internet, f"to-{host.role}"[:15], f"10.77.{k}.1/24",
            host, "up0", [f"{a}/24" for a in addresses],
        )  # fmt: skip
        host.addresses, host.uplink, host.link = addresses, "up0", k
        host.peer, host.gateway = (self.internet, f"to-{host.role}"[:15]), f"10.77.{k}.1"
        host.ip("route", "add", "default", "via", host.gateway)

    def attach(self, role: str, extra: int = 0) -> Host:
        """A host on the internet with one address (and `extra` more on the same link)."""
        host = self._namespace(role)
        self._on_internet(host, extra)
        return host

    def behind_router(
        self, role: str, nat: Nat = "symmetric", allow_out: Sequence[str] | None = None
    ) -> Host:
        """A host behind its own router, which NATs (and filters, with `allow_out`)."""
        router = self._namespace(f"{role}-gw", forwarding=True)
        self._on_internet(router, 0)
        host = self._namespace(role)
        k = router.link
        self._wire(router, "lan0", f"10.78.{k}.1/24", host, "up0", [f"10.78.{k}.2/24"])
        host.addresses, host.uplink, host.link = [f"10.78.{k}.2"], "up0", k
        host.peer, host.gateway, host.router = (router, "lan0"), f"10.78.{k}.1", router
        host.ip("route", "add", "default", "via", host.gateway)
        flags = " random,fully-random" if nat == "symmetric" else ""
        rules = [
            "table ip nat {",
            "  chain postrouting {",
            "    type nat hook postrouting priority srcnat; policy accept;",
            f'    oifname "up0" masquerade{flags}',
            "  }",
            "}",
        ]
        if allow_out is not None:
            allowed = ", ".join(allow_out)
            rules += [
                "table inet firewall {",
                "  chain forward {",
                "    type filter hook forward priority 0; policy drop;",
                "    ct state established,related accept",
                f'    iifname "lan0" ip daddr {{ {allowed} }} accept',
                "  }",
                "}",
            ]
        router.nft("\n".join(rules) + "\n")
        return host

    # --- impairing ---

    def block(self, host: Host, match: str) -> Block:
        """Drop what `match` selects where `host` forwards (a router or the internet)."""
        out = host.run(
            NFT,
            "--echo",
            "--handle",
            "add",
            "rule",
            "inet",
            "netlab",
            "impair",
            *match.split(),
            "drop",
        )
        handle = out.rsplit("# handle", 1)[1].split()[0]
        return Block(host, handle)

    def drop_to(self, address: str) -> list[Block]:
        """Nothing reaches `address` across the internet and nothing comes from it."""
        return [
            self.block(self.internet, f"ip daddr {address}"),
            self.block(self.internet, f"ip saddr {address}"),
        ]

    def _ends(self, host: Host) -> list[tuple[Host, str]]:
        assert host.peer is not None, f"{host.role} has no uplink"
        return [(host, host.uplink), host.peer]

    def cut(self, host: Host) -> None:
        """The host's uplink goes down at both ends (packets in flight are lost)."""
        for end, dev in self._ends(host):
            end.ip("link", "set", dev, "down")

    def restore(self, host: Host) -> None:
        """The uplink comes back (routes through it are set again)."""
        for end, dev in self._ends(host):
            end.ip("link", "set", dev, "up")
        host.ip("route", "replace", "default", "via", host.gateway)

    def readdress(self, host: Host, address: str) -> None:
        """Give `host` (a host on the internet or a router) a new first address."""
        prefix = address.rsplit(".", 1)[0]
        assert prefix == host.gateway.rsplit(".", 1)[0], "the new address must be on its link"
        host.ip("addr", "del", f"{host.address}/24", "dev", host.uplink)
        host.ip("addr", "add", f"{address}/24", "dev", host.uplink)
        host.ip("route", "replace", "default", "via", host.gateway)
        host.addresses[0] = address

    def shape(self, host: Host, kbit: int, burst_bytes: int = 6000, htb: bool = False) -> Shaping:
        """Cap the host's uplink at `kbit` in each direction (tc on both ends)."""
        ends = self._ends(host)
        for end, dev in ends:
            tc = [IP, "netns", "exec", end.ns, "tc"]
            if htb:
                _sh(*tc, "qdisc", "add", "dev", dev, "root", "handle", "1:", "htb", "default", "10")
                _sh(
                    *tc, "class", "add", "dev", dev, "parent", "1:", "classid", "1:10",
                    "htb", "rate", f"{kbit}kbit", "ceil", f"{kbit}kbit", "burst", str(burst_bytes),
                )  # fmt: skip
            else:
                _sh(
                    *tc, "qdisc", "add", "dev", dev, "root", "tbf", "rate", f"{kbit}kbit",
                    "burst", str(burst_bytes), "latency", "200ms",
                )  # fmt: skip
        return Shaping(ends)

    # --- ending ---

    def close(self) -> None:
        """Stop the lab's processes and remove its namespaces (with their links and rules)."""
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        for host in reversed(self.hosts):
            subprocess.run([IP, "netns", "del", host.ns], capture_output=True)


@pytest.fixture
def netlab(tmp_path: Path) -> Iterator[Netlab]:
    """A fresh lab for one test, gone afterwards. Skipped without root or `ip`/`nft`, except
    under CI=true, where that fails."""
    reason = missing()
    if reason is not None:
        if IN_CI:
            pytest.fail(f"{reason} – CI runs as root with iproute2 and nftables", pytrace=False)
        pytest.skip(reason)
    lab = Netlab(tmp_path)
    try:
        yield lab
    finally:
        lab.close()
