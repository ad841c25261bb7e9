"""The one place that registers the shared fixtures (they live in tests/support/) and marks tests
by folder, so that `pytest -m "not browser and not slow"` is a quick loop (README, Development).

Helpers are imported from where they live: `from tests.support.environment import MONDAY_EARLY`."""

from __future__ import annotations

from pathlib import Path

import pytest

# Fixtures for the whole session. The browser fixtures serve tests/browser and tests/faults alike:
# Playwright allows one driver per thread.
pytest_plugins = [
    "tests.support.databases",
    "tests.support.hub",
    "tests.support.mail",
    "tests.support.browser",
    "tests.support.payment_sandbox",
    "tests.support.time_zone",
    "tests.support.netlab",
]

TESTS = Path(__file__).resolve().parent
# The first boot in a Debian root (debootstrap, chroot: root, minutes) runs only when its folder or
# a file in it is named on the command line (`make test-firstboot`), never in `make test`.
FIRSTBOOT = TESTS / "firstboot"


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if collection_path != FIRSTBOOT:
        return None
    here = config.invocation_params.dir
    for arg in config.args:
        named = (here / arg.split("::")[0]).resolve()
        if named == FIRSTBOOT or FIRSTBOOT in named.parents:
            return None
    return True


def _marks_for(item: pytest.Item) -> set[str]:
    """browser: everything in tests/browser, and any test that starts Chromium;
    network (and slow): everything in tests/network, and any test on the `netlab` fixture;
    slow: everything in tests/faults and tests/install;
    postgres: any test on the PostgreSQL fixtures or on `db_url`'s PostgreSQL parameter."""
    # Imported here, not above: pytest has to load the plugins first to rewrite their asserts.
    from tests.support.browser import BROWSER_FIXTURES
    from tests.support.databases import POSTGRES_FIXTURES

    marks: set[str] = set()
    try:
        folder = Path(str(item.path)).resolve().relative_to(TESTS).parts[0]
    except ValueError:
        folder = ""
    fixtures = set(getattr(item, "fixturenames", ()))
    if folder == "browser" or fixtures & BROWSER_FIXTURES:
        marks.add("browser")
    if folder in ("faults", "install"):
        marks.add("slow")
    if folder == "network" or "netlab" in fixtures:
        marks |= {"network", "slow"}
    callspec = getattr(item, "callspec", None)
    on_postgres = callspec is not None and callspec.params.get("db_url") == "postgresql"
    if on_postgres or fixtures & POSTGRES_FIXTURES:
        marks.add("postgres")
    return marks


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        present = {mark.name for mark in item.iter_markers()}
        for name in sorted(_marks_for(item) - present):
            item.add_marker(getattr(pytest.mark, name))
