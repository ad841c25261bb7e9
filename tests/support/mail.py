"""A mailbox for tests (a pytest plugin, see tests/conftest.py): a real SMTP server on loopback,
and the hub mailing to it."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from hub import create_app
from hub.clock import fixed_clock
from tests.support.environment import MONDAY_EARLY, free_port
from tests.support.hub import make_settings


class Mailbox:
    """A real SMTP server (aiosmtpd) on loopback that keeps what it receives."""

    def __init__(self) -> None:
        self.messages: list = []
        self.port = free_port()
        self.controller = None

    def start(self) -> None:
        """Listen (again) on the same port."""
        from aiosmtpd.controller import Controller

        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        """Stop listening: the mail server is down."""
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    async def handle_DATA(self, server, session, envelope):
        from email import message_from_bytes, policy

        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def wait_for(self, count: int, timeout: float = 20.0) -> list:
        """Block until at least `count` messages have arrived."""
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.messages


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    """An SMTP server on loopback for the duration of a test."""
    box = Mailbox()
    box.start()
    yield box
    box.stop()


@pytest.fixture
def mailing_app(store, tmp_path, mailbox):
    """make(**settings): the hub on the test database, mailing to `mailbox`, clock at
    MONDAY_EARLY."""

    def make(**overrides: object):
        settings = make_settings(
            tmp_path,
            database_url=store.url,
            smtp_host="127.0.0.1",
            smtp_port=mailbox.port,
            smtp_security="none",
            secret_key="test-key",
            **overrides,
        )
        return create_app(settings, clock=fixed_clock(MONDAY_EARLY), store=store, TESTING=True)

    return make
