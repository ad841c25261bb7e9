"""The machine's own time zone set far from Berlin for a test (a pytest plugin, see
tests/conftest.py): whatever the hub counts in Berlin's hours must not follow the machine's."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

FAR_FROM_BERLIN = "Pacific/Kiritimati"  # UTC+14


@pytest.fixture
def far_time_zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """TZ=UTC+14 for this process and what it starts (hub, CLI), restored afterwards."""
    monkeypatch.setenv("TZ", FAR_FROM_BERLIN)
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()
