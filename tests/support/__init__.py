"""Helpers shared by the tests (and the benches): the environment the tests run in, databases, a
hub served on loopback, a mailbox, Chromium, realtime clients, a running appliance, coturn.

Fixtures defined here are registered as pytest plugins by tests/conftest.py; everything else is
imported where it is used: `from tests.support.environment import MONDAY_EARLY`."""
