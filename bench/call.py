"""Call benchmark: time from the citizen's join click to the first decoded frame (direct and
through coturn), the appliance's CPU for outgoing 640x480 at 30 fps, and the time from a network
drop to restored video.

Writes bench/results/call.json with setup_median_s_direct, setup_p90_s_direct,
setup_median_s_relay, appliance_cpu_share_640x480_30fps.
Run: .venv/bin/python bench/call.py  (needs Debian's chromium and coturn)

Everything runs on loopback on this machine: Chromium with its fake camera and microphone, the
hub (gevent, SQLite), the appliance daemon (`buergeramt appliance`, aiortc, synthetic camera)
as its own process, and coturn for the relayed calls. The appliance admits whoever waits, so
the setup time is the technical minimum (a clerk's click comes on top in real life).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Hub, percentile, prepare_counters, write_results
from tests.support.coturn import Coturn

CALLS = int(os.environ.get("CALLS", "20"))
CPU_SECONDS = float(os.environ.get("CPU_SECONDS", "15"))
CPU_ROUNDS = int(os.environ.get("CPU_ROUNDS", "2"))  # each setup this often, interleaved
# Who encodes what while the appliance's CPU is measured. "default" is what an appliance runs
# with unconfigured; "aiortc" leaves both to aiortc (its VP8, stereo Opus at 96 kbit/s in a
# worker thread): the baseline the ratios compare against.
CPU_SETUPS = {
    "default": {},
    "own_vp8": {"video_encoder": "vp8"},
    "video_only": {"audio": "none"},
    "aiortc": {"video_encoder": "aiortc", "audio_encoder": "aiortc"},
}
PASSWORD = "bench-password-1"
CHROMIUM = os.environ.get("BUERGERAMT_TEST_CHROMIUM", "/usr/bin/chromium")
BASE_ARGS = ["--no-sandbox", "--disable-gpu", "--autoplay-policy=no-user-gesture-required"]
FAKE_MEDIA = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]

# Click "join" and resolve with the milliseconds until the first frame of the clerk's video.
JOIN_TO_FIRST_FRAME = """async () => {
  const video = document.getElementById('remote');
  const first = new Promise((done) => {
    video.requestVideoFrameCallback(() => done(performance.now()));
  });
  const t0 = performance.now();
  document.getElementById('join').click();
  return (await first) - t0;
}"""
# Drop signalling and media as a lost network would; resolve with the milliseconds until the
# clerk's video shows a new frame from the rebuilt connection.
DROP_TO_RESTORED = """async () => {
  const video = document.getElementById('remote');
  const offers = window.bvCall.offers;
  const t0 = performance.now();
  window.bvCall.socket.io.engine.close();
  window.bvCall.pc.close();
  while (window.bvCall.offers === offers || window.bvCall.pc.connectionState !== 'connected') {
    await new Promise((r) => setTimeout(r, 10));
  }
  await new Promise((done) => video.requestVideoFrameCallback(() => done()));
  return performance.now() - t0;
}"""


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_appliance(hub_url: str, credential: str, **extra: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "BUERGERAMT_APPLIANCE_HUB_URL": hub_url,
        "BUERGERAMT_APPLIANCE_DEVICE_CREDENTIAL": credential,
        "BUERGERAMT_APPLIANCE_CLERK_USERNAME": "clerk",
        "BUERGERAMT_APPLIANCE_CLERK_PASSWORD": PASSWORD,
        "BUERGERAMT_APPLIANCE_AUTO_ADMIT": "true",
        "BUERGERAMT_APPLIANCE_KIOSK": "false",  # the call alone; bench/kiosk.py has the screen
        **{f"BUERGERAMT_APPLIANCE_{k.upper()}": v for k, v in extra.items()},
    }
    command = [sys.executable, "-c", "from hub.cli import main; main()", "appliance"]
    process = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
    time.sleep(3)  # imports, connect, clerk sign-in
    return process


def stop(process: subprocess.Popen) -> None:
    """Terminate a child, and kill it if it does not go."""
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def hang_up(page, context) -> None:
    """End the citizen's call and close the page: a call left open would keep the next
    appliance busy until it is dropped."""
    page.evaluate("window.bvCall.socket.emit('hangup', {})")
    page.wait_for_function("window.bvCall.call === 'ended'")
    context.close()


def run_calls(browser, hub: Hub, tokens: list[str], query: str = "") -> list[float]:
    """One call per token: join, time to first frame, hang up."""
    setups = []
    for token in tokens:
        context = browser.new_context(locale="de-DE")
        page = context.new_page()
        page.goto(f"{hub.url}/join/{token}{query}")
        page.wait_for_function("document.getElementById('preview').srcObject !== null")
        setups.append(page.evaluate(JOIN_TO_FIRST_FRAME) / 1000)
        page.wait_for_function("window.bvCall.call === 'in_call'")
        hang_up(page, context)
        print(f"  setup {setups[-1]:.3f} s", flush=True)
    return setups


def main() -> None:
    from playwright.sync_api import sync_playwright

    workdir = Path(tempfile.mkdtemp(prefix="bv-call-bench-"))
    url = f"sqlite:///{workdir / 'hub.sqlite3'}"
    now = datetime.now(UTC)  # coturn checks credentials against the real clock
    start = now + timedelta(minutes=10)
    needed = 2 * CALLS + 1 + len(CPU_SETUPS) * CPU_ROUNDS
    store, counters, data = prepare_counters(url, 1, needed, start, PASSWORD)
    store.dispose()
    credential = data["credentials"][counters[0]]
    tokens = [t for t, _, _ in data["tokens"]]
    turn = Coturn("bench-turn-secret", workdir / "coturn.log")
    hub = Hub(
        url,
        data_dir=str(workdir),
        rate_limit_enabled="false",
        turn_urls=f'["{turn.url}"]',
        turn_secret=turn.secret,
    )
    results: dict = {}
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=[*BASE_ARGS, *FAKE_MEDIA]
            )
            appliance = start_appliance(hub.url, credential)
            try:
                print("direct calls", flush=True)
                direct = run_calls(browser, hub, tokens[:CALLS])
                drop = measure_drop(browser, hub, tokens[2 * CALLS])
            finally:
                stop(appliance)
            appliance = start_appliance(hub.url, credential, ice_transport_policy="relay")
            try:
                print("relayed calls", flush=True)
                relay = run_calls(browser, hub, tokens[CALLS : 2 * CALLS], "?relay=1")
            finally:
                stop(appliance)
            browser.close()
            # A browser without camera or microphone receives only: the appliance's CPU is
            # then what sending its own 640x480 at 30 fps (and its microphone) costs.
            quiet = playwright.chromium.launch(executable_path=CHROMIUM, args=BASE_ARGS)
            samples: dict[str, list[float]] = {name: [] for name in CPU_SETUPS}
            wakeups: dict[str, list[float]] = {name: [] for name in CPU_SETUPS}
            spare = iter(tokens[2 * CALLS + 1 :])
            for _ in range(CPU_ROUNDS):
                for name, extra in CPU_SETUPS.items():
                    appliance = start_appliance(hub.url, credential, **extra)
                    try:
                        print(f"CPU: {name}", flush=True)
                        share, woken = measure_cpu(quiet, hub, next(spare), appliance.pid)
                        samples[name].append(share)
                        wakeups[name].append(woken)
                    finally:
                        stop(appliance)
            quiet.close()
            cpu = {name: statistics.mean(values) for name, values in samples.items()}
            woken_per_s = {name: statistics.mean(values) for name, values in wakeups.items()}
    finally:
        hub.stop()
        turn.stop()
    results = {
        "setup_median_s_direct": round(statistics.median(direct), 3),
        "setup_p90_s_direct": round(percentile(direct, 90), 3),
        "setup_median_s_relay": round(statistics.median(relay), 3),
        "setup_p90_s_relay": round(percentile(relay, 90), 3),
        "appliance_cpu_share_640x480_30fps": round(cpu["default"], 3),
        "appliance_cpu_share_own_vp8": round(cpu["own_vp8"], 3),
        "appliance_cpu_share_video_only": round(cpu["video_only"], 3),
        "appliance_cpu_share_aiortc_encoders": round(cpu["aiortc"], 3),
        "cpu_ratio_default_to_aiortc_encoders": round(cpu["default"] / cpu["aiortc"], 3),
        "appliance_wakeups_per_s": round(woken_per_s["default"]),
        "machine_wakeup_cost_us": round(wakeup_cost() * 1e6),
        "drop_to_restored_video_s": round(drop, 3),
    }
    write_results(
        "call",
        results,
        setup={
            "calls_each": CALLS,
            "cpu_measured_seconds": CPU_SECONDS,
            "cpu_rounds": CPU_ROUNDS,
            "cpu_shares": {name: [round(v, 3) for v in values] for name, values in samples.items()},
            "cpu_setups": CPU_SETUPS,
            "codec": "the appliance's own H.264 (libx264 ultrafast, in the event loop) and mono "
            "Opus at 32 kbit/s (the default); own VP8: libvpx speed 8 without denoiser; "
            "aiortc: its VP8 (speed 6, denoiser) and stereo Opus at 96 kbit/s, in worker threads",
            "note": "loopback, auto-admit; appliance CPU while sending only (receiving nothing); "
            "wakeups: the appliance's voluntary context switches per second; wakeup cost: CPU "
            "of one timer wakeup of an event loop that does nothing else, on this machine",
        },
        direct_setups_s=[round(s, 3) for s in direct],
        relay_setups_s=[round(s, 3) for s in relay],
    )


def measure_drop(browser, hub: Hub, token: str) -> float:
    """Seconds from a dropped network (signalling and media) to the clerk's video moving again."""
    context = browser.new_context(locale="de-DE")
    page = context.new_page()
    page.goto(f"{hub.url}/join/{token}")
    page.wait_for_function("document.getElementById('preview').srcObject !== null")
    page.evaluate(JOIN_TO_FIRST_FRAME)
    page.wait_for_function("window.bvCall.call === 'in_call'")
    time.sleep(1)
    seconds = page.evaluate(DROP_TO_RESTORED) / 1000
    print(f"drop to restored video: {seconds:.3f} s", flush=True)
    hang_up(page, context)
    return seconds


