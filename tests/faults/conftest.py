"""Fixtures of the fault tests: Chromium (from the browser tests), a stage with a served hub and
a counter appliance process."""

from __future__ import annotations

from tests.browser.conftest import media_browser, playwright_driver  # noqa: F401 - fixtures
