"""The counter screen's launcher (provisioning/kiosk/start-kiosk): Chromium starts at once on the
local start-up page (provisioning/kiosk/starting.html), which shows progress while the
appliance's page does not answer and moves on to it by itself as soon as it does."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from tests.support.appliance_runner import RunningAppliance
from tests.support.browser import CHROMIUM
from tests.support.environment import MONDAY_EARLY, berlin, free_port
from tests.support.realtime_clients import make_desk
from tests.support.waiting import wait_until

KIOSK = Path(__file__).resolve().parents[2] / "provisioning" / "kiosk"
LAUNCHER = KIOSK / "start-kiosk"
STARTING = KIOSK / "starting.html"


class _Page(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<!doctype html><title>Kiosk</title><h1>Kiosk</h1>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@contextmanager
def answering(port: int) -> Iterator[None]:
    """A tiny page on 127.0.0.1:`port` for as long as the block runs."""
    server = ThreadingHTTPServer(("127.0.0.1", port), _Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def starting_page(browser, next_url: str | None, clock: bool = False):
    """The start-up page at 800×480 (the Pi's touch display), as start-kiosk opens it."""
    context = browser.new_context(viewport={"width": 800, "height": 480}, locale="de-DE")
    page = context.new_page()
    if clock:
        page.clock.install()
    query = "" if next_url is None else f"?next={quote(next_url, safe='')}"
    page.goto(STARTING.as_uri() + query)
    return context, page


def test_the_start_up_page_shows_progress_and_moves_on_once_the_kiosk_answers(browser, check):
    port = free_port()  # nothing listens there yet
    kiosk_url = f"http://127.0.0.1:{port}/?lang=en"
    context, page = starting_page(browser, kiosk_url)
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))

    heading = page.get_by_role("heading", level=1)
    assert heading.inner_text().splitlines() == [
        "Der Schalter startet …",
        "The counter is starting …",
    ]
    status = page.get_by_role("status")
    assert status.inner_text().splitlines() == [
        "Bitte warten, die Anwendung des Schalters startet.",
        "Please wait, the counter's application is starting.",
    ]
    # The seconds count up while it asks the kiosk's address once a second.
    page.wait_for_function("() => Number(document.getElementById('seconds').textContent) >= 2")
    seconds = re.fullmatch(r"(\d+)\s+s", page.get_by_role("timer").inner_text())
    assert seconds and int(seconds[1]) >= 2
    assert page.evaluate("window.bvStarting.attempts") >= 2
    assert requests and set(requests) == {kiosk_url}
    assert page.url.startswith("file://")
    assert page.locator("#slow").is_hidden()
    assert page.get_by_role("progressbar").is_visible()
    check.accessible(page)
    check.shot(page, "800x480-starting")

    with answering(port):
        # It moves on by itself within a second or two of the page answering.
        page.wait_for_url(kiosk_url, timeout=5000)
        assert page.title() == "Kiosk"
    context.close()


def test_after_90_seconds_it_tells_it_calmly_where_to_look(browser, check):
    context, page = starting_page(browser, f"http://localhost:{free_port()}/", clock=True)
    page.clock.run_for(5000)
    assert page.locator("#seconds").inner_text() == "5"
    assert page.locator("#slow").is_hidden()
    page.clock.run_for(86_000)
    slow = page.locator("#slow")
    slow.wait_for()
    assert [line for line in slow.inner_text().splitlines() if line] == [
        "Das dauert länger als üblich. IT: journalctl -u buergeramt-appliance",
        "This is taking longer than usual. IT: journalctl -u buergeramt-appliance",
    ]
    assert page.locator("#seconds").inner_text() == "91"
    assert "länger als üblich" in page.get_by_role("status").inner_text()
    assert page.url.startswith("file://")  # still waiting, still asking
    check.accessible(page)
    check.shot(page, "800x480-slow")
    context.close()


