"""The statistics page in Chromium over a seeded year: a supervisor signs in by keyboard, opens
Statistik from the navigation, every plot loads under the hub's Content-Security-Policy (SVG as
data: images, no violation reported), the filter narrows to one service by keyboard, and axe-core
finds nothing in German and English. Screenshots of the page and of single plots land in
test-artifacts/. The hub runs on its real clock (TOTP codes for the present); the year is seeded
up to now."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pyotp
import pytest

from hub.operations.accounts import add_user
from hub.operations.statistics import FIGURES
from tests.support.browser import ARTIFACTS
from tests.support.environment import MONDAY_EARLY
from tests.support.statistics_year import seed_year

PASSWORD = "leitung-passwort-1"


def plots_loaded(page) -> int:
    return page.evaluate(
        "() => [...document.querySelectorAll('img.stat-plot')]"
        ".filter(i => i.complete && i.naturalWidth > 300).length"
    )


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_supervisor_reads_the_statistics_in_german_and_english(store, serve_hub, browser, check):
    seed_year(store, datetime.now(UTC), appointments=30_000)
    add_user(store, "leitung", PASSWORD, "supervisor", MONDAY_EARLY, "Frau Leitung")
    hub = serve_hub(store.url)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="de-DE")
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    try:
        page.goto(f"{hub.url}/admin/")
        page.get_by_label("Name", exact=True).fill("leitung")
        page.get_by_label("Passwort", exact=True).fill(PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_url("**/admin/second-factor/set-up**")
        secret = page.locator("code.totp-key").inner_text().replace(" ", "")
        page.get_by_label("Code aus Ihrer Authenticator-App").fill(pyotp.TOTP(secret).now())
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"/admin/$"))
        page.get_by_role("navigation", name="Verwaltung").get_by_role(
            "link", name="Statistik"
        ).click()
        page.wait_for_url("**/admin/statistics")
        assert page.get_by_role("heading", name="Statistik", level=1).is_visible()
        assert page.locator("section.stat").count() == len(FIGURES)
        assert plots_loaded(page) == len(FIGURES)
        assert page.get_by_role("img", name=re.compile("^Diagramm: Termine je Anliegen")).count()
        table = page.get_by_role("table", name="Termine je Wochentag")
        assert table.get_by_role("row", name=re.compile("^Mittwoch")).is_visible()
        check.accessible(page)
        check.shot(page, "statistik-de")
        ARTIFACTS.mkdir(exist_ok=True)
        for figure in ("weekdays", "capacity", "outcomes", "wait", "drops", "fees"):
            page.locator(f"section#{figure}").screenshot(
                path=str(ARTIFACTS / f"{check.name}-plot-{figure}.png")
            )

        # One service, chosen by keyboard: the service list has the focus after the days.
        page.get_by_label("Anliegen", exact=True).focus()
        page.keyboard.press("End")  # the last service in the list
        page.keyboard.press("Tab")
        page.keyboard.press("Enter")
        page.wait_for_url("**service=*")
        rows = page.get_by_role("table", name="Termine je Anliegen").locator("tbody tr")
        assert rows.count() == 1
        assert plots_loaded(page) == len(FIGURES)

        page.get_by_role("link", name="English").click()
        page.wait_for_url("**lang=en**")
        assert page.get_by_role("heading", name="Statistics", level=1).is_visible()
        assert page.get_by_role("table", name="Outcomes").is_visible()
        assert plots_loaded(page) == len(FIGURES)
        check.accessible(page)
        check.shot(page, "statistics-en")

        with page.expect_download() as download:
            page.get_by_role("link", name=re.compile(r"^Download as CSV\s*: Outcomes$")).click()
        assert download.value.suggested_filename.startswith("statistik-outcomes-")
        assert not [p for p in problems if "Content Security Policy" in p], problems
    finally:
        context.close()
