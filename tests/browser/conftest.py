"""The browser tests' fixtures live in tests/support/browser.py, loaded once for the whole
session from tests/conftest.py: the fault tests drive the same Chromium, and Playwright allows
one driver per thread."""
