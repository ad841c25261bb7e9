"""Runs an app's periodic jobs, each in a background task of its own: on its own cadence, a
failing round logged without stopping it or the others, and `stop()` letting every current
round end (so a mail that went out is also recorded as sent before the process exits)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from flask import Flask

log = logging.getLogger("hub.jobs")


class Task(Protocol):
    """A started background task: a thread, or a greenlet under gevent."""

    def join(self, timeout: float | None = None) -> Any:
        """Wait for the task to end, at most `timeout` seconds."""


Spawn = Callable[..., Task]  # spawn(target, *args): start target(*args) in the background


@dataclass(frozen=True)
class Job:
    """One piece of periodic work: `run(app)` is one round, then the job pauses `every` seconds
    (a number, or the name of the setting that holds it)."""

    name: str
    run: Callable[[Flask], None]
    every: float | str
    first_after: float = 0.0  # seconds between starting the job and its first round
    # A round only when asked (`Runner.wake`); asking again during a round or its pause makes
    # one more round after the pause, however often it was asked: bursts are coalesced.
    on_demand: bool = False
    # At most this share of the time in rounds: after a slow round the pause grows to match.
    max_share: float = 1.0

    def pause(self, settings: object, round_seconds: float) -> float:
        """Seconds to wait after a round that took `round_seconds`."""
        every = getattr(settings, self.every) if isinstance(self.every, str) else self.every
        return max(float(every), round_seconds * (1 / self.max_share - 1))


def _thread(target: Callable[..., None], *args: Any) -> Task:
    """Start `target` in a daemon thread (a greenlet under gevent's monkey patching)."""
    thread = threading.Thread(target=target, args=args, daemon=True)
    thread.start()
    return thread


class Runner:
    """An app's jobs: each started at most once, woken when on demand, all stopped together."""

    def __init__(self, app: Flask, jobs: Iterable[Job], spawn: Spawn = _thread) -> None:
        self.app = app
        self.jobs = {job.name: job for job in jobs}
        self._spawn = spawn
        self._tasks: dict[str, Task] = {}
        self._wakes = {name: threading.Event() for name, job in self.jobs.items() if job.on_demand}
        self._stopping = threading.Event()  # cooperative under gevent's monkey patching
        self._lock = threading.Lock()

    def start(self, *names: str) -> None:
        """Start the named jobs (all when none is named); a job already started stays as it is,
        and a stopped runner starts nothing."""
        with self._lock:
            for name in names or tuple(self.jobs):
                job = self.jobs[name]
                if name not in self._tasks and not self._stopping.is_set():
                    self._tasks[name] = self._spawn(self._loop, job)

    def running(self) -> list[str]:
        """The names of the jobs started so far."""
        return sorted(self._tasks)

    def wake(self, name: str) -> None:
        """Ask the on-demand job `name` for a round."""
        self._wakes[name].set()

    def run_once(self, name: str) -> None:
        """One round of `name` here and now, its errors raised (tests, maintenance)."""
        with self.app.app_context():
            self.jobs[name].run(self.app)

    def stop(self, timeout: float = 30.0) -> None:
        """Let each job end its current round, then end it for good; waits up to `timeout`."""
        self._stopping.set()
        for wake in self._wakes.values():
            wake.set()
        deadline = time.monotonic() + timeout
        for task in list(self._tasks.values()):
            task.join(max(0.0, deadline - time.monotonic()))

    def _loop(self, job: Job) -> None:
        settings = self.app.extensions["settings"]
        wake = self._wakes.get(job.name)
        if self._stopping.wait(job.first_after):
            return
        while True:
            if wake is not None:
                wake.wait()
                wake.clear()
            if self._stopping.is_set():
                return
            started = time.monotonic()
            try:
                with self.app.app_context():
                    job.run(self.app)
            except Exception:  # e.g. a database outage: the next round may well succeed
                log.exception("job %s: round failed", job.name)
            if self._stopping.wait(job.pause(settings, time.monotonic() - started)):
                return
