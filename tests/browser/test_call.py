"""A real video call: Chromium (fake camera and microphone) on the join link, the appliance
daemon (aiortc, synthetic camera) at the counter, the hub on loopback in between."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from appliance.media.encoded import DEFAULT_BITRATE
from hub.store.models import AppointmentRow, CallRow
from hub.store.seed import add_demo_counter
from tests.support.appliance_runner import RunningAppliance
from tests.support.browser import _missing
from tests.support.coturn import TURNSERVER, Coturn
from tests.support.environment import MONDAY_EARLY, berlin
from tests.support.realtime_clients import PASSWORD, make_desk
from tests.support.waiting import Deadline, wait_until

# Mean colour of a 20x20 patch at the centre of each quadrant of the remote video.
SAMPLE = """() => {
  const video = document.getElementById('remote');
  const w = video.videoWidth, h = video.videoHeight;
  const canvas = document.createElement('canvas');
  canvas.width = w; canvas.height = h;
  const ctx = canvas.getContext('2d');
  ctx.drawImage(video, 0, 0, w, h);
  const mean = (x, y) => {
    const d = ctx.getImageData(x - 10, y - 10, 20, 20).data;
    const sum = [0, 0, 0];
    for (let i = 0; i < d.length; i += 4) {
      sum[0] += d[i]; sum[1] += d[i + 1]; sum[2] += d[i + 2];
    }
    return sum.map((s) => Math.round(s / (d.length / 4)));
  };
  return {w, h, tl: mean(w / 4, h / 4), tr: mean(3 * w / 4, h / 4),
          bl: mean(w / 4, 3 * h / 4), br: mean(3 * w / 4, 3 * h / 4)};
}"""


# What the citizen hears from the counter: the loudest frequency of the clerk's audio as
# decoded by the page (Web Audio on the received track), and the codec it came in.
HEARD = """async () => {
  const stream = document.getElementById('remote').srcObject;
  const audio = new AudioContext();
  await audio.resume();
  const analyser = audio.createAnalyser();
  analyser.fftSize = 8192;
  audio.createMediaStreamSource(new MediaStream(stream.getAudioTracks())).connect(analyser);
  await new Promise((r) => setTimeout(r, 1500));
  const bins = new Float32Array(analyser.frequencyBinCount);
  analyser.getFloatFrequencyData(bins);
  let loudest = 1;
  for (let i = 1; i < bins.length; i++) if (bins[i] > bins[loudest]) loudest = i;
  const stats = [...(await window.bvCall.pc.getStats()).values()];
  const inbound = stats.find((s) => s.type === 'inbound-rtp' && s.kind === 'audio');
  const codec = stats.find((s) => s.id === inbound.codecId);
  return {hz: loudest * audio.sampleRate / analyser.fftSize, db: bins[loudest],
          codec: codec.mimeType, channels: codec.channels};
}"""


def auto_admitting(hub, desk, booking, **settings) -> RunningAppliance:
    """The booking's counter appliance, signing its clerk in and admitting whoever waits."""
    return RunningAppliance(
        hub_url=hub.url,
        device_credential=desk.credentials[booking.counter],
        clerk_username="clerk",
        clerk_password=PASSWORD,
        auto_admit=True,
        **settings,
    ).start()


@pytest.fixture
def counter(sqlite_store, serve_hub):
    """A hub at 08:50 with a 09:00 appointment, and its counter's appliance auto-admitting."""
    store = sqlite_store
    desk = make_desk(store, MONDAY_EARLY)
    booking = desk.book(berlin(2026, 3, 2, 9, 0))
    hub = serve_hub(store.url, clock_start=berlin(2026, 3, 2, 8, 50).isoformat())
    appliance = auto_admitting(hub, desk, booking)
    yield hub, booking, appliance, store
    appliance.stop()


def is_red(rgb):
    return rgb[0] > 170 and rgb[1] < 90 and rgb[2] < 90


def is_green(rgb):
    return rgb[1] > 140 and rgb[0] < 90 and rgb[2] < 90


