"""IT's `identify` on the counter screen in Chromium: asked for with `buergeramt devices action
N identify` against a served hub, the kiosk flashes (its body's `identify` class) and chimes (the
page's Web Audio oscillators, counted as they start) for the appliance's IDENTIFY_S, then stops."""

from __future__ import annotations

import time

import pytest

from appliance.core.remote import IDENTIFY_S
from hub.operations.accounts import add_device
from hub.operations.remote import actions_of
from tests.browser.test_kiosk import kiosk_page, on_screen
from tests.integration.test_remote_actions import ask
from tests.support.appliance_runner import RunningAppliance
from tests.support.environment import MONDAY_EARLY
from tests.support.waiting import wait_until

# Counts the chime's tones: the page's own code plays them, through the browser's real API.
COUNT_TONES = """
  window.tones = 0;
  const start = OscillatorNode.prototype.start;
  OscillatorNode.prototype.start = function (...args) {
    window.tones += 1;
    return start.apply(this, args);
  };
"""


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_identify_flashes_and_chimes_the_counter_screen_then_stops(
    store, serve_hub, browser, check, tmp_path
):
    device, credential = add_device(store, 1, "Pi Schalter 1", MONDAY_EARLY)
    hub = serve_hub(store.url)
    running = RunningAppliance(
        kiosk=True, hub_url=hub.url, device_credential=credential, data_dir=tmp_path / "data"
    ).launch()
    context, page = kiosk_page(browser, running, "800x480")
    try:
        page.add_init_script(COUNT_TONES)
        page.reload()
        on_screen(page, "sign_in", timeout=20000)
        assert page.evaluate("window.tones") == 0
        assert not page.evaluate("document.body.classList.contains('identify')")

        ask(store, tmp_path, "action", str(device.id), "identify")
        page.wait_for_function("document.body.classList.contains('identify')", timeout=10000)
        began = time.monotonic()
        flash = page.evaluate(
            "getComputedStyle(document.body, '::after').animationName"
        )  # the flash is an animation over the whole screen
        assert flash not in ("", "none")
        check.shot(page, "identify-800x480")
        check.accessible(page)
        page.wait_for_function("window.tones >= 4", timeout=5000)  # a chime is two tones
        wait_until(lambda: actions_of(store, device.id)[0].state == "done", 10, "done")

        page.wait_for_function(
            "!document.body.classList.contains('identify')", timeout=(IDENTIFY_S + 5) * 1000
        )
        lasted = time.monotonic() - began
        assert IDENTIFY_S - 2 <= lasted <= IDENTIFY_S + 3, lasted
        tones = page.evaluate("window.tones")
        page.wait_for_timeout(2500)  # longer than the chime's interval
        assert page.evaluate("window.tones") == tones  # the chime stopped with the flash
    finally:
        context.close()
        running.stop()
