"""Kiosk benchmark: glass to glass on the clerk's side — from a frame leaving the citizen's
browser to the same frame drawn on the kiosk page.

Writes bench/results/kiosk.json with glass_to_glass_median_ms (and p90, and the split into the
citizen → appliance leg and the appliance → kiosk leg).
Run: .venv/bin/python bench/kiosk.py  (needs Debian's chromium); DURATION=60 (seconds) by default.

Method: the citizen's camera is a canvas on which the page burns the current time (Date.now(),
32 bits, as an 8×4 grid of black and white cells) before every frame; the browser sends it by
WebRTC (VP8) to the appliance daemon (aiortc, its own process), which decodes it and hands the
raw frame to the kiosk page over its localhost WebSocket; the kiosk page draws it on its canvas,
and right after drawing the measuring script reads the cells back and subtracts the burned
time from the time of the next animation frame (when the drawn frame is composited). Both
browsers run on this machine and share its clock. The appliance stamps the time it forwarded
each frame, which splits the path into its two legs.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.call import BASE_ARGS, CHROMIUM, FAKE_MEDIA, PASSWORD, start_appliance, stop
from bench.common import Hub, percentile, prepare_counters, write_results

DURATION = float(os.environ.get("DURATION", "60"))

# The citizen's camera: a 640×480 canvas showing Date.now() as 32 cells (white = 1).
BURNING_CAMERA = """
(() => {
  const original = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = async (constraints) => {
    const canvas = document.createElement('canvas');
    canvas.width = 640; canvas.height = 480;
    const ctx = canvas.getContext('2d');
    const draw = () => {
      const now = Date.now() >>> 0;
      for (let bit = 0; bit < 32; bit++) {
        ctx.fillStyle = (now >>> bit) & 1 ? '#fff' : '#000';
        ctx.fillRect((bit % 8) * 80, Math.floor(bit / 8) * 120, 80, 120);
      }
    };
    draw();
    setInterval(draw, 5);  // the time is at most 5 ms old when the stream takes a frame
    const stream = canvas.captureStream(30);
    if (constraints && constraints.audio) {
      const mic = await original({audio: constraints.audio});
      for (const track of mic.getAudioTracks()) stream.addTrack(track);
    }
    return stream;
  };
})();
"""

# On the kiosk: after each citizen frame is drawn, read the cells back (one read of the whole
# frame) and note the delays at the next animation frame.
MEASURE = """() => {
  window.g2g = []; window.legs = []; window.unreadable = 0; window.readMs = 0;
  window.arrivals = [];
  window.bvKiosk.socket.addEventListener('message', (e) => {
    if (typeof e.data === 'string') return;
    const v = new DataView(e.data);
    if (v.getUint8(2) === 1 && v.getUint8(3) === 0) {  // video of the citizen
      window.arrivals.push(Date.now() - v.getFloat64(12, true) * 1000);
    }
  });
  window.bvKiosk.onDrawn = (stream, canvas, forwardedAt) => {
    if (stream !== 'citizen') return;
    const t0 = performance.now();
    const w = canvas.width, h = canvas.height;
    const pixels = canvas.getContext('2d').getImageData(0, 0, w, h).data;
    let burned = 0;
    for (let bit = 0; bit < 32; bit++) {
      const x = Math.round(((bit % 8) * 80 + 40) * w / 640);
      const y = Math.round((Math.floor(bit / 8) * 120 + 60) * h / 480);
      const i = (y * w + x) * 4;
      if ((pixels[i] + pixels[i + 1] + pixels[i + 2]) / 3 > 128) burned |= 1 << bit;
    }
    burned >>>= 0;
    window.readMs += performance.now() - t0;
    requestAnimationFrame(() => {
      const delay = ((Date.now() >>> 0) - burned) >>> 0;
      if (delay > 5000) { window.unreadable++; return; }
      window.g2g.push(delay);
      const toAppliance = ((Math.round(forwardedAt) >>> 0) - burned) >>> 0;
      window.legs.push([toAppliance, Date.now() - forwardedAt]);
    });
  };
}"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_kiosk_appliance(hub_url: str, credential: str, kiosk_port: int) -> subprocess.Popen:
    """The auto-admitting appliance of bench/call.py, with its kiosk page on `kiosk_port`."""
    process = start_appliance(hub_url, credential, kiosk="true", kiosk_port=str(kiosk_port))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", kiosk_port)) == 0:
                return process
        time.sleep(0.2)
    stop(process)
    raise RuntimeError("the appliance's kiosk page did not come up")


