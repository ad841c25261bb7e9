"""The counter's payment desk: the fee items and payment requests of each held call, and the
clerk's requests, cancellations and pay-later mails on their way to the hub. Amounts are never
the counter's: it names item codes and quantities, the hub prices them."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from appliance.core.ports import Answer, Hub
from protocol.appliance import CallRef
from protocol.payments import CallPayments, LineWanted, OnPayment, RequestPayment

NOT_YOUR_CALL = "not_your_call"


class PaymentDesk:
    """Fees of the calls a counter holds, as the hub last told them."""

    def __init__(self, hub: Hub, changed: Callable[[], None], held: Callable[[str], bool]) -> None:
        self.hub = hub
        self._changed = changed
        self._held = held
        self.payments: dict[str, CallPayments] = {}
        self._stamp: dict[str, int] = {}  # when news of each call last came (a count)
        self._count = 0

    def news(self, news: CallPayments) -> None:
        """A request of a held call was made, changed state or got its receipt."""
        if self._held(news.appointment):
            self._count += 1
            self._stamp[news.appointment] = self._count
            self.payments[news.appointment] = news
            self._changed()

    def forget(self, appointment: str) -> None:
        """The call is no longer held."""
        self.payments.pop(appointment, None)
        self._stamp.pop(appointment, None)

    def of(self, appointment: str | None) -> CallPayments | None:
        """What the screen shows of a call's fees (None: not known yet)."""
        return self.payments.get(appointment) if appointment is not None else None

    async def fetch(self, appointment: str) -> None:
        """The call's fees and requests now: when it is taken, and again when the link comes
        back (news may have been missed meanwhile). News that came while the hub was being
        asked is newer than its answer and stays."""
        stamp = self._stamp.get(appointment)
        answer = await self.hub.request("payment_list", CallRef(appointment=appointment))
        listing = answer.read(CallPayments)
        if listing is None or listing.appointment != appointment or not self._held(appointment):
            return
        if self._stamp.get(appointment) != stamp:
            return
        self.payments[appointment] = listing
        self._changed()

    def _refuse_unless_held(self, appointment: str) -> Answer | None:
        if not self._held(appointment):
            return Answer.refusal(NOT_YOUR_CALL, "payments only of the call under way")
        return None

    async def request(self, appointment: str, lines: Sequence[LineWanted]) -> Answer:
        """Ask the citizen of the call to pay these items; the `payments` news that follows
        shows the request (the answer is not applied here as well)."""
        refused = self._refuse_unless_held(appointment)
        if refused is not None:
            return refused
        payload = RequestPayment(appointment=appointment, lines=list(lines))
        return await self.hub.request("payment_request", payload)

    async def cancel(self, appointment: str, payment: str) -> Answer:
        """Withdraw an unpaid request."""
        return await self._on_payment("payment_cancel", appointment, payment)

    async def mail(self, appointment: str, payment: str) -> Answer:
        """Send the request's lines to the citizen by e-mail, to pay later."""
        return await self._on_payment("payment_mail", appointment, payment)

    async def _on_payment(self, event: str, appointment: str, payment: str) -> Answer:
        refused = self._refuse_unless_held(appointment)
        if refused is not None:
            return refused
        return await self.hub.request(event, OnPayment(appointment=appointment, payment=payment))