def measure_cpu(browser, hub: Hub, token: str, pid: int) -> tuple[float, float]:
    """Share of one core the appliance uses while sending its camera in a call, and how often
    per second it wakes up."""
    context = browser.new_context(locale="de-DE")
    page = context.new_page()
    page.goto(f"{hub.url}/join/{token}")
    page.get_by_role("button", name="Warteraum betreten").click()
    page.wait_for_function("document.getElementById('remote').currentTime > 1", timeout=30000)
    time.sleep(2)  # past the first keyframes and bitrate ramp-up
    before, switches, t0 = cpu_seconds(pid), context_switches(pid), time.monotonic()
    if os.environ.get("PROFILE"):
        py_spy = sys.executable.replace("python", "py-spy")
        duration = str(int(CPU_SECONDS))
        command = [py_spy, "record", "-p", str(pid), "-d", duration, "-f", "raw"]
        subprocess.run([*command, "-o", os.environ["PROFILE"]], capture_output=True)
    else:
        time.sleep(CPU_SECONDS)
    elapsed = time.monotonic() - t0
    share = (cpu_seconds(pid) - before) / elapsed
    woken = (context_switches(pid) - switches) / elapsed
    size = page.evaluate("(v => [v.videoWidth, v.videoHeight])(document.getElementById('remote'))")
    print(
        f"appliance CPU while sending {size[0]}x{size[1]}: {share:.1%} of a core, "
        f"{woken:.0f} wakeups/s",
        flush=True,
    )
    hang_up(page, context)
    return share, woken


def context_switches(pid: int) -> int:
    """Voluntary context switches of all a process's threads so far (each is a sleep that
    ended in a wakeup)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            status = (task / "status").read_text()
        except OSError:  # a thread that just ended
            continue
        for line in status.splitlines():
            if line.startswith("voluntary_ctxt_switches:"):
                total += int(line.split()[1])
    return total


def wakeup_cost(rate: int = 50, seconds: float = 5.0) -> float:
    """CPU seconds one timer wakeup of an otherwise idle event loop costs on this machine.

    On a virtual machine this is far from free, and a call wakes the appliance for every
    audio and video frame: it puts the appliance's CPU figure in proportion.
    """
    import asyncio

    async def tick() -> float:
        start, cpu = time.monotonic(), time.process_time()
        for n in range(1, int(rate * seconds) + 1):
            await asyncio.sleep(max(0.0, start + n / rate - time.monotonic()))
        return (time.process_time() - cpu) / (rate * seconds)

    return asyncio.run(tick())


if __name__ == "__main__":
    main()
