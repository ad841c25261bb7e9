"""Calls across the test network (tests/support/netlab.py), end to end with real parts: the hub
and coturn on the server, Chromium (fake camera and microphone) as the citizen behind a symmetric
NAT, the appliance daemon (aiortc, synthetic camera and tone) behind the city's firewall. Each
scenario returns what it measured; tests/network asserts on it and bench/network.py records it.

The network (`call_network`):

    citizen 10.78.2.2 ── citizen-gw (symmetric NAT) 10.77.2.2 ─┐
                                                               inet ── server: hub 10.77.1.2,
    counter 10.78.3.2 ── counter-gw (firewall: out to hub and  │          coturn 10.77.1.3
                         TURN only; NAT) 10.77.3.2 ────────────┘

The citizen and the counter have no direct path: the counter's firewall lets nothing in and
nothing out except to the hub and TURN, so every call is relayed by coturn (UDP and TCP on
3478, relaying only to the lab's internet 10.77.0.0/16, never to private addresses).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hub.store import Store
from hub.store.seed import add_demo_counter
from tests.support.appliance_runner import RunningAppliance
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, MEDIA_ARGS
from tests.support.coturn import Coturn
from tests.support.netlab import Host, Netlab
from tests.support.realtime_clients import PASSWORD, Booking, make_desk

TURN_SECRET = "netlab-turn-secret"
INTERNET = "10.77.0.0-10.77.255.255"  # the lab's "public" addresses: TURN may relay there

IN_CALL = "() => window.bvCall.call === 'in_call'"
# The citizen's join click to the first frame of the clerk's video drawn (the counter admits by
# itself): the setup time as bench/call.py measures it. Rejects after 30 s.
JOIN_TO_FIRST_FRAME = """async () => {
  const video = document.getElementById('remote');
  const first = new Promise((done, fail) => {
    video.requestVideoFrameCallback(() => done(performance.now()));
    setTimeout(() => fail(new Error('no video within 30 s')), 30000);
  });
  const t0 = performance.now();
  document.getElementById('join').click();
  return (await first) - t0;
}"""
# The connection in use, from the page's own statistics: each end's candidate type (and how a
# relayed one reaches TURN), and the clerk's video frames decoded so far.
PATH = """async () => {
  const pc = window.bvCall.pc;
  if (!pc) return null;
  const stats = await pc.getStats();
  let pair = null, frames = 0;
  stats.forEach((r) => {
    if (r.type === 'transport' && r.selectedCandidatePairId) {
      pair = stats.get(r.selectedCandidatePairId);
    }
    if (r.type === 'inbound-rtp' && r.kind === 'video') frames = r.framesDecoded || 0;
  });
  if (!pair) return {frames};
  const local = stats.get(pair.localCandidateId), remote = stats.get(pair.remoteCandidateId);
  return {frames, local: local.candidateType, relay_protocol: local.relayProtocol || null,
          remote: remote.candidateType, remote_address: remote.address};
}"""


@dataclass
class CallNetwork:
    """The lab with its hosts, the hub and coturn on the server, a booking for now and the
    counter's appliance admitting whoever waits."""

    lab: Netlab
    server: Host
    citizen: Host
    counter: Host
    turn: Coturn
    hub: Any  # tests.support.hub.ServedHub
    store: Store
    booking: Booking
    appliance: RunningAppliance
    browsers: list[Any] = field(default_factory=list)

    @property
    def hub_address(self) -> str:
        return self.server.addresses[0]

    @property
    def turn_address(self) -> str:
        return self.server.addresses[1]

    def browser(self, playwright: Any, host: Host, *origins: str) -> Any:
        """Chromium (fake camera and microphone) inside `host`'s namespace; the hub's plain-HTTP
        address (and `origins`) count as secure, as HTTPS would in real life."""
        secure = ",".join([self.hub.url, *origins])
        browser = playwright.chromium.launch(
            executable_path=str(host.wrapper(CHROMIUM)),
            args=[
                *CHROMIUM_ARGS,
                *MEDIA_ARGS,
                f"--unsafely-treat-insecure-origin-as-secure={secure}",
            ],
        )
        self.browsers.append(browser)
        return browser

    def stop(self) -> None:
        for browser in self.browsers:
            browser.close()
        self.appliance.stop()
        self.turn.stop()


