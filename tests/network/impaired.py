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

from tests.network.scenarios import CallNetwork, join
from tests.support.impair import Diversion, Impairment, UdpImpairment, divert
from tests.support.netlab import Block, Host

SAMPLE_RATE = 48000  # Opus plays out at 48 kHz
RELAY_HOST = 9  # the relay's address on the server's link: 10.77.1.9

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


def kiosk_page(net: CallNetwork, playwright: Any) -> Any:
    """The clerk's screen, in a Chromium on the counter, showing the call."""
    from tests.network.scenarios import kiosk_page as opened

    return opened(net, playwright)


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
