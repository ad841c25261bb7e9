"""The job runner (hub.jobs.runner): rounds on a cadence, failures contained, each job started
once, on-demand rounds coalesced, and a stop that lets the current round end. Real threads."""

from __future__ import annotations

import logging
import threading
import time
from types import SimpleNamespace

import pytest
from flask import Flask

from hub.jobs import JOBS, MAIL, REALTIME
from hub.jobs.runner import Job, Runner
from tests.support.waiting import wait_until


@pytest.fixture
def app():
    app = Flask("jobs-test")
    app.extensions["settings"] = SimpleNamespace(poll_seconds=0.01)
    return app


@pytest.fixture
def runners():
    started: list[Runner] = []
    yield started.append
    for runner in started:
        runner.stop(5)


class Rounds:
    """A job body that counts its rounds (and can be told to fail)."""

    def __init__(self, fail: bool = False) -> None:
        self.count = 0
        self.fail = fail

    def __call__(self, app: Flask) -> None:
        self.count += 1
        if self.fail:
            raise RuntimeError("the database is away")


def test_every_job_is_in_exactly_one_group():
    assert sorted(MAIL + REALTIME) == sorted(job.name for job in JOBS)


def test_a_failing_job_logs_each_round_and_neither_it_nor_the_others_stop(app, runners, caplog):
    bad, good = Rounds(fail=True), Rounds()
    runner = Runner(app, [Job("bad", bad, every="poll_seconds"), Job("good", good, every=0.01)])
    runners(runner)
    with caplog.at_level(logging.ERROR, logger="hub.jobs"):
        runner.start()
        wait_until(lambda: bad.count >= 3 and good.count >= 3, 5, "three rounds of each")
    assert "job bad: round failed" in caplog.text
    assert "job good" not in caplog.text


def test_a_job_is_started_once_however_often_it_is_asked(app, runners):
    spawned: list[str] = []

    def spawn(target, job):
        spawned.append(job.name)
        thread = threading.Thread(target=target, args=(job,), daemon=True)
        thread.start()
        return thread

    runner = Runner(app, [Job("a", Rounds(), every=0.01), Job("b", Rounds(), every=0.01)], spawn)
    runners(runner)
    runner.start("a")
    runner.start("a")
    runner.start()
    assert spawned == ["a", "b"]
    assert runner.running() == ["a", "b"]


def test_stop_lets_the_current_round_end_and_no_other_begin(app):
    entered, finished = threading.Event(), threading.Event()
    rounds = []

    def slow(app):
        rounds.append(time.monotonic())
        entered.set()
        time.sleep(0.2)
        finished.set()

    runner = Runner(app, [Job("slow", slow, every=0.01)])
    runner.start()
    assert entered.wait(5)
    runner.stop(5)
    assert finished.is_set()
    assert len(rounds) == 1
    runner.start()  # a stopped runner stays stopped
    time.sleep(0.05)
    assert len(rounds) == 1


def test_an_on_demand_job_runs_only_when_woken_and_coalesces_wakes(app, runners):
    lobby = Rounds()
    runner = Runner(app, [Job("lobby", lobby, every=0.3, on_demand=True)])
    runners(runner)
    runner.start()
    time.sleep(0.1)
    assert lobby.count == 0  # nobody asked
    runner.wake("lobby")
    wait_until(lambda: lobby.count == 1, 5, "the first round")
    for _ in range(5):  # during the pause after that round
        runner.wake("lobby")
    wait_until(lambda: lobby.count == 2, 5, "one more round")
    time.sleep(0.5)
    assert lobby.count == 2


def test_the_pause_follows_a_setting_and_grows_after_a_slow_round():
    settings = SimpleNamespace(poll_seconds=7.0)
    assert Job("mail", Rounds(), every="poll_seconds").pause(settings, 1.0) == 7.0
    lobby = Job("lobby", Rounds(), every=0.25, max_share=1 / 3)
    assert lobby.pause(settings, 0.01) == 0.25  # at most four rounds a second
    assert lobby.pause(settings, 1.0) == pytest.approx(2.0)  # at most a third of the time


def test_the_first_round_can_wait(app, runners):
    presence = Rounds()
    runner = Runner(app, [Job("presence", presence, every=0.01, first_after=0.3)])
    runners(runner)
    runner.start()
    time.sleep(0.1)
    assert presence.count == 0
    wait_until(lambda: presence.count >= 1, 5, "the first round after its delay")