def call_network(
    lab: Netlab,
    store: Store,
    start_hub: Callable[..., Any],
    workdir: Path,
    *,
    kiosk: bool = False,
    **hub_env: str,
) -> CallNetwork:
    """Build the network, serve hub and coturn on the server, book a call for now and start the
    counter's appliance (auto-admitting; with `kiosk`, its clerk screen on the counter's own
    127.0.0.1)."""
    server = lab.attach("server", extra=1)
    hub_ip, turn_ip = server.addresses
    citizen = lab.behind_router("citizen", nat="symmetric")
    counter = lab.behind_router("counter", nat="masquerade", allow_out=[hub_ip, turn_ip])
    turn = Coturn(TURN_SECRET, workdir / "coturn.log", address=turn_ip, tcp=True,
                  allowed_peers=[INTERNET], host=server)  # fmt: skip
    # coturn checks the credentials' expiry against the real clock: the hub runs on it too,
    # with a counter open around the clock and an appointment at the next quarter hour.
    now = datetime.now(UTC)
    with store.transaction() as session:
        add_demo_counter(session)
    desk = make_desk(store, now)
    booking = desk.book(
        now.replace(second=0, microsecond=0) + timedelta(minutes=15 - now.minute % 15)
    )
    hub = start_hub(
        store.url,
        host=server,
        turn_urls=f'["{turn.url}", "{turn.tcp_url}"]',
        turn_secret=TURN_SECRET,
        stun_urls=f'["stun:{turn_ip}:{turn.port}"]',
        **hub_env,
    )
    appliance = RunningAppliance(
        netns=counter.ns,
        kiosk=kiosk,
        hub_url=hub.url,
        device_credential=desk.credentials[booking.counter],
        clerk_username="clerk",
        clerk_password=PASSWORD,
        auto_admit=True,
    )
    try:
        appliance.start()
    except BaseException:
        turn.stop()
        raise
    return CallNetwork(lab, server, citizen, counter, turn, hub, store, booking, appliance)


def join(net: CallNetwork, browser: Any) -> tuple[Any, Any, float]:
    """The citizen opens the join link and joins; returns (context, page, setup seconds)."""
    context = browser.new_context(locale="de-DE")
    page = context.new_page()
    page.goto(f"{net.hub.url}/join/{net.booking.join_token}")
    page.wait_for_function("() => document.getElementById('preview').srcObject !== null")
    setup = page.evaluate(JOIN_TO_FIRST_FRAME) / 1000
    page.wait_for_function(IN_CALL, timeout=20000)
    return context, page, setup


def frames_after(page: Any, seconds: float) -> tuple[dict[str, Any], int]:
    """The path in use now, and how many frames the page decodes in the next `seconds`."""
    before = page.evaluate(PATH)
    time.sleep(seconds)
    after = page.evaluate(PATH)
    return after, after["frames"] - before["frames"]


def turn_udp(net: CallNetwork, playwright: Any) -> dict[str, Any]:
    """No direct path between citizen and counter: the call goes through coturn over UDP."""
    browser = net.browser(playwright, net.citizen)
    context, page, setup = join(net, browser)
    path, frames = frames_after(page, 2)
    context.close()
    denied = sorted(net.turn.denied_peers())
    return {"setup_s": setup, "path": path, "frames_in_2s": frames, "turn_denied": denied}


def turn_tcp(net: CallNetwork, playwright: Any) -> dict[str, Any]:
    """UDP blocked entirely at the citizen's router (a corporate Wi-Fi): coturn over TCP."""
    assert net.citizen.router is not None
    net.lab.block(net.citizen.router, "meta l4proto udp")
    browser = net.browser(playwright, net.citizen)
    context, page, setup = join(net, browser)
    path, frames = frames_after(page, 2)
    context.close()
    return {"setup_s": setup, "path": path, "frames_in_2s": frames}


# What each screen shows, sampled once a second while the hub is away and after it returns.
CITIZEN_SCREEN = """async () => {
  const away = document.getElementById('server-away');
  return {
    connected: !!(window.bvCall.socket && window.bvCall.socket.connected),
    call: window.bvCall.call,
    offers: window.bvCall.offers,
    status: document.getElementById('call-status').textContent,
    away: !away.hidden,
    away_text: away.textContent,
  };
}"""
KIOSK_SCREEN = """() => {
  const warning = document.getElementById('hub-warning');
  return {
    screen: document.body.dataset.screen,
    hub: document.getElementById('chip-hub').dataset.state,
    warning: warning.hidden ? '' : warning.textContent,
    media: document.getElementById('media-state').textContent,
  };
}"""


def kiosk_page(net: CallNetwork, playwright: Any) -> Any:
    """The clerk's screen, opened in a Chromium on the counter (its kiosk is on the counter's
    own 127.0.0.1), showing the call."""
    browser = net.browser(playwright, net.counter, net.appliance.kiosk_url)
    page = browser.new_context(locale="de-DE").new_page()
    page.goto(net.appliance.kiosk_url)
    page.wait_for_function("() => document.body.dataset.screen === 'call'", timeout=20000)
    return page


