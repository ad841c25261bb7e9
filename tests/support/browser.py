"""Browser fixtures (a pytest plugin, registered by tests/conftest.py): headless Chromium
(Debian's package) driven by Playwright, and axe-core for accessibility."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.environment import IN_CI

CHROMIUM = os.environ.get("BUERGERAMT_TEST_CHROMIUM", "/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "test-artifacts"
# Flags for a sandboxed root CI machine without network beyond loopback.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def _missing(what: str) -> None:
    if IN_CI:
        pytest.fail(f"{what} – CI must provide it (.ci/run installs it)", pytrace=False)
    pytest.skip(what)


# A test that asks for any of these starts Chromium (they all stand on `playwright_driver`):
# tests/conftest.py marks it `browser`.
BROWSER_FIXTURES = frozenset({"playwright_driver", "browser", "media_browser", "phone", "check"})

MEDIA_ARGS = [
    "--use-fake-device-for-media-stream",  # a test pattern camera and a beeping microphone
    "--use-fake-ui-for-media-stream",  # permission granted without a prompt
    "--autoplay-policy=no-user-gesture-required",
]


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator:
    """Playwright, once per session (its sync API allows one instance per thread)."""
    if not Path(CHROMIUM).exists():
        _missing(f"no Chromium at {CHROMIUM} (apt install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(playwright_driver) -> Iterator:
    """One Chromium for the session."""
    chromium = playwright_driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()


@pytest.fixture(scope="session")
def media_browser(playwright_driver) -> Iterator:
    """Chromium with a fake camera and microphone that grants media access by itself."""
    chromium = playwright_driver.chromium.launch(
        executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *MEDIA_ARGS]
    )
    yield chromium
    chromium.close()


@pytest.fixture
def phone(browser) -> Iterator:
    """A page in a 360 px wide phone viewport."""
    context = browser.new_context(
        viewport={"width": 360, "height": 740},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="de-DE",
    )
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core's script, installed from the npm registry by `make test`."""
    if not AXE.exists():
        _missing(f"axe-core missing at {AXE} (npm install)")
    return AXE.read_text()


class Checker:
    """Screenshots and axe-core runs for one test."""

    def __init__(self, name: str, axe: str) -> None:
        self.name = re.sub(r"[^\w-]+", "_", name)
        self.axe = axe
        self.step = 0

    def shot(self, page, label: str) -> Path:
        """Save a full-page screenshot as a test artefact."""
        self.step += 1
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{self.name}-{self.step:02d}-{label}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    def accessible(self, page) -> None:
        """No serious or critical WCAG 2.1 A/AA violations on the page as it is now."""
        # Evaluated through the DevTools protocol, not as an inline <script>: the hub's pages
        # forbid inline script (Content-Security-Policy) and must be tested under that policy.
        page.evaluate(self.axe)
        result = page.evaluate(
            "async () => await axe.run(document, {runOnly: {type: 'tag', values: "
            "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"
        )
        bad = [
            f"{v['id']} ({v['impact']}): {v['help']} – {[n['target'] for n in v['nodes']][:3]}"
            for v in result["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        assert not bad, f"{page.url}: " + "; ".join(bad)


@pytest.fixture
def check(request, axe_source) -> Checker:
    """Screenshot and accessibility helpers named after the test."""
    return Checker(request.node.name, axe_source)
