"""The counter's payment desk (issue 16): what it asks the hub and when, what it refuses by
itself, and which news it keeps; and the counter core around it (taken, hung up, ended)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from appliance.core import Counter, Options
from appliance.core.payments import PaymentDesk
from appliance.core.ports import Answer, Send
from protocol.base import Request
from protocol.payments import CallPayments, LineWanted
from protocol.signalling import ApplianceSignal, IceServer
from protocol.views import CallView
from tests.support.own_loop import run

PAYMENT = str(uuid.uuid4())


class RecordingHub:
    """The Hub port: keeps every request sent, answers from `answers` (by event) or ok."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.answers: dict[str, Answer] = {}
        self.before_answer: Callable[[str], None] | None = None

    async def request(self, event: str, payload: Request) -> Answer:
        self.sent.append((event, payload.model_dump(mode="json")))
        if self.before_answer is not None:
            self.before_answer(event)
        return self.answers.get(event, Answer(True))

    def events(self) -> list[str]:
        return [event for event, _ in self.sent]


class QuietCall:
    """A call's media that never connects (the desk cares only that the call is held)."""

    def __init__(self, appointment: str) -> None:
        self.appointment = appointment
        self.media = "connecting"
        self.quality = "unknown"
        self.connected_since: float | None = None
        self.closed = False

    async def apply(self, signals: Sequence[ApplianceSignal]) -> None:
        pass

    def apply_soon(self, signals: Sequence[ApplianceSignal]) -> None:
        pass

    def lost(self) -> None:
        pass

    async def close(self) -> None:
        self.closed = True


class QuietMedia:
    def open_call(
        self,
        appointment: str,
        ice_servers: Sequence[IceServer],
        send: Send,
        changed: Callable[[], None],
    ) -> QuietCall:
        return QuietCall(appointment)

    async def close(self) -> None:
        pass


def fees(appointment: str, states: Sequence[str] = (), online: bool = True) -> CallPayments:
    """A Führungszeugnis call's fees, with a request in each of `states`."""
    return CallPayments.model_validate(
        {
            "appointment": appointment,
            "online": online,
            "fees": [
                {
                    "code": "fz",
                    "label_de": "Führungszeugnis",
                    "label_en": "Certificate of good conduct",
                    "amount_cents": 1300,
                    "variable_quantity": False,
                }
            ],
            "payments": [
                {
                    "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{appointment}/{n}")),
                    "state": state,
                    "channel": "call",
                    "total_cents": 1300,
                    "lines": [],
                    "created_at": "2026-03-02T09:05:00+01:00",
                    "expires_at": "2026-03-02T09:35:00+01:00",
                    "final_at": None,
                    "receipt": None,
                }
                for n, state in enumerate(states)
            ],
        }
    )


def call_view(appointment: str, state: str = "in_call") -> dict[str, Any]:
    return {
        "appointment": appointment,
        "state": state,
        "outcome": "done" if state == "ended" else None,
        "counter": 1,
        "assigned_counter": 1,
        "service": {"id": "fz", "name_de": "Führungszeugnis", "name_en": "Certificate"},
        "start": "2026-03-02T09:00:00+01:00",
        "end": "2026-03-02T09:15:00+01:00",
        "name": "Person 0",
        "locale": "de",
        "waiting_since": None,
        "device_check": None,
        "notes": None,
    }


def desk_holding(*held: str) -> tuple[PaymentDesk, RecordingHub, list[int]]:
    hub = RecordingHub()
    changes: list[int] = []
    desk = PaymentDesk(hub, lambda: changes.append(1), lambda a: a in held)
    return desk, hub, changes


def lines(*wanted: tuple[str, int]) -> list[LineWanted]:
    return [LineWanted(code=code, quantity=quantity) for code, quantity in wanted]


def test_requests_go_to_the_hub_as_codes_and_quantities_only():
    call = str(uuid.uuid4())
    desk, hub, _ = desk_holding(call)
    hub.answers["payment_request"] = Answer(True, {"ok": True})

    answer = run(desk.request(call, lines(("meldebescheinigung", 2), ("fz", 1))))
    run(desk.cancel(call, PAYMENT))
    run(desk.mail(call, PAYMENT))

    assert answer.ok
    assert hub.sent == [
        (
            "payment_request",
            {
                "appointment": call,
                "lines": [
                    {"code": "meldebescheinigung", "quantity": 2},
                    {"code": "fz", "quantity": 1},
                ],
            },
        ),
        ("payment_cancel", {"appointment": call, "payment": PAYMENT}),
        ("payment_mail", {"appointment": call, "payment": PAYMENT}),
    ]


