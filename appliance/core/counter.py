"""The counter: its clerk's session, the day, the lobby, the calls it holds and the outcome to
record, with the commands a clerk gives and its reactions to what the hub tells.

It talks to the hub and to the media only through the interfaces in `ports`, so the same rules
run under the real Socket.IO link and aiortc, and under anything else that keeps them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from appliance.core.documents import DocumentDesk
from appliance.core.drafts import DraftRefused, Drafts
from appliance.core.early import EarlySignals
from appliance.core.payments import PaymentDesk
from appliance.core.ports import (
    HUB_UNREACHABLE,
    Answer,
    CallMediaSession,
    Files,
    Hub,
    Inbox,
    Media,
    Performer,
    Scanner,
)
from appliance.core.remote import RemoteDesk
from appliance.core.state import (
    CallSnapshot,
    CounterState,
    DeviceReport,
    LinkState,
    Sending,
)
from protocol.appliance import (
    Action,
    CallDone,
    CallRef,
    Clerk,
    Day,
    DayChanged,
    End,
    Hello,
    Record,
    Revoked,
    SignedIn,
    SignIn,
)
from protocol.appliance import Admitted as AdmittedAnswer
from protocol.appliance import Counter as CounterInfo
from protocol.base import Empty, Request
from protocol.citizen import PeerNotice
from protocol.documents import CallDocuments
from protocol.kiosk import Kind
from protocol.payments import CallPayments
from protocol.signalling import ApplianceSignal
from protocol.views import CallView, DayEntry, HeldCall, Lobby
from protocol.vocabulary import ClerkOutcome

log = logging.getLogger("appliance.counter")
DAY_COALESCE_S = 0.3  # lobby and call news arrive in bursts: fetch the day once per burst
DAY_REFRESH_S = 60.0


@dataclass(frozen=True)
class Options:
    """How this counter works unattended (demo, tests) and whether anyone can be asked."""

    auto_admit: bool = False  # admit whoever waits, first come first
    clerk_username: str | None = None  # sign this clerk in by itself
    clerk_password: str | None = None
    ask_outcomes: bool = True  # a kiosk screen exists to ask for a call's outcome


class Counter:
    """One counter appliance's state and rules."""

    def __init__(
        self,
        hub: Hub,
        media: Media,
        options: Options,
        sending: Sending | None = None,
        *,
        files: Files | None = None,
        scanner: Scanner | None = None,
        inbox: Inbox | None = None,
        performer: Performer | None = None,
    ) -> None:
        self.hub = hub
        self.media = media

        self.options = options
        self.sending = sending or Sending()
        self.link: LinkState = "connecting"
        self.counter: CounterInfo | None = None
        self.clerk: Clerk | None = None
        self.clerk_session: str | None = None
        self.lobby: Lobby | None = None
        self.day: list[DayEntry] = []
        self.calls: dict[str, CallMediaSession] = {}
        self.views: dict[str, CallView] = {}  # the hub's view of each held call
        self.to_record: CallView | None = None  # an ended call awaiting its outcome
        self.devices = DeviceReport()
        self.drafts = Drafts()
        self.desk = DocumentDesk(files, scanner, self.changed, lambda a: a in self.calls, inbox)
        self.payments = PaymentDesk(hub, self.changed, lambda a: a in self.calls)
        self.remote = RemoteDesk(hub, performer, lambda: bool(self.calls), self.changed)
        self.label: str | None = None  # the counter's name as IT set it (settings)
        self.screens = 0  # kiosk pages open now: someone who can be asked for an outcome
        self.unsent_ends: set[str] = set()  # hung up while the hub was unreachable
        self.hello = asyncio.Event()
        self.listeners: list[Callable[[], None]] = []
        self._early = EarlySignals()
        self._day_task: asyncio.Future[None] | None = None
        self._day_stale = False  # news of the day came since the last fetch started
        self._admit_task: asyncio.Future[None] | None = None
        self._documents_task: asyncio.Future[None] | None = None
        self._payments_task: asyncio.Future[None] | None = None
        self._resuming: asyncio.Future[bool] | None = None
        self._remote_task: asyncio.Future[None] | None = None

    # --- what it publishes ---

    def changed(self) -> None:
        """Tell the listeners (the kiosk screen) that something they show changed."""
        for listener in self.listeners:
            listener()

    def state(self) -> CounterState:
        """A snapshot of everything a screen might show."""
        call = next(iter(self.calls.values()), None)
        snapshot = (
            CallSnapshot(
                view=self.views.get(call.appointment),
                appointment=call.appointment,
                media=call.media,
                quality=call.quality,
                since=call.connected_since,
            )
            if call is not None
            else None
        )
        counter = self.counter
        if counter is not None and self.label:
            counter = counter.model_copy(update={"name": self.label})
        return CounterState(
            link=self.link,
            counter=counter,
            clerk=self.clerk,
            lobby=self.lobby,
            day=tuple(self.day),
            call=snapshot,
            to_record=self.to_record,
            sending=(self.sending.camera, self.sending.microphone),
            devices=self.devices,
            documents=self.desk.documents.get(call.appointment) if call is not None else None,
            scan=tuple(self.desk.scan_pages),
            scanning=self.desk.scanning,
            can_scan=self.desk.can_scan,
            payments=self.payments.of(call.appointment if call is not None else None),
            identify=self.remote.identifying,
        )

    def link_changed(self, link: LinkState) -> None:
        """The hub link's state (online comes with `hello`)."""
        if link != self.link:
            self.link = link
            self.changed()

    def devices_changed(self, report: DeviceReport) -> None:
        """The devices' liveness checks found something new."""
        if report != self.devices:
            self.devices = report
            self.changed()

    async def _request(self, event: str, payload: Request) -> Answer:
        return await self.hub.request(event, payload)

    async def forward(self, event: str, payload: Request) -> None:
        """A call's signal or media state, on its way to the hub."""
        await self._request(event, payload)

    # --- what the clerk does (the kiosk screen calls these) ---

    async def sign_in(self, username: str, password: str) -> Answer:
        """Sign a clerk in at this counter."""
        answer = await self._request("sign_in", SignIn(username=username, password=password))
        signed = answer.read(SignedIn)
        if signed is not None:
            self.clerk, self.clerk_session = signed.clerk, signed.session
            self.lobby = signed.lobby
            self.refresh_day()
            self.changed()
            await self._maybe_admit()
        return answer

    async def sign_out(self) -> Answer:
        """Sign the clerk out (the hub forgets the session even if this fails to reach it)."""
        answer = await self._request("sign_out", Empty()) if self.link == "online" else Answer(True)
        self.clerk, self.clerk_session = None, None
        self.lobby, self.day = None, []
        self.drafts.forget()
        self.desk.discard_scan()
        self.changed()
        return answer

    async def admit(self, appointment: str) -> Answer:
        """Let a waiting citizen in."""
        answer = await self._request("admit", CallRef(appointment=appointment))
        admitted = answer.read(AdmittedAnswer)
        if admitted is not None:
            self._hold(admitted.call)
            self.changed()
        return answer

    async def hang_up(self, appointment: str) -> Answer:
        """End the call at once (recorded as done until the clerk picks the outcome)."""
        call = self.calls.pop(appointment, None)
        self._forget(appointment)
        if call is not None:
            await call.close()
        answer = await self._request("end", End(appointment=appointment, outcome="done"))
        if answer.code == HUB_UNREACHABLE:
            self.unsent_ends.add(appointment)  # told when the hub is back (see hello)
        done = answer.read(CallDone)
        view = done.call if done is not None else self.views.get(appointment)
        self.views.pop(appointment, None)
        if view is not None:
            self._ask_outcome(view)
        self.changed()
        return answer

    async def record(self, appointment: str, outcome: ClerkOutcome, notes: str) -> Answer:
        """The outcome of a call that ended, with the clerk's notes."""
        answer = await self._request(
            "record", Record(appointment=appointment, outcome=outcome, notes=notes)
        )
        if answer.ok:
            self.drafts.forget(appointment)
            if self.to_record is not None and self.to_record.appointment == appointment:
                self.to_record = None
        self.refresh_day()
        self.changed()
        await self._maybe_admit()
        return answer

    async def no_show(self, appointment: str) -> Answer:
        """Close an appointment whose citizen never came (also one admitted who vanished)."""
        answer = await self._request("end", End(appointment=appointment, outcome="no_show"))
        if answer.ok:
            # The hub tells the ending appliance nothing more: drop a call held for it here.
            call = self.calls.pop(appointment, None)
            self.views.pop(appointment, None)
            self._forget(appointment)
            if call is not None:
                await call.close()
        self.refresh_day()
        self.changed()
        return answer

    def send(self, kind: Kind, on: bool) -> None:
        """Camera off / mute (and back) for every call of this counter."""
        self.sending.set(kind, on)
        self.changed()

    def keep_draft(self, appointment: str, notes: str) -> Answer:
        """Keep the clerk's draft notes of a call of this counter's day (bounded)."""
        ours = {entry.appointment for entry in self.day} | set(self.calls)
        if self.to_record is not None:
            ours.add(self.to_record.appointment)
        try:
            self.drafts.keep(appointment, notes, ours)
        except DraftRefused as refused:
            return Answer.refusal(refused.code, str(refused))
        return Answer(True)

    def screen_opened(self) -> None:
        """A kiosk page connected: from now on it can be asked for outcomes."""
        self.screens += 1

    def screen_closed(self) -> None:
        """A kiosk page went away; if it was the last one, auto-admit need not wait for it."""
        self.screens -= 1
        if not self.screens and self.to_record is not None and self.options.auto_admit:
            self._admit_task = asyncio.ensure_future(self._maybe_admit())

    def _ask_outcome(self, view: CallView) -> None:
        """Have the kiosk ask for the ended call's outcome. Without a kiosk nobody can be
        asked: the hang-up's outcome stands, with no `record` step (docs/operations.md)."""
        if self.options.ask_outcomes:
            self.to_record = view

    # --- what the hub tells ---

    async def on_hello(self, hello: Hello) -> None:
        """Connected: who we are, the clerk whose session was resumed, the call we hold."""
        self.clerk = hello.clerk
        self.counter = hello.counter
        self.lobby = hello.lobby
        if self.clerk is None:
            self.clerk_session = None  # expired or signed out elsewhere
        if self.clerk is None and self.options.clerk_username:
            await self.sign_in(self.options.clerk_username, self.options.clerk_password or "")
        held = hello.call
        if held is not None and held.appointment in self.unsent_ends:
            await self._request("end", End(appointment=held.appointment, outcome="done"))
        elif held is not None:
            self._hold(held)  # its fresh offer follows (`peer_rejoined`), or came early
        self.unsent_ends.clear()
        await self.remote.resend()
        self.hello.set()
        self.link_changed("online")
        self.refresh_day()
        self.changed()
        await self._maybe_admit()

    async def on_lobby(self, lobby: Lobby) -> None:
        """Who waits for this counter (and for counters nobody serves)."""
        self.lobby = lobby
        self.refresh_day()
        self.changed()
        await self._maybe_admit()

    async def on_day_changed(self, _news: DayChanged) -> None:
        """A booking, move, cancellation or device check at this counter: fetch the day."""
        self.refresh_day()

    async def on_call(self, view: CallView) -> None:
        """A held call's state changed."""
        appointment = view.appointment
        if view.state == "ended":
            call = self.calls.pop(appointment, None)
            self.views.pop(appointment, None)
            self._forget(appointment)
            if call is not None:
                await call.close()
                # Ended by the hub (dropped, or the clerk's end from elsewhere): still ask.
                if self.to_record is None and view.outcome in ("done", "dropped"):
                    self._ask_outcome(view)
            self.refresh_day()
            self.changed()
            await self._maybe_admit()
        elif appointment in self.calls:
            self.views[appointment] = view
            self.changed()

    async def on_signal(self, signal: ApplianceSignal) -> None:
        """The citizen's offer or candidate; kept for a while if the call is not held yet."""
        call = self.calls.get(signal.appointment)
        if call is None:
            self._early.keep(signal)
            return
        await call.apply([signal])

    async def on_peer_left(self, notice: PeerNotice) -> None:
        """The citizen lost the connection; a new offer will follow their return."""
        log.info("citizen of %s left; waiting for a new offer", notice.appointment)
        call = self.calls.get(notice.appointment)
        if call is not None:
            call.lost()
            self.changed()

    async def on_peer_rejoined(self, notice: PeerNotice) -> None:
        """The citizen is back: their new offer follows, unless the media never stopped (only
        the hub was away), in which case the call resumes as it is."""
        log.info("citizen of %s is back", notice.appointment)
        call = self.calls.get(notice.appointment)
        if call is not None:
            # In the background: the hub link hands over its events one by one, and the new
            # offer may be the next.
            self._resuming = asyncio.ensure_future(call.resume())

    async def on_revoked(self, revoked: Revoked) -> None:
        """IT revoked this device: the refusal stays on screen."""
        log.error("this device was revoked (%s): stopping", revoked.reason)
        self.link_changed("refused")

    async def on_action(self, action: Action) -> None:
        """IT asks for a remote action: now, or once the last call ended (unless forced)."""
        await self.remote.receive(action)

    async def on_documents(self, news: CallDocuments) -> None:
        """The files or the checklist of a held call changed."""
        self.desk.news(news)

    async def on_payments(self, news: CallPayments) -> None:
        """A payment request of a held call was made, changed state or got its receipt."""
        self.payments.news(news)

    # --- the day ---

    def refresh_day(self) -> None:
        """Fetch the counter's day soon (once for a burst of news); only for a clerk."""
        if self.clerk is None:
            return
        self._day_stale = True
        if self._day_task is None or self._day_task.done():
            self._day_task = asyncio.ensure_future(self._fetch_day())

    async def _fetch_day(self) -> None:
        # News that arrives while a fetch is under way may postdate the hub's answer: fetch
        # again then, so the last change is never left for the minute's refresh.
        while self._day_stale:
            await asyncio.sleep(DAY_COALESCE_S)
            self._day_stale = False
            answer = await self._request("day", Empty())
            day = answer.read(Day)
            if day is not None:
                self.day = day.day
                self.changed()

    async def keep_day_fresh(self) -> None:
        """Refetch the day every minute too: time alone changes it (a citizen becomes late)."""
        while True:
            await asyncio.sleep(DAY_REFRESH_S)
            if self.link == "online":
                self.refresh_day()

    # --- calls ---

    async def _maybe_admit(self) -> None:
        """With auto-admit (demo, tests): let the first waiting citizen in when free, and
        not while the kiosk still asks for the last call's outcome (the clerk answers first).
        With no kiosk page open nobody can answer: the hang-up's outcome stands."""
        if not self.options.auto_admit or self.calls or self.clerk is None:
            return
        if self.to_record is not None:
            if self.screens:
                return
            log.info("no screen open: outcome of %s not asked", self.to_record.appointment)
            self.to_record = None
            self.changed()
        first = self.lobby.first_waiting() if self.lobby is not None else None
        if first is not None:
            await self.admit(first.appointment)

    def _hold(self, held: HeldCall) -> CallMediaSession:
        """Hold a call: its media session, and any signals that came before it."""
        appointment = held.appointment
        self.views[appointment] = held.view()
        call = self.calls.get(appointment)
        if call is None:
            call = self.calls[appointment] = self.media.open_call(
                appointment, held.ice_servers, self.forward, self.changed
            )
            early = self._early.take(appointment)
            if early:
                call.apply_soon(early)
            self._documents_task = asyncio.ensure_future(self.desk.fetch(appointment))
        # Again for a call held across a lost link: its payments may have changed meanwhile.
        self._payments_task = asyncio.ensure_future(self.payments.fetch(appointment))
        return call

    def _forget(self, appointment: str) -> None:
        """What the desks keep of a call that is no longer held."""
        self.desk.forget(appointment)
        self.payments.forget(appointment)
        if not self.calls and (self.remote.waiting or self.remote.deferred):  # waited for the call
            self._remote_task = asyncio.ensure_future(self.remote.calls_ended())

    async def close(self) -> None:
        """Hang up every call (the hub learns of it when the link closes)."""
        for call in list(self.calls.values()):
            await call.close()
        self.calls.clear()
        self.remote.close()
        tasks = (
            self._day_task,
            self._admit_task,
            self._documents_task,
            self._payments_task,
            self._resuming,
        )
        for task in tasks:
            if task is not None:
                task.cancel()