def is_blue(rgb):
    return rgb[2] > 170 and rgb[0] < 90 and rgb[1] < 90


def is_white(rgb):
    return min(rgb) > 200


# Predicates are functions, not expressions: Playwright evaluates an expression with eval(),
# which the page's Content-Security-Policy forbids.
PLAYING = (
    "() => document.getElementById('remote').videoWidth > 0 && "
    "document.getElementById('remote').currentTime > 0.5"
)


def relayed(store, booking) -> bool | None:
    """What the hub noted of the call's path (None: nobody said)."""
    with store.transaction() as session:
        call = session.get(CallRow, booking.id)
        return None if call is None else call.relayed


def joined_lobby(media_browser, hub, booking, check=None):
    """The citizen's phone opens the join link and enters the lobby."""
    context = media_browser.new_context(viewport={"width": 360, "height": 740}, locale="de-DE")
    page = context.new_page()
    page.goto(f"{hub.url}/join/{booking.join_token}")
    if check is not None:
        # The device check: the fake microphone's beep shows on the level meter, and the
        # fake devices are offered for choice.
        page.wait_for_function("() => window.bvCall.micPeak > 0.05", timeout=10000)
        page.wait_for_function("() => window.bvCall.turn === 'skipped'")  # no TURN configured here
        assert page.locator("#camera-choice option").count() >= 1
        assert page.locator("#mic-choice option").count() >= 1
        check.accessible(page)
        check.shot(page, "before-joining")
    page.get_by_role("button", name="Warteraum betreten").click()
    return context, page


def joined(media_browser, hub, booking, check=None):
    """The citizen joins and is admitted (by an auto-admitting appliance); video plays."""
    context, page = joined_lobby(media_browser, hub, booking, check)
    page.wait_for_function("() => window.bvCall.call === 'in_call'", timeout=20000)
    page.wait_for_function(PLAYING, timeout=20000)
    return context, page


def test_a_citizen_joins_and_sees_the_counters_camera(counter, media_browser, check):
    hub, booking, appliance, store = counter
    context, page = joined(media_browser, hub, booking, check)
    check.accessible(page)
    check.shot(page, "in-call")
    assert page.get_by_role("button", name="Warteraum betreten").is_hidden()
    colours = page.evaluate(SAMPLE)
    assert (colours["w"], colours["h"]) == (640, 480)
    assert is_red(colours["tl"]), colours
    assert is_green(colours["tr"]), colours
    assert is_blue(colours["bl"]), colours
    assert is_white(colours["br"]), colours
    assert page.locator("#call-status").inner_text() == "Sie sprechen mit der Sachbearbeitung."

    # The page told the counter this device is ready (camera and microphone work).
    assert page.evaluate("window.bvCall.check") == "ready"
    with store.transaction() as session:
        assert session.get(AppointmentRow, booking.id).device_check == "ready"
    # On loopback the media takes the direct path; the page says so for the statistics.
    wait_until(lambda: relayed(store, booking) is not None, 5, "the path reported")
    assert relayed(store, booking) is False
    assert appliance.counter.calls[str(booking.id)].appointment == str(booking.id)

    # The citizen hears the counter's microphone (the synthetic 440 Hz tone), in the
    # appliance's own Opus encoding.
    heard = page.evaluate(HEARD)
    assert abs(heard["hz"] - 440) < 10 and heard["db"] > -60, heard
    assert heard["codec"] == "audio/opus", heard

    # The appliance decodes the browser's fake camera and microphone.
    call = appliance.counter.calls[str(booking.id)]
    appliance.wait_for(lambda: call.received.video_frames > 20 and call.received.audio_frames > 50)
    assert call.received.video_size[0] > 0
    context.close()


# Every camera and microphone track the page opened has stopped (the camera light goes off).
STOPPED = "() => window.bvCall.local.getTracks().every((t) => t.readyState === 'ended')"
# Every text the quality line showed, from the start.
QUALITY_SEEN = """() => {
  window.bvQualitySeen = [];
  new MutationObserver(() => window.bvQualitySeen.push(
    document.getElementById('quality').textContent)).observe(
    document.getElementById('quality'), {childList: true, characterData: true, subtree: true});
}"""


