"""Calls over an impaired citizen link, on the network of tests/network/scenarios.py: a weak link
(round trip, jitter and loss from the UDP impairment relay, tests/support/impair.py), a capped
link (tc tbf), and a link that drops for a while and comes back with a new address. Each
scenario returns what it measured; tests/network/test_impaired.py asserts on it and
bench/network.py records it.

What the citizen's page decodes is read from Chromium's own statistics, sampled inside the page
every 40 ms (`SAMPLER`), so that short gaps are seen: frames decoded (video) and samples
received and concealed (audio). An audio gap is a run of sampling windows in which at least
half of what was played out was concealment (NetEq's stand-in for packets that did not come);
its length is the concealed audio in the run. A real gap of G ms shows as at least G - 40 ms.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence
from typing import Any

from appliance.devices.camera.synthetic import SyntheticCamera
from tests.network.scenarios import (
    CITIZEN_SCREEN,
    KIOSK_SCREEN,
    CallNetwork,
    call_state,
    join,
    kiosk_page,
)
from tests.support.impair import Diversion, Impairment, UdpImpairment, divert
from tests.support.netlab import Block, Host

SAMPLE_RATE = 48000  # Opus plays out at 48 kHz
RELAY_HOST = 9
GRAIN = 8  # the relay's address on the server's link: 10.77.1.9

# Sampled in the page every 40 ms into window.bvSamples: the time, which connection (offers
# made so far), frames decoded, audio samples received and concealed, video bytes received.
SAMPLER = """() => {
  const samples = window.bvSamples = [];
  const tick = async () => {
    const pc = window.bvCall.pc;
    if (pc) {
      const stats = await pc.getStats();
      const s = {t: performance.now() / 1000, pc: window.bvCall.offers,
                 frames: 0, samples: 0, concealed: 0, video_bytes: 0};
      stats.forEach((r) => {
        if (r.type !== 'inbound-rtp') return;
        if (r.kind === 'video') {
          s.frames = r.framesDecoded || 0;
          s.video_bytes = r.bytesReceived || 0;
        } else if (r.kind === 'audio') {
          s.samples = r.totalSamplesReceived || 0;
          s.concealed = r.concealedSamples || 0;
        }
      });
      samples.push(s);
    }
    if (!window.bvSamplesStop) setTimeout(tick, 40);
  };
  tick();
  return performance.now() / 1000;
}"""
SAMPLES_SINCE = "(t) => window.bvSamples.filter((s) => s.t >= t)"
NOW = "() => performance.now() / 1000"
CITIZEN_QUALITY = "() => window.bvCall.quality || null"
KIOSK_QUALITY = "() => document.getElementById('call-quality').dataset.q || null"
KIOSK_MEDIA = "() => document.getElementById('media-state').textContent"
WEAK = ("fair", "poor")
WEAK_LINK = Impairment.link(0.150, 0.030, 0.02)  # round trip, jitter, loss (each way)


def fps(samples: Sequence[dict[str, Any]]) -> float:
    """Frames decoded per second over the samples (of one connection)."""
    first, last = samples[0], samples[-1]
    return (last["frames"] - first["frames"]) / (last["t"] - first["t"])


def longest_audio_gap_ms(samples: Sequence[dict[str, Any]]) -> float:
    """The longest run of concealed audio (see the module's docstring), in ms; a change of
    connection between two samples counts as a gap as long as the time between them."""
    longest = run = 0.0
    for before, after in itertools.pairwise(samples):
        played = after["samples"] - before["samples"]
        concealed = after["concealed"] - before["concealed"]
        if after["pc"] != before["pc"]:
            gap = after["t"] - before["t"]
        elif played <= 0:
            gap = after["t"] - before["t"]  # nothing played out at all
        elif concealed * 2 >= played:
            gap = concealed / SAMPLE_RATE
        else:
            run = 0.0
            continue
        run += gap
        longest = max(longest, run)
    return longest * 1000


def sample(page: Any, seconds: float) -> list[dict[str, Any]]:
    """The page's samples over the next `seconds` (the sampler runs already)."""
    since = page.evaluate(NOW)
    time.sleep(seconds)
    return page.evaluate(SAMPLES_SINCE, since)


# --- 1. a weak link ---


def weak_link(
    net: CallNetwork,
    playwright: Any,
    impairment: Impairment = WEAK_LINK,
    seconds: float = 12,
) -> dict[str, Any]:
    """The citizen reaches coturn only through the impairment relay (150 ms round trip, 30 ms
    jitter, 2 % loss each way by default); the call runs on it from the start."""
    relay, diversion, blocks = impair_citizen(net, impairment)
    try:
        browser = net.browser(playwright, net.citizen)
        context, page, setup = join(net, browser)
        kiosk = kiosk_page(net, playwright)
        page.evaluate(SAMPLER)
        time.sleep(2)  # past the start: the first keyframe and the jitter buffer settling
        samples = sample(page, seconds)
        # The indicators rate the last ten seconds: by now they have seen the link.
        qualities = wait_for_both(page, kiosk, lambda c, k: c in WEAK and k in WEAK, 10)
        path = page.evaluate(PATH_NOW)
        context.close()
    finally:
        for block in blocks:
            block.lift()
        diversion.lift()
        relay.close()
    return {
        "setup_s": setup,
        "fps_at_citizen": fps(samples),
        "seconds": samples[-1]["t"] - samples[0]["t"],
        "audio_gap_ms": longest_audio_gap_ms(samples),
        "connections": len({s["pc"] for s in samples}),
        "citizen_quality": qualities[0],
        "kiosk_quality": qualities[1],
        "relay": {"forwarded": relay.counts.forwarded, "dropped": relay.counts.dropped},
        "path": path,
    }


PATH_NOW = """async () => {
  const stats = await window.bvCall.pc.getStats();
  let pair = null;
  stats.forEach((r) => {
    const id = r.type === 'transport' && r.selectedCandidatePairId;
    if (id) pair = stats.get(id);
  });
  if (!pair) return null;
  const local = stats.get(pair.localCandidateId);
  return {local: local.candidateType, relay_protocol: local.relayProtocol || null,
          rtt: pair.currentRoundTripTime};
}"""


def impair_citizen(
    net: CallNetwork, impairment: Impairment
) -> tuple[UdpImpairment, Diversion, list[Block]]:
    """Put the relay between the citizen and coturn: it listens on a third address of the
    server, the citizen's router sends the citizen's UDP for coturn there, and drops any other
    UDP from the citizen (no path around the relay) and TURN over TCP (no path beside it)."""
    router = net.citizen.router
    assert router is not None
    server: Host = net.server
    relay_ip = f"{server.gateway.rsplit('.', 1)[0]}.{RELAY_HOST}"
    server.ip("addr", "add", f"{relay_ip}/24", "dev", server.uplink)
    port = net.turn.port
    relay = UdpImpairment(
        (relay_ip, port), (net.turn_address, port), impairment, netns=server.ns
    ).start()
    diversion = divert(router, f"ip daddr {net.turn_address} udp dport {port}", (relay_ip, port))
    blocks = [
        net.lab.block(router, f'iifname "lan0" meta l4proto udp ip daddr != {relay_ip}'),
        net.lab.block(router, f'iifname "lan0" tcp dport {port}'),
    ]
    return relay, diversion, blocks


def wait_for_both(
    page: Any, kiosk: Any, ok: Callable[[Any, Any], bool], seconds: float
) -> tuple[Any, Any]:
    """Both indicators (citizen, kiosk) as soon as `ok` holds for them, or as they stand after
    `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        both = page.evaluate(CITIZEN_QUALITY), kiosk.evaluate(KIOSK_QUALITY)
        if ok(*both) or time.monotonic() > deadline:
            return both
        time.sleep(0.25)


# --- 2. a capped link ---


async def _watch_sending(call: Any, every_s: float, out: list[dict[str, Any]], stop: Any) -> None:
    """In the appliance's loop: what its call has sent so far (RTP payload bytes per kind,
    from aiortc's sender statistics) and the video encoder's target, every `every_s`."""
    import asyncio

    from aiortc.stats import RTCOutboundRtpStreamStats

    while not stop.is_set():
        pc = call.pc
        if pc is not None:
            sent = {"audio": 0, "video": 0}
            for s in (await pc.getStats()).values():
                if isinstance(s, RTCOutboundRtpStreamStats):
                    sent[s.kind] += s.bytesSent
            target = call.video.bitrate if call.video is not None else None
            out.append({"t": time.monotonic(), "pc": id(pc), **sent, "target": target})
        await asyncio.sleep(every_s)


def kbit_per_s(samples: Sequence[dict[str, Any]], kinds: Sequence[str], end: int) -> float:
    """The rate of `kinds` over the second before sample `end` (0 when no second lies before)."""
    last = samples[end]
    first = next((s for s in reversed(samples[:end]) if last["t"] - s["t"] >= 1.0), None)
    if first is None or first["pc"] != last["pc"]:
        return 0.0
    sent = sum(last[k] - first[k] for k in kinds)
    return sent * 8 / 1000 / (last["t"] - first["t"])


def capped_link(
    net: CallNetwork, playwright: Any, kbit: int = 300, capped_s: float = 12, back_s: float = 15
) -> dict[str, Any]:
    """The citizen's link capped at `kbit` each way (tc tbf) in the middle of a call, then
    lifted: how soon the appliance sends less than the cap, and more again afterwards."""
    import threading

    # Sensor noise, as a real camera has: the plain test picture needs 30-50 kbit/s whatever
    # the encoder is allowed, and would leave the cap nothing to cut.
    camera = net.appliance.devices.camera
    assert isinstance(camera, SyntheticCamera)
    camera.grain = GRAIN
    browser = net.browser(playwright, net.citizen)
    context, page, setup = join(net, browser)
    page.evaluate(SAMPLER)
    call = net.appliance.counter.calls[str(net.booking.id)]
    sending: list[dict[str, Any]] = []
    stop = threading.Event()
    import asyncio

    watcher = asyncio.run_coroutine_threadsafe(
        _watch_sending(call, 0.25, sending, stop), net.appliance.loop
    )
    try:
        time.sleep(4)  # the rate the link allows uncapped
        capped_at = time.monotonic()
        since = page.evaluate(NOW)
        shaping = net.lab.shape(net.citizen, kbit)
        time.sleep(capped_s)
        shaping.lift()
        lifted_at = time.monotonic()
        capped = page.evaluate(SAMPLES_SINCE, since)
        time.sleep(back_s)
    finally:
        stop.set()
        watcher.result(5)
    context.close()
    rates = [
        {
            "at": round(s["t"] - capped_at, 2),
            "all": kbit_per_s(sending, ("audio", "video"), i),
            "video": kbit_per_s(sending, ("video",), i),
            "target": s["target"],
        }
        for i, s in enumerate(sending)
    ]
    capped_for = lifted_at - capped_at
    before = [r for r in rates if -2 <= r["at"] < 0]
    during = [r for r in rates if 0 <= r["at"] < capped_for]
    over = [r["at"] for r in during if r["all"] > kbit]
    adapted = max(over, default=0.0)
    settled = [r for r in during if r["at"] >= adapted + 1]
    back = [r["at"] - capped_for for r in rates if r["at"] >= capped_for and r["all"] > kbit]
    concealed = capped[-1]["concealed"] - capped[0]["concealed"]
    return {
        "setup_s": setup,
        "kbit": kbit,
        "bitrate_adapt_s": adapted,
        "bitrate_recover_s": min(back, default=None),
        "video_kbit_before": sum(r["video"] for r in before) / len(before),
        "video_kbit_capped": sum(r["video"] for r in settled) / len(settled),
        "all_kbit_capped_max": max(r["all"] for r in settled),
        "video_kbit_back": max(r["video"] for r in rates if r["at"] >= capped_for),
        "fps_capped": fps(capped),
        "audio_gap_capped_ms": longest_audio_gap_ms(capped),
        "audio_concealed_capped": concealed / (capped[-1]["samples"] - capped[0]["samples"]),
        "rates": rates,
    }


# --- 3. the path away and back with a new address ---

NOTES = "Personalausweis läuft im Mai ab"
NEW_ADDRESS_HOST = 9  # the citizen's router comes back as 10.77.2.9 (mobile after Wi-Fi)


def frames_back_at(samples: Sequence[dict[str, Any]], since: float) -> float | None:
    """When frames decoded grew again after `since` (page time): the first sample after it
    showing more frames than the one before, on the same connection or a new one."""
    for before, after in itertools.pairwise(samples):
        if after["t"] <= since:
            continue
        if after["pc"] != before["pc"] and after["frames"] > 0:
            return after["t"]
        if after["pc"] == before["pc"] and after["frames"] > before["frames"]:
            return after["t"]
    return None


def call_with_notes(net: CallNetwork, playwright: Any) -> tuple[Any, Any, float, Any]:
    """A call joined by the citizen, the clerk's notes typed on the kiosk and kept by the
    appliance, the page's sampler running: (context, page, setup seconds, kiosk)."""
    browser = net.browser(playwright, net.citizen)
    context, page, setup = join(net, browser)
    kiosk = kiosk_page(net, playwright)
    kiosk.fill("#call-notes", NOTES)
    appointment = str(net.booking.id)
    drafts = net.appliance.counter.drafts
    net.appliance.wait_for(lambda: drafts.get(appointment) == NOTES, timeout=5)
    page.evaluate(SAMPLER)
    return context, page, setup, kiosk


def back_with_new_address(net: CallNetwork, router: Host) -> str:
    """The router's uplink up again with a new address (mobile after Wi-Fi): that address."""
    net.lab.restore(router)
    address = f"{router.gateway.rsplit('.', 1)[0]}.{NEW_ADDRESS_HOST}"
    net.lab.readdress(router, address)
    return address


def what_the_call_holds(net: CallNetwork, kiosk: Any) -> tuple[str, str]:
    """The clerk's notes on the kiosk drawn afresh (kept by the appliance), and the call's
    state at the hub."""
    kiosk.reload()
    kiosk.wait_for_function("() => document.body.dataset.screen === 'call'", timeout=10000)
    return kiosk.input_value("#call-notes"), call_state(net)


def path_change(net: CallNetwork, playwright: Any, down_s: float = 10) -> dict[str, Any]:
    """The citizen's link (its router's uplink) down for `down_s`, then back with a new
    address: when frames flow again, what the kiosk said meanwhile, and whether the clerk's
    notes (typed before) and the hub's call survived."""
    router = net.citizen.router
    assert router is not None
    context, page, setup, kiosk = call_with_notes(net, playwright)
    time.sleep(1)
    offers = page.evaluate("() => window.bvCall.offers")
    net.lab.cut(router)
    started = time.monotonic()
    kiosk_said: list[dict[str, Any]] = []
    while (at := time.monotonic() - started) < down_s:
        kiosk_said.append({"at": round(at, 1), "media": kiosk.evaluate(KIOSK_MEDIA)})
        time.sleep(0.5)
    address = back_with_new_address(net, router)
    back = page.evaluate(NOW)
    deadline = time.monotonic() + 30
    frames_at = None
    while frames_at is None and time.monotonic() < deadline:
        time.sleep(0.25)
        frames_at = frames_back_at(page.evaluate(SAMPLES_SINCE, back - 1), back)
        kiosk_said.append(
            {"at": round(time.monotonic() - started, 1), "media": kiosk.evaluate(KIOSK_MEDIA)}
        )
    page.wait_for_function(IN_CALL_NOW, timeout=10000)
    after = sample(page, 2)
    notes, state = what_the_call_holds(net, kiosk)
    context.close()
    return {
        "setup_s": setup,
        "restore_after_path_s": None if frames_at is None else frames_at - back,
        "kiosk_said": kiosk_said,
        "new_connections": page_offers_after(after) - offers,
        "fps_after": fps(after),
        "notes": notes,
        "state": state,
        "address": address,
    }


IN_CALL_NOW = "() => window.bvCall.call === 'in_call'"


def path_change_while_hub_away(
    net: CallNetwork, playwright: Any, away_s: float = 20, down_s: float = 8
) -> dict[str, Any]:
    """The hub unreachable for `away_s`, and meanwhile the citizen's link down for `down_s`
    and back with a new address: without the hub no new connection can be negotiated (aiortc
    has no ICE restart, and the old one's relay allocation belongs to the old address), so the
    call must come back by itself once the hub does, with what it held intact.

    The hub stays away 10 s after the new address: once (CI, 2026-12-01) media came back on
    its own 15.5 s after the new address, without the hub (a new relay allocation reaching the
    appliance's relay, whose permission covers the TURN server's address), so with 25 s the
    scenario's premise was at its edge."""
    router = net.citizen.router
    assert router is not None
    context, page, setup, kiosk = call_with_notes(net, playwright)
    offers = page.evaluate("() => window.bvCall.offers")
    blocks = net.lab.drop_to(net.hub_address)
    started = time.monotonic()
    time.sleep(2)
    net.lab.cut(router)
    time.sleep(down_s)
    back_with_new_address(net, router)
    path_back = page.evaluate(NOW)
    said: list[dict[str, Any]] = []
    while (at := time.monotonic() - started) < away_s:
        citizen, screen = page.evaluate(CITIZEN_SCREEN), kiosk.evaluate(KIOSK_SCREEN)
        said.append({"at": round(at, 1), "citizen": citizen, "kiosk": screen})
        time.sleep(0.5)
    # Nothing came back while the hub was away (the test's premise, checked).
    frames_without_hub = frames_back_at(page.evaluate(SAMPLES_SINCE, path_back - 1), path_back)
    for block in blocks:
        block.lift()
    hub_back = page.evaluate(NOW)
    deadline = time.monotonic() + 30
    frames_at = None
    while frames_at is None and time.monotonic() < deadline:
        time.sleep(0.25)
        frames_at = frames_back_at(page.evaluate(SAMPLES_SINCE, hub_back - 1), hub_back)
    page.wait_for_function(IN_CALL_NOW, timeout=15000)
    kiosk.wait_for_function(
        "() => !document.getElementById('media-state').textContent", timeout=15000
    )
    after = sample(page, 2)
    notes, state = what_the_call_holds(net, kiosk)
    context.close()
    return {
        "setup_s": setup,
        "frames_without_hub_at": frames_without_hub,
        "restore_after_hub_s": None if frames_at is None else frames_at - hub_back,
        "citizen_away": [s["at"] for s in said if s["citizen"]["away"]],
        "kiosk_reconnecting": [
            s["at"] for s in said if s["kiosk"]["media"].startswith("Verbindung unterbrochen")
        ],
        "kiosk_hub_warning": [s["at"] for s in said if s["kiosk"]["warning"]],
        "screens": sorted({(s["citizen"]["call"], s["kiosk"]["screen"]) for s in said}),
        "new_connections": page_offers_after(after) - offers,
        "fps_after": fps(after),
        "notes": notes,
        "state": state,
    }


def page_offers_after(samples: Sequence[dict[str, Any]]) -> int:
    """The number of offers the page had made at the last sample."""
    return int(samples[-1]["pc"])