def test_a_call_not_held_is_refused_here_without_asking_the_hub():
    desk, hub, _ = desk_holding(str(uuid.uuid4()))
    other = str(uuid.uuid4())
    for answer in (
        run(desk.request(other, lines(("fz", 1)))),
        run(desk.cancel(other, PAYMENT)),
        run(desk.mail(other, PAYMENT)),
    ):
        assert (answer.ok, answer.code) == (False, "not_your_call")
    assert hub.sent == []


def test_the_hubs_refusal_reaches_the_clerk_and_changes_nothing_here():
    call = str(uuid.uuid4())
    desk, hub, changes = desk_holding(call)
    desk.news(fees(call, online=False))
    hub.answers["payment_request"] = Answer.refusal("no_platform", "no payment platform")
    answer = run(desk.request(call, lines(("fz", 1))))
    assert (answer.ok, answer.code) == (False, "no_platform")
    assert desk.of(call) == fees(call, online=False) and len(changes) == 1


def test_a_command_answered_is_not_applied_twice_the_news_shows_it():
    call = str(uuid.uuid4())
    desk, hub, changes = desk_holding(call)
    desk.news(fees(call))
    view = fees(call, ["pending"]).payments[0].wire()
    hub.answers["payment_request"] = Answer(True, {"ok": True, "payment": view})
    run(desk.request(call, lines(("fz", 1))))
    assert desk.of(call) == fees(call) and len(changes) == 1  # the answer alone changed nothing
    news = fees(call, ["pending"])
    desk.news(news)
    assert desk.of(call) == news and len(changes) == 2


def test_news_of_another_call_is_ignored():
    call, other = str(uuid.uuid4()), str(uuid.uuid4())
    desk, _, changes = desk_holding(call)
    desk.news(fees(other, ["pending"]))
    assert desk.of(other) is None and desk.of(call) is None and changes == []


def test_fetch_asks_for_the_list_and_keeps_newer_news():
    call = str(uuid.uuid4())
    desk, hub, _ = desk_holding(call)
    hub.answers["payment_list"] = Answer(True, {"ok": True, **fees(call).wire()})
    run(desk.fetch(call))
    assert hub.sent == [("payment_list", {"appointment": call})]
    assert desk.of(call) == fees(call)

    # A request turned paid while the list was on its way: the news is the newer word.
    paid = fees(call, ["paid"])
    hub.before_answer = lambda event: desk.news(paid)
    hub.answers["payment_list"] = Answer(True, fees(call, ["pending"]).wire())
    run(desk.fetch(call))
    assert desk.of(call) == paid


def test_fetch_of_a_call_no_longer_held_or_of_another_appointment_keeps_nothing():
    call = str(uuid.uuid4())
    desk, hub, _ = desk_holding(call)
    hub.answers["payment_list"] = Answer(True, fees(str(uuid.uuid4())).wire())
    run(desk.fetch(call))
    assert desk.of(call) is None
    other = str(uuid.uuid4())
    hub.answers["payment_list"] = Answer(True, fees(other).wire())
    run(desk.fetch(other))
    assert desk.of(other) is None
    hub.answers["payment_list"] = Answer.unreachable()
    run(desk.fetch(call))
    assert desk.of(call) is None


def held_counter() -> tuple[Counter, RecordingHub, str]:
    """A counter core that admitted a citizen (the payment list came with it)."""
    hub = RecordingHub()
    counter = Counter(hub, QuietMedia(), Options(ask_outcomes=False))
    call = str(uuid.uuid4())
    hub.answers["admit"] = Answer(True, {"ok": True, "call": call_view(call)})
    hub.answers["payment_list"] = Answer(True, fees(call).wire())
    hub.answers["end"] = Answer(True, {"ok": True, "call": call_view(call, "ended")})
    return counter, hub, call


def test_the_counter_fetches_the_fees_when_it_takes_a_call_and_forgets_them_at_hang_up():
    async def scenario() -> None:
        counter, hub, call = held_counter()
        await counter.admit(call)
        await asyncio.sleep(0)  # the fetch runs beside the call
        assert "payment_list" in hub.events()
        assert counter.state().payments == fees(call)

        await counter.on_payments(fees(call, ["pending"]))
        assert counter.state().payments == fees(call, ["pending"])
        await counter.on_payments(fees(str(uuid.uuid4()), ["paid"]))  # not ours
        assert counter.state().payments == fees(call, ["pending"])

        await counter.hang_up(call)
        assert counter.state().payments is None
        assert counter.payments.payments == {}
        await counter.on_payments(fees(call, ["paid"]))  # late news of the ended call
        assert counter.payments.payments == {}
        await counter.close()

    run(scenario())


def test_a_call_ended_by_the_hub_drops_its_fees():
    async def scenario() -> None:
        counter, _, call = held_counter()
        await counter.admit(call)
        await asyncio.sleep(0)
        await counter.on_call(CallView.model_validate(call_view(call, "ended")))
        assert counter.payments.payments == {} and counter.state().payments is None
        await counter.close()

    run(scenario())