def test_without_motion_when_the_screen_asks_for_less(browser):
    context, page = starting_page(browser, f"http://127.0.0.1:{free_port()}/")
    bar = page.locator(".bar span")
    assert bar.evaluate("(e) => getComputedStyle(e).animationName") == "slide"
    page.emulate_media(reduced_motion="reduce")
    assert bar.evaluate("(e) => getComputedStyle(e).animationName") == "none"
    context.close()


@pytest.mark.parametrize(
    "next_url",
    [
        "http://example.org/",
        "https://127.0.0.1:8470/",
        "http://127.0.0.1.example.org:8470/",
        "http://localhost@example.org/",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "not a URL",
    ],
)
def test_only_the_local_kiosk_is_followed(browser, check, next_url):
    context, page = starting_page(browser, next_url)
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    alert = page.get_by_role("alert")
    assert alert.inner_text().startswith(f"Diese Adresse wird nicht geöffnet: {next_url}.")
    assert "Only http://127.0.0.1 and http://localhost are allowed." in alert.inner_text()
    assert page.get_by_role("heading", level=1).inner_text().splitlines() == [
        "Der Schalter kann nicht starten",
        "The counter cannot start",
    ]
    assert page.get_by_role("status").count() == 0  # no progress that will never end
    assert page.evaluate("window.bvStarting") == {"next": None, "attempts": 0}
    if next_url == "http://example.org/":
        page.wait_for_timeout(1500)  # a poll would have gone out and moved on by now
        check.accessible(page)
        check.shot(page, "800x480-refused")
    assert requests == []
    assert page.url.startswith("file://")
    context.close()


def test_without_next_it_waits_for_the_usual_address(browser):
    context, page = starting_page(browser, None)
    assert page.evaluate("window.bvStarting.next") == "http://127.0.0.1:8470/"
    context.close()


def devtools_pages(user_data_dir: Path) -> list[str]:
    """The URLs of the pages a Chromium started with --remote-debugging-port=0 shows."""
    port = int((user_data_dir / "DevToolsActivePort").read_text().split()[0])
    targets = httpx.get(f"http://127.0.0.1:{port}/json/list", timeout=5).json()
    return [t["url"] for t in targets if t["type"] == "page"]


def test_the_launcher_starts_chromium_at_once_on_the_start_up_page_then_the_kiosk(
    sqlite_store, serve_hub, tmp_path
):
    desk = make_desk(sqlite_store, MONDAY_EARLY)
    hub = serve_hub(sqlite_store.url, clock_start=berlin(2026, 3, 2, 8, 50).isoformat())
    port = free_port()
    kiosk_url = f"http://127.0.0.1:{port}/"
    env = {**os.environ, "KIOSK_URL": kiosk_url, "BROWSER": CHROMIUM}
    profile = tmp_path / "profile"
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        f"--user-data-dir={profile}",
        "--remote-debugging-port=0",
    ]
    launcher = subprocess.Popen([str(LAUNCHER), *flags], env=env, start_new_session=True)
    appliance = None
    try:
        # Nothing answers yet, and still Chromium replaced the script at once: no waiting loop.
        wait_until(
            lambda: "chromium" in Path(f"/proc/{launcher.pid}/cmdline").read_text(),
            10,
            "the launcher starts Chromium",
        )
        start_up = f"{STARTING.as_uri()}?next=http%3A%2F%2F127.0.0.1%3A{port}%2F"
        assert start_up in Path(f"/proc/{launcher.pid}/cmdline").read_text().split("\0")
        wait_until(lambda: (profile / "DevToolsActivePort").exists(), 10, "DevTools listens")
        wait_until(lambda: devtools_pages(profile) == [start_up], 10, "the start-up page shows")

        appliance = RunningAppliance(
            kiosk=True, kiosk_port=port, hub_url=hub.url, device_credential=desk.credentials[1]
        ).start()
        # The start-up page moved on by itself and the kiosk page connected to the appliance.
        appliance.wait_for(lambda: len(appliance.kiosk.sockets) > 0, timeout=30)
        assert devtools_pages(profile) == [kiosk_url]
    finally:
        os.killpg(launcher.pid, signal.SIGTERM)
        launcher.wait(10)
        if appliance is not None:
            appliance.stop()
