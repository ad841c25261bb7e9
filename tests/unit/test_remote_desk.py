"""The core's RemoteDesk with an update: it installs beside the hub's news, waits for a call
like a restart, and a call that begins while it installs delays the switch to after the call.
The hub and the machine are the core's ports, recorded here (the daemon's side with real parts
is in tests/integration/test_remote_actions.py and test_updates.py)."""

from __future__ import annotations

import asyncio

from appliance.core.ports import Answer, Performed
from appliance.core.remote import RemoteDesk
from protocol.appliance import Action, ActionResult
from protocol.base import Request
from tests.support.own_loop import run


class Recorded:
    """The hub link: what the desk answered, in order."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, str, str]] = []

    async def request(self, event: str, payload: Request) -> Answer:
        assert event == "action_result" and isinstance(payload, ActionResult)
        self.answers.append((payload.id, payload.state, payload.result))
        return Answer(True)


class Machine:
    """An update that installs until `installed` is set, then switches (the restart)."""

    def __init__(self) -> None:
        self.installed = asyncio.Event()
        self.switched = False

    async def perform(self, action: Action) -> Performed:
        await self.installed.wait()
        return Performed("running", f"installed {action.version}", self._switch)

    async def _switch(self) -> None:
        self.switched = True


UPDATE = Action(id=4, kind="update", version="1.1.0")


def test_an_update_in_a_call_waits_and_runs_when_the_call_ends():
    async def scenario() -> None:
        hub, machine, calls = Recorded(), Machine(), {"a"}
        desk = RemoteDesk(hub, machine, lambda: bool(calls), lambda: None)
        await desk.receive(UPDATE)
        assert hub.answers == [(4, "waiting", "waits for the call to end")]
        machine.installed.set()
        calls.clear()
        await desk.calls_ended()
        await asyncio.sleep(0)
        while desk.running or desk._background:
            await asyncio.sleep(0.01)
        assert hub.answers[-1] == (4, "running", "installed 1.1.0")
        assert machine.switched

    run(scenario())


def test_a_call_that_begins_while_it_installs_delays_the_switch():
    async def scenario() -> None:
        hub, machine, calls = Recorded(), Machine(), set()
        desk = RemoteDesk(hub, machine, lambda: bool(calls), lambda: None)
        await desk.receive(UPDATE)  # returns at once: it installs in the background
        assert desk.running == {4}
        await desk.receive(UPDATE)  # sent again after a reconnect: not installed twice
        calls.add("a")  # a citizen is admitted meanwhile
        machine.installed.set()
        while desk.running:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.01)
        assert hub.answers == [(4, "running", "installed 1.1.0")]
        assert not machine.switched and len(desk.deferred) == 1
        calls.clear()
        await desk.calls_ended()
        assert machine.switched and desk.deferred == []

    run(scenario())


def test_a_forced_update_switches_even_during_a_call():
    async def scenario() -> None:
        hub, machine, calls = Recorded(), Machine(), {"a"}
        desk = RemoteDesk(hub, machine, lambda: bool(calls), lambda: None)
        machine.installed.set()
        await desk.receive(Action(id=5, kind="update", version="1.1.0", force=True))
        while desk.running or desk._background:
            await asyncio.sleep(0.01)
        assert hub.answers == [(5, "running", "installed 1.1.0")]
        assert machine.switched

    run(scenario())


class Flaky(Recorded):
    """The hub link, down while `down` is set: answers then go nowhere."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False

    async def request(self, event: str, payload: Request) -> Answer:
        if self.down:
            return Answer.unreachable()
        return await super().request(event, payload)


def test_an_answer_the_hub_did_not_get_is_sent_again_once_connected():
    async def scenario() -> None:
        hub = Flaky()
        desk = RemoteDesk(hub, None, lambda: False, lambda: None)
        hub.down = True
        await desk.report(4, "done", "1.1.0 runs: connected, self-check passed")  # lost
        await desk.receive(Action(id=5, kind="restart"))  # failed: no performer; lost too
        assert hub.answers == []
        await desk.resend()  # still down: kept
        assert hub.answers == [] and sorted(desk.unsent) == [4, 5]
        hub.down = False
        await desk.resend()
        assert hub.answers == [
            (4, "done", "1.1.0 runs: connected, self-check passed"),
            (5, "failed", "restart is not possible on this appliance"),
        ]
        assert desk.unsent == {}
        await desk.resend()  # nothing twice
        assert len(hub.answers) == 2

    run(scenario())


def test_a_newer_answer_replaces_an_unsent_older_one():
    async def scenario() -> None:
        hub = Flaky()
        machine = Machine()
        calls = {"a"}
        desk = RemoteDesk(hub, machine, lambda: bool(calls), lambda: None)
        hub.down = True
        await desk.receive(UPDATE)  # waits for the call: "waiting", unsent
        assert desk.unsent[4].state == "waiting"
        hub.down = False
        machine.installed.set()
        calls.clear()
        await desk.calls_ended()  # runs it: "running" reaches the hub
        assert hub.answers == [(4, "running", "installed 1.1.0")]
        assert desk.unsent == {}  # the stale "waiting" is not sent after it
        await desk.resend()
        assert hub.answers == [(4, "running", "installed 1.1.0")]

    run(scenario())
