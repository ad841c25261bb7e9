"""The admin area in browser tests: the served hub's clock (for TOTP codes), the two screen
sizes the pages are checked at, and the first sign-in through the pages."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pyotp

from tests.support.environment import MONDAY_EARLY

DESK = {"width": 1280, "height": 900}
TABLET = {"width": 820, "height": 1180}


class HubTime:
    """The served hub's clock: `start` (MONDAY_EARLY unless given) when it started, running on
    in real time; with `start` None, the real clock."""

    def __init__(self, start: datetime | None = MONDAY_EARLY) -> None:
        self.start = start
        self.origin = time.monotonic()

    def __call__(self) -> datetime:
        if self.start is None:
            return datetime.now(UTC)
        return self.start + timedelta(seconds=time.monotonic() - self.origin)

    def code(self, secret: str) -> str:
        """The authenticator app's code for the hub's present."""
        return pyotp.TOTP(secret).at(self())


def first_sign_in(page, hub_url: str, path: str, username: str, password: str, clock) -> None:
    """Open `path`, sign in as a German user would (name, password, then the authenticator app
    set up from the key the page shows) and arrive back at `path`."""
    page.goto(f"{hub_url}{path}")
    assert "/admin/sign-in?next=" in page.url
    page.get_by_label("Name").fill(username)
    page.get_by_label("Passwort").fill(password)
    page.get_by_role("button", name="Weiter").click()
    page.wait_for_url("**/admin/second-factor/set-up**")
    secret = page.locator("code.totp-key").inner_text().replace(" ", "")
    page.get_by_label("Code aus Ihrer Authenticator-App").fill(clock.code(secret))
    page.keyboard.press("Enter")
    page.wait_for_url(f"{hub_url}{path}")
