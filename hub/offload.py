"""Run CPU-heavy work that releases the GIL (password hashing) beside gevent's event loop."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def off_loop(work: Callable[[], T]) -> T:
    """`work()` in gevent's native thread pool when the process runs on gevent, else directly.

    A served hub handles every connection on one event loop: 50 ms of argon2 there would delay
    every other connection's messages by as much.
    """
    monkey = sys.modules.get("gevent.monkey")
    if monkey is not None and monkey.is_module_patched("threading"):
        import gevent

        return gevent.get_hub().threadpool.apply(work)
    return work()