def hub_away(net: CallNetwork, playwright: Any, seconds: float = 30) -> dict[str, Any]:
    """The hub's address unreachable from everywhere for `seconds` during a call (TURN, on its
    own address, stays reachable): what the media and both screens do, and how long after the
    hub's return until both screens and the hub agree the call goes on."""
    browser = net.browser(playwright, net.citizen)
    context, page, _ = join(net, browser)
    kiosk = kiosk_page(net, playwright)
    offers = page.evaluate(CITIZEN_SCREEN)["offers"]
    blocks = net.lab.drop_to(net.hub_address)
    started, away_at = time.monotonic(), datetime.now(UTC)
    timeline: list[dict[str, Any]] = []
    while (at := time.monotonic() - started) < seconds:
        timeline.append(
            {
                "at": round(at, 1),
                "frames": page.evaluate(PATH)["frames"],
                "citizen": page.evaluate(CITIZEN_SCREEN),
                "kiosk": kiosk.evaluate(KIOSK_SCREEN),
            }
        )
        time.sleep(max(0.0, 1.0 - (time.monotonic() - started - at)))
    for block in blocks:
        block.lift()
    back, back_at = time.monotonic(), datetime.now(UTC)
    after: list[dict[str, Any]] = []
    while time.monotonic() - back < 20:
        citizen, screen = page.evaluate(CITIZEN_SCREEN), kiosk.evaluate(KIOSK_SCREEN)
        after.append({"at": round(time.monotonic() - back, 1), "citizen": citizen, "kiosk": screen})
        agreed = citizen["connected"] and citizen["call"] == "in_call" and not citizen["away"]
        agreed = agreed and screen["hub"] == "online" and not screen["warning"]
        if agreed and call_state(net) == "in_call":  # the hub's own record agrees too
            break
        time.sleep(0.25)
    resync = time.monotonic() - back
    path, frames = frames_after(page, 2)
    final = page.evaluate(CITIZEN_SCREEN)
    # The hub's record before the page closes: closing it is a citizen leaving, which the hub
    # rightly records as the call reconnecting.
    state, steps = call_state(net), call_steps(net, since=away_at, zero=back_at)
    context.close()
    citizen_away = [t["citizen"]["away_text"] for t in timeline if t["citizen"]["away"]]
    kiosk_away = [t["kiosk"]["warning"] for t in timeline if t["kiosk"]["warning"]]
    return {
        "citizen_away_after_s": _first(timeline, lambda t: t["citizen"]["away"]),
        "kiosk_away_after_s": _first(timeline, lambda t: bool(t["kiosk"]["warning"])),
        "citizen_away_text": citizen_away[0] if citizen_away else "",
        "kiosk_away_text": kiosk_away[0] if kiosk_away else "",
        "kiosk_hub_chip": sorted({t["kiosk"]["hub"] for t in timeline[-5:]}),
        "screens": sorted({(t["citizen"]["call"], t["kiosk"]["screen"]) for t in timeline}),
        "frames_while_away": timeline[-1]["frames"] - timeline[0]["frames"],
        "longest_stall_s": _longest_stall(timeline),
        "resync_s": resync,
        "after": after[-1],
        "frames_after_2s": frames,
        "path_after": path,
        "offers": final["offers"] - offers,  # new peer connections the page built
        "state": state,
        "appliance_media": net.appliance.counter.calls[str(net.booking.id)].media,
        "steps": steps,  # on a failure: who moved the call, when (seconds from the hub's return)
    }


def _first(timeline: list[dict[str, Any]], seen: Callable[[dict[str, Any]], bool]) -> float | None:
    """When (seconds into the outage) a sample first showed something, or None."""
    return next((t["at"] for t in timeline if seen(t)), None)


def _longest_stall(timeline: list[dict[str, Any]]) -> float:
    """The longest stretch, in seconds, over which the citizen decoded no new frame."""
    longest, since = 0.0, timeline[0]
    for previous, sample in itertools.pairwise(timeline):
        if sample["frames"] > previous["frames"]:
            since = sample
        longest = max(longest, sample["at"] - since["at"])
    return longest


def call_steps(net: CallNetwork, since: datetime, zero: datetime) -> list[str]:
    """The call's steps the hub recorded from `since`, timed from `zero`: "+1.2 s lost:
    in_call → reconnecting"."""
    from sqlalchemy import select

    from hub.store.models import CallEventRow

    with net.store.transaction() as session:
        rows = session.scalars(
            select(CallEventRow)
            .where(CallEventRow.appointment_id == net.booking.id, CallEventRow.at >= since)
            .order_by(CallEventRow.id)
        ).all()
        return [
            f"{(r.at - zero).total_seconds():+.1f} s {r.event}: {r.before} → {r.after}"
            for r in rows
        ]


def call_state(net: CallNetwork) -> str:
    """The call's state as the hub stored it."""
    from sqlalchemy import select

    from hub.store.models import CallRow

    with net.store.transaction() as session:
        return session.scalars(
            select(CallRow.state).where(CallRow.appointment_id == net.booking.id)
        ).one()