def test_the_page_says_how_the_check_went_keeps_settings_aside_and_frees_the_devices(
    counter, media_browser, check
):
    hub, booking, _, _ = counter
    context = media_browser.new_context(viewport={"width": 360, "height": 740}, locale="de-DE")
    page = context.new_page()
    page.goto(f"{hub.url}/join/{booking.join_token}")
    page.evaluate(QUALITY_SEEN)
    # Before joining: the result of the check, with the device controls.
    result = page.locator("#check-result")
    result.get_by_text("Kamera und Mikrofon funktionieren.").wait_for(timeout=10000)
    assert page.locator("#devices").is_visible()
    settings = page.get_by_role("button", name="Kamera und Mikrofon einstellen")
    assert settings.is_hidden()

    page.get_by_role("button", name="Warteraum betreten").click()
    page.wait_for_function("() => window.bvCall.call === 'in_call'", timeout=20000)
    page.wait_for_function(PLAYING, timeout=20000)
    # In the call the controls are out of the way; a button (keyboard too) brings them back.
    assert page.locator("#devices").is_hidden() and result.is_hidden()
    assert settings.get_attribute("aria-expanded") == "false"
    settings.focus()
    page.keyboard.press("Enter")
    assert page.locator("#devices").is_visible()
    assert settings.get_attribute("aria-expanded") == "true"
    check.accessible(page)
    check.shot(page, "in-call-settings")
    page.keyboard.press("Enter")
    assert page.locator("#devices").is_hidden()

    # Quality is rated once the statistics have settled, and on loopback it is good.
    page.wait_for_function(
        "() => document.getElementById('quality').textContent !== ''", timeout=15000
    )
    assert page.locator("#quality").inner_text() == "Verbindung: gut"
    assert set(page.evaluate("window.bvQualitySeen")) <= {"", "Verbindung: gut"}

    # Hanging up: camera and microphone are released, the preview stops, the controls go.
    page.get_by_role("button", name="Gespräch beenden").click()
    page.wait_for_function("() => window.bvCall.call === 'ended'", timeout=10000)
    page.wait_for_function(STOPPED, timeout=5000)
    assert page.evaluate("document.getElementById('preview').srcObject") is None
    assert page.locator("#devices").is_hidden() and settings.is_hidden()
    assert page.locator("#call-status").inner_text() == "Das Gespräch ist beendet. Vielen Dank!"
    check.accessible(page)
    check.shot(page, "after-call")
    context.close()


def test_the_quality_is_not_rated_before_the_statistics_settle(counter, media_browser):
    hub, booking, _, _ = counter
    context = media_browser.new_context(locale="de-DE")
    page = context.new_page()
    page.goto(f"{hub.url}/join/{booking.join_token}")
    rate = "(samples) => window.bvCall.rate(samples)"
    # One slow round trip right after connecting (the first checks) says nothing yet.
    assert page.evaluate(rate, [{"at": 0, "rtt": 0.6}]) is None
    assert page.evaluate(rate, [{"at": 0, "rtt": 0.6}, {"at": 2, "rtt": 0.001}]) is None
    settled = [{"at": t, "rtt": 0.6 if t == 0 else 0.001} for t in (0, 2, 4, 6)]
    assert page.evaluate(rate, settled) == "good"
    slow = [{"at": t, "rtt": 0.5} for t in (0, 2, 4, 6)]
    assert page.evaluate(rate, slow) == "poor"
    context.close()


def test_leaving_the_page_releases_camera_and_microphone(counter, media_browser):
    hub, booking, _, _ = counter
    context = media_browser.new_context(locale="de-DE")
    page = context.new_page()
    page.goto(f"{hub.url}/join/{booking.join_token}")
    page.wait_for_function("() => window.bvCall.local && window.bvCall.local.active")
    page.evaluate("() => window.dispatchEvent(new PageTransitionEvent('pagehide'))")
    page.wait_for_function(STOPPED, timeout=2000)
    context.close()


