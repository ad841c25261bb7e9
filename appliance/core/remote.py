"""Remote actions IT asks of this counter (docs/operations.md, "Remote actions"): run now, or
wait until the last call ends when it would break one and IT did not force it; identify
(the kiosk flashes and chimes) is the core's own, the rest (restart, reboot, settings, update,
logs) a `Performer`'s."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Literal

from appliance.core.ports import HUB_UNREACHABLE, Hub, Performed, Performer
from protocol.appliance import Action, ActionResult, ActionState

log = logging.getLogger("appliance.remote")
# Run beside the hub's news, not in its way: an update installs for minutes.
BACKGROUND = frozenset({"update"})
IDENTIFY_S = 10.0  # long enough for IT to walk along the counters and spot the right one


def decide(action: Action, in_call: bool) -> Literal["now", "wait"]:
    """Run now, or wait for the call to end (restart, reboot, settings read at start-up)."""
    return "wait" if in_call and action.breaks_call and not action.force else "now"


class RemoteDesk:
    """The actions this counter was asked for, and those waiting for its calls to end."""

    def __init__(
        self,
        hub: Hub,
        performer: Performer | None,
        in_call: Callable[[], bool],
        changed: Callable[[], None],
    ) -> None:
        self.hub = hub
        self.performer = performer
        self.in_call = in_call
        self.changed = changed
        self.waiting: dict[int, Action] = {}
        self.answered: dict[int, tuple[ActionState, str]] = {}  # by id: repeats after reconnect
        # Answers sent while the hub could not be reached, by id (the latest of each): sent
        # again on the next hello. The hub does not send a `running` update again after a
        # reconnect, so an update's `done` lost to a drop would otherwise stay unsaid.
        self.unsent: dict[int, ActionResult] = {}
        self.running: set[int] = set()  # under way (an update installs for minutes)
        self._background: set[asyncio.Future[None]] = set()
        self.deferred: list[Callable[[], Awaitable[None]]] = []  # switches that wait for a call
        self.identifying = False
        self._identify_task: asyncio.Future[None] | None = None

    async def receive(self, action: Action) -> None:
        """The hub asks for `action` (again, after a reconnect: answered as before)."""
        if action.id in self.answered:
            await self._answer(action.id, *self.answered[action.id])
            return
        if action.id in self.running:
            return  # sent again after a reconnect while it runs: its answer follows
        if action.id in self.waiting or decide(action, self.in_call()) == "wait":
            self.waiting[action.id] = action
            log.info("remote %s (%d) waits for the call to end", action.kind, action.id)
            await self._answer(action.id, "waiting", "waits for the call to end")
            return
        if action.kind in BACKGROUND:
            self.running.add(action.id)  # now, not when the task starts: a repeat may come first
            task = asyncio.ensure_future(self._run(action))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
            return
        await self._run(action)

    async def calls_ended(self) -> None:
        """The last call ended: run what waited for it, in the order it came."""
        while self.waiting and not self.in_call():
            key = min(self.waiting)
            await self._run(self.waiting.pop(key))
        while self.deferred and not self.in_call():
            await self.deferred.pop(0)()

    async def _run(self, action: Action) -> None:
        self.running.add(action.id)
        try:
            done = await self._perform(action)
        finally:
            self.running.discard(action.id)
        self.answered[action.id] = (done.state, done.text[:200])
        log.info("remote %s (%d): %s %s", action.kind, action.id, done.state, done.text)
        await self._answer(action.id, done.state, done.text, done.log)
        if done.after is None:
            return
        if decide(action, self.in_call()) == "wait":  # a call began while it ran (an update)
            self.deferred.append(done.after)
            log.info("remote %s (%d) finishes after the call", action.kind, action.id)
            return
        await done.after()

    async def _perform(self, action: Action) -> Performed:
        if action.kind == "identify":
            self.identify()
            return Performed("done", f"identifying for {IDENTIFY_S:.0f} s")
        if self.performer is None:
            return Performed("failed", f"{action.kind} is not possible on this appliance")
        try:
            return await self.performer.perform(action)
        except Exception as exc:  # any failure is IT's to read, not a crash of the daemon
            log.exception("remote %s (%d) failed", action.kind, action.id)
            return Performed("failed", f"{type(exc).__name__}: {exc}")

    async def report(self, key: int, state: ActionState, text: str) -> None:
        """Say how an action ended that a daemon before this one began (an update)."""
        self.answered[key] = (state, text[:200])
        log.info("remote action %d: %s %s", key, state, text)
        await self._answer(key, state, text)

    async def _answer(
        self, key: int, state: ActionState, text: str, lines: list[str] | None = None
    ) -> None:
        answer = ActionResult(id=key, state=state, result=text[:200], log=lines)
        if await self._delivered(answer):
            self.unsent.pop(key, None)  # a newer answer said: an older unsent one is moot
        else:
            self.unsent[key] = answer

    async def _delivered(self, answer: ActionResult) -> bool:
        """Whether the hub got `answer` (a refusal counts: asking again would not change it)."""
        reply = await self.hub.request("action_result", answer)
        return reply.ok or reply.code != HUB_UNREACHABLE

    async def resend(self) -> None:
        """Connected again: the answers the hub did not get, once more, oldest action first."""
        for key in sorted(self.unsent):
            answer = self.unsent[key]
            if await self._delivered(answer) and self.unsent.get(key) is answer:
                del self.unsent[key]

    def identify(self) -> None:
        """Flash and chime on the kiosk for IDENTIFY_S (again: from now)."""
        if self._identify_task is not None:
            self._identify_task.cancel()
        self.identifying = True
        self.changed()
        self._identify_task = asyncio.ensure_future(self._stop_identifying())

    async def _stop_identifying(self) -> None:
        await asyncio.sleep(IDENTIFY_S)
        self.identifying = False
        self.changed()

    def close(self) -> None:
        """Stop identifying (the daemon stops)."""
        if self._identify_task is not None:
            self._identify_task.cancel()
