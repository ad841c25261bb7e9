"""The test network itself (tests/support/netlab.py): what each host can reach, the symmetric
NAT's ports, the firewall, blocks, a cut link, a new address, and nothing left behind."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Callable

from tests.support.netlab import IP, Host, Netlab

ECHO = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 9999))
while True:
    data, sender = s.recvfrom(100)
    s.sendto(f"{sender[0]}:{sender[1]}".encode(), sender)
"""


def echo(host: Host, address: str) -> None:
    """A UDP echo server on `address`:9999 that answers with the sender's address and port."""
    host.popen(["python3", "-c", ECHO, address])


def probe(address: str, source_port: int = 0, tries: int = 6) -> Callable[[], str | None]:
    """Datagrams to `address`:9999 from one socket; the echo's answer, or None (one try is
    enough where the echo is known to run and the answer should not come)."""

    def send() -> str | None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.3)
            s.bind(("0.0.0.0", source_port))
            for _ in range(tries):  # the echo may still be starting
                try:
                    s.sendto(b"?", (address, 9999))
                    return s.recvfrom(100)[0].decode()
                except TimeoutError:
                    continue
                except OSError:
                    return None
        return None

    return send


def test_the_lab_has_a_symmetric_nat_a_firewall_and_cleans_up(netlab: Netlab):
    server = netlab.attach("server", extra=1)
    hub, turn = server.addresses
    citizen = netlab.behind_router("citizen")
    counter = netlab.behind_router("counter", nat="masquerade", allow_out=[hub, turn])
    other = netlab.attach("other")
    for address in (hub, turn):
        echo(server, address)
    echo(other, other.address)
    assert citizen.router is not None and counter.router is not None

    # The citizen reaches the server from its router's address, with a new port for every
    # destination even from one local port (symmetric NAT).
    seen_hub = citizen.call(probe(hub, 40000))
    seen_turn = citizen.call(probe(turn, 40000))
    assert seen_hub is not None and seen_turn is not None
    assert seen_hub.split(":")[0] == citizen.router.address
    assert seen_hub.split(":")[1] != seen_turn.split(":")[1]

    # The counter reaches the hub and TURN only; nothing on the internet reaches it.
    assert counter.call(probe(turn)) is not None
    assert counter.call(probe(other.address, tries=1)) is None
    echo(counter, counter.address)
    assert other.call(probe(counter.router.address, tries=2)) is None
    assert citizen.call(probe(counter.address, tries=1)) is None  # a private address: no route

    # UDP blocked at the citizen's router, then allowed again.
    block = netlab.block(citizen.router, "meta l4proto udp")
    assert citizen.call(probe(hub, tries=1)) is None
    block.lift()
    assert citizen.call(probe(hub)) is not None

    # The hub's address away from everyone, TURN's still there.
    blocks = netlab.drop_to(hub)
    assert citizen.call(probe(hub, tries=1)) is None
    assert citizen.call(probe(turn)) is not None
    for block in blocks:
        block.lift()

    # The link down and up; a new address for the citizen's router (Wi-Fi to mobile).
    netlab.cut(citizen.router)
    assert citizen.call(probe(hub, tries=1)) is None
    netlab.restore(citizen.router)
    assert citizen.call(probe(hub)) is not None
    new = citizen.router.address.rsplit(".", 1)[0] + ".9"
    netlab.readdress(citizen.router, new)
    answer = citizen.call(probe(hub))
    assert answer is not None and answer.startswith(new + ":")

    # Rates: a tbf and an htb cap install and lift on both ends.
    for htb in (False, True):
        shaping = netlab.shape(citizen.router, 300, htb=htb)
        qdisc = citizen.router.run("tc", "qdisc", "show", "dev", "up0")
        assert ("htb" if htb else "tbf") in qdisc
        shaping.lift()
        assert "tbf" not in citizen.router.run("tc", "qdisc", "show", "dev", "up0")

    names = [host.ns for host in netlab.hosts]
    netlab.close()
    listed = subprocess.run([IP, "netns", "list"], capture_output=True, text=True).stdout
    assert not [name for name in names if name in listed]