def test_the_counter_s_speaker_plays_the_citizen_s_voice_through_alsa(
    sqlite_store, serve_hub, media_browser, tmp_path
):
    # A counter whose daemon plays the citizen itself (speaker = "alsa"); ALSA's file
    # plugin stands in for the sound card and keeps what it was given.
    desk = make_desk(sqlite_store, MONDAY_EARLY)
    booking = desk.book(berlin(2026, 3, 2, 9, 0))
    hub = serve_hub(sqlite_store.url, clock_start=berlin(2026, 3, 2, 8, 50).isoformat())
    played = tmp_path / "speaker.raw"
    device = f"file:'{played}',raw"
    appliance = auto_admitting(hub, desk, booking, speaker="alsa", speaker_device=device)
    try:
        context, _ = joined(media_browser, hub, booking)
        speaker = appliance.devices.speaker
        appliance.wait_for(lambda: speaker.played > 150)  # three seconds of the citizen
        context.close()
    finally:
        appliance.stop()
    left = np.fromfile(played, np.int16).reshape(-1, 2)[:, 0].astype(float)
    assert len(left) >= 3 * 48000
    # Chromium's fake microphone beeps: loud 20 ms stretches between quiet ones.
    loudness = np.sqrt((left[: len(left) // 960 * 960].reshape(-1, 960) ** 2).mean(axis=1))
    assert (loudness > 1000).sum() >= 5, loudness.max()
    assert (loudness < 100).sum() >= 5


def test_the_call_comes_back_by_itself_after_the_phone_loses_its_connection(counter, media_browser):
    hub, booking, _, _ = counter
    context, page = joined(media_browser, hub, booking)
    offers = page.evaluate("window.bvCall.offers")
    # The phone drops off the network: signalling and media both gone.
    page.evaluate("window.bvCall.socket.io.engine.close(); window.bvCall.pc.close()")
    page.wait_for_function(f"() => window.bvCall.offers > {offers}", timeout=20000)
    page.wait_for_function("() => window.bvCall.call === 'in_call'", timeout=20000)
    restored_at = page.evaluate("document.getElementById('remote').currentTime")
    page.wait_for_function(
        f"() => document.getElementById('remote').currentTime > {restored_at} + 0.5",
        timeout=20000,
    )
    assert is_red(page.evaluate(SAMPLE)["tl"])
    context.close()


RELAYED = """async () => {
  const stats = await window.bvCall.pc.getStats();
  let pair = null;
  stats.forEach((r) => {
    if (r.type === 'candidate-pair' && r.nominated && r.state === 'succeeded') pair = r;
  });
  if (!pair) return null;
  const type = (id) => stats.get(id).candidateType;
  return [type(pair.localCandidateId), type(pair.remoteCandidateId)];
}"""


def test_the_call_works_when_only_relayed_candidates_are_allowed(
    tmp_path, sqlite_store, serve_hub, media_browser
):
    if not Path(TURNSERVER).exists():
        _missing(f"no coturn at {TURNSERVER} (apt install coturn)")
    turn = Coturn("test-turn-secret", tmp_path / "coturn.log")
    try:
        store = sqlite_store
        with store.transaction() as session:
            add_demo_counter(session)  # open around the clock
        # coturn checks credential expiry against the real clock, so this hub runs on it too.
        now = datetime.now(UTC)
        desk = make_desk(store, now)
        quarter = now.replace(second=0, microsecond=0) + timedelta(minutes=15 - now.minute % 15)
        booking = desk.book(quarter)
        hub = serve_hub(
            store.url,
            turn_urls=f'["{turn.url}"]',
            turn_secret=turn.secret,
        )
        appliance = auto_admitting(hub, desk, booking, ice_transport_policy="relay")
        try:
            context = media_browser.new_context(locale="de-DE")
            page = context.new_page()
            page.goto(f"{hub.url}/join/{booking.join_token}?relay=1")
            # The device check reaches the TURN relay from this network.
            page.wait_for_function("() => window.bvCall.turn === 'ok'", timeout=10000)
            page.get_by_role("button", name="Warteraum betreten").click()
            page.wait_for_function(PLAYING, timeout=30000)
            assert page.evaluate(RELAYED) == ["relay", "relay"]
            assert is_red(page.evaluate(SAMPLE)["tl"])
            wait_until(lambda: relayed(store, booking), 5, "the call noted as relayed")
            context.close()
        finally:
            appliance.stop()
    finally:
        turn.stop()


def test_an_unreachable_stun_server_delays_but_does_not_break_the_call(
    sqlite_store, serve_hub, media_browser
):
    desk = make_desk(sqlite_store, MONDAY_EARLY)
    booking = desk.book(berlin(2026, 3, 2, 9, 0))
    # 192.0.2.1 is TEST-NET-1: nothing answers there, as with a misconfigured STUN address.
    hub = serve_hub(
        sqlite_store.url,
        clock_start=berlin(2026, 3, 2, 8, 50).isoformat(),
        stun_urls='["stun:192.0.2.1:3478"]',
    )
    appliance = auto_admitting(hub, desk, booking)
    try:
        context = media_browser.new_context(locale="de-DE")
        page = context.new_page()
        page.goto(f"{hub.url}/join/{booking.join_token}")
        deadline = Deadline(20)
        page.get_by_role("button", name="Warteraum betreten").click()
        page.wait_for_function(PLAYING, timeout=deadline.remaining_ms())
        # aiortc gives up on the STUN server after its 5 s timeout, then answers with host
        # candidates: why docs/operations.md says to keep the list short and reachable.
        assert deadline.elapsed() > 3, deadline.elapsed()
        context.close()
    finally:
        appliance.stop()


# The codec of the video the page receives, from its own statistics.
RECEIVED_CODEC = """async () => {
  const stats = await window.bvCall.pc.getStats();
  for (const s of stats.values()) {
    if (s.type === 'inbound-rtp' && s.kind === 'video') return stats.get(s.codecId).mimeType;
  }
  return null;
}"""


@pytest.mark.parametrize(("encoder", "mime"), [("h264", "video/H264"), ("vp8", "video/VP8")])
def test_the_appliance_sends_its_own_encoded_packets(
    sqlite_store, serve_hub, media_browser, encoder, mime
):
    """The appliance encodes the camera itself (as a Pi 4's hardware encoder would) and aiortc
    only packetizes: the browser decodes the pattern, keyframe requests and the browser's
    bandwidth estimate reach the encoder."""
    desk = make_desk(sqlite_store, MONDAY_EARLY)
    booking = desk.book(berlin(2026, 3, 2, 9, 0))
    hub = serve_hub(sqlite_store.url, clock_start=berlin(2026, 3, 2, 8, 50).isoformat())
    appliance = auto_admitting(hub, desk, booking, video_encoder=encoder)
    try:
        context, page = joined(media_browser, hub, booking)
        assert page.evaluate(RECEIVED_CODEC) == mime
        colours = page.evaluate(SAMPLE)
        assert is_red(colours["tl"]) and is_blue(colours["bl"]), colours
        call = appliance.counter.calls[str(booking.id)]
        video = call.video
        assert video is not None and video.keyframes_sent >= 1  # the call starts on one

        # A picture loss: aiortc hands the browser's PLI to the sender; the track obeys.
        sent = video.keyframes_sent
        sender = next(s for s in call.pc.getSenders() if s.track is video)
        appliance.loop.call_soon_threadsafe(sender._send_keyframe)
        appliance.wait_for(lambda: video.keyframes_sent > sent, timeout=5)
        # The browser's bandwidth estimate (REMB) replaces the start value.
        appliance.wait_for(lambda: video.bitrate != DEFAULT_BITRATE, timeout=15)
        context.close()
    finally:
        appliance.stop()