def main() -> None:
    from playwright.sync_api import sync_playwright

    workdir = Path(tempfile.mkdtemp(prefix="bv-kiosk-bench-"))
    url = f"sqlite:///{workdir / 'hub.sqlite3'}"
    start = datetime.now(UTC) + timedelta(minutes=10)
    store, counters, data = prepare_counters(url, 1, 1, start, PASSWORD)
    store.dispose()
    token = data["tokens"][0][0]
    hub = Hub(url, data_dir=str(workdir), rate_limit_enabled="false")
    kiosk_port = free_port()
    appliance = start_kiosk_appliance(hub.url, data["credentials"][counters[0]], kiosk_port)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=[*BASE_ARGS, *FAKE_MEDIA]
            )
            # bypass_csp: the measuring script is evaluated from outside the page.
            kiosk = browser.new_context(
                viewport={"width": 1280, "height": 800}, bypass_csp=True
            ).new_page()
            kiosk.goto(f"http://127.0.0.1:{kiosk_port}/")
            kiosk.wait_for_function("document.body.dataset.screen === 'day'", timeout=20000)
            kiosk.evaluate(MEASURE)
            citizen_context = browser.new_context(locale="de-DE")
            citizen_context.add_init_script(BURNING_CAMERA)
            citizen = citizen_context.new_page()
            citizen.goto(f"{hub.url}/join/{token}")
            citizen.get_by_role("button", name="Warteraum betreten").click()
            kiosk.wait_for_function("document.body.dataset.screen === 'call'", timeout=20000)
            kiosk.wait_for_function("window.g2g.length > 30", timeout=30000)
            time.sleep(2)  # past the first keyframes and the bitrate ramp-up
            kiosk.evaluate(
                "window.g2g = []; window.legs = []; window.unreadable = 0; window.readMs = 0"
            )
            print(f"measuring {DURATION:.0f} s of video", flush=True)
            time.sleep(DURATION)
            g2g, legs, unreadable = kiosk.evaluate("[window.g2g, window.legs, window.unreadable]")
            draw = kiosk.evaluate(
                "[bvKiosk.drawMs.citizen / bvKiosk.frames.citizen,"
                " window.readMs / window.g2g.length]"
            )
            print(f"per frame: drawing {draw[0]:.1f} ms, measuring {draw[1]:.1f} ms")
            arrivals = kiosk.evaluate("window.arrivals")
            size = kiosk.evaluate(
                "(c => [c.width, c.height])(document.getElementById('citizen-video'))"
            )
            browser.close()
    finally:
        stop(appliance)
        hub.stop()
    to_appliance = [a for a, _ in legs]
    to_kiosk = [b for _, b in legs]
    median = statistics.median(g2g)
    metrics = {
        "glass_to_glass_median_ms": round(median, 1),
        "glass_to_glass_p90_ms": round(percentile(g2g, 90), 1),
        "citizen_to_appliance_median_ms": round(statistics.median(to_appliance), 1),
        "appliance_to_kiosk_median_ms": round(statistics.median(to_kiosk), 1),
        # Of that leg: forwarded by the appliance → message handed to the page's script.
        "appliance_to_page_script_median_ms": round(statistics.median(arrivals), 1),
        "page_draw_ms_per_frame": round(draw[0], 1),
        "kiosk_leg_share_of_total": round(statistics.median(to_kiosk) / median, 3),
        "frames_measured": len(g2g),
        "frames_per_second_shown": round(len(g2g) / DURATION, 1),
        "frames_unreadable": unreadable,
    }
    for name, value in metrics.items():
        print(f"{name}: {value}")
    write_results(
        "kiosk",
        metrics,
        setup={
            "seconds": DURATION,
            "video": f"{size[0]}x{size[1]} VP8 from Chromium's canvas capture at 30 fps",
            "path": "Chromium → WebRTC (loopback) → appliance (aiortc decode) → raw I420 over "
            "the kiosk WebSocket → kiosk page (WebCodecs VideoFrame on a canvas)",
            "note": "shown = the animation frame after drawing; display scan-out not included",
        },
    )


if __name__ == "__main__":
    main()
