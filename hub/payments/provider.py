"""What every payment provider offers: create a transaction for a request, read its state.

Plain Python (no HTTP here): the values the hub and a provider exchange, the states a
transaction can be in as the hub sees them, and the errors a provider raises. Creating is
idempotent by `request_id`: asking twice for the same request gives the same transaction.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from hub.booking.fees import FeeLine, validate_purpose


class PaymentState(StrEnum):
    """A transaction's state as the hub records it."""

    PENDING = "pending"  # created; the citizen has not finished (or the platform not decided)
    PAID = "paid"
    FAILED = "failed"  # declined by the platform or its payment service
    CANCELLED = "cancelled"  # the citizen gave up on the platform's page
    EXPIRED = "expired"  # nobody finished it in time

    @property
    def final(self) -> bool:
        """True for the states a transaction never leaves."""
        return self is not PaymentState.PENDING


@dataclass(frozen=True)
class PaymentItem:
    """One position of a payment: what, how many, at which price, booked where."""

    id: str
    description: str
    quantity: int
    single_price_cents: int
    booking_data: Mapping[str, str] = field(default_factory=dict)

    @property
    def total_cents(self) -> int:
        """Price times quantity."""
        return self.single_price_cents * self.quantity

    @classmethod
    def from_line(cls, line: FeeLine) -> PaymentItem:
        """The position for a fee line, with the cash office's keys as booking data."""
        keys = {
            "kassenzeichen": line.item.kassenzeichen,
            "haushaltsstelle": line.item.haushaltsstelle,
        }
        return cls(
            id=line.item.code,
            description=line.item.label_de,
            quantity=line.quantity,
            single_price_cents=line.item.amount_cents,
            booking_data={k: v for k, v in keys.items() if v},
        )


@dataclass(frozen=True)
class PaymentRequest:
    """What the hub asks a provider to collect. `request_id` is ours and unique per request:
    the provider refuses a second transaction for it."""

    request_id: str
    items: tuple[PaymentItem, ...]
    purpose: str
    redirect_url: str
    requested_at: datetime
    description: str = ""

    def __post_init__(self) -> None:
        validate_purpose(self.purpose)
        if not self.items:
            raise ValueError("a payment request needs at least one item")

    @property
    def total_cents(self) -> int:
        """The sum of the items."""
        return sum(i.total_cents for i in self.items)


@dataclass(frozen=True)
class PaymentTransaction:
    """A provider's transaction for one request, as last read."""

    transaction_id: str
    request_id: str
    pay_url: str  # where the citizen pays
    state: PaymentState
    provider_status: str  # the provider's own word for the state, for the logs and support
    total_cents: int


class PaymentError(Exception):
    """A provider did not do what was asked. `retryable`: the same call may succeed later (the
    provider was unreachable, slow or answered 5xx), so try again with the same request id."""

    retryable = False


class PaymentUnavailable(PaymentError):
    """The provider could not be reached or failed on its side; nothing is known about the
    outcome."""

    retryable = True


class PaymentRefused(PaymentError):
    """The provider refused the request as it stands (validation, credentials, unknown id)."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code


class PaymentProvider(Protocol):
    """A payment platform as the hub uses it."""

    def create(self, request: PaymentRequest) -> PaymentTransaction:
        """Create the transaction for `request`, or return the one made for its request id
        already."""
        ...

    def status(self, transaction_id: str) -> PaymentTransaction:
        """Read the transaction's current state from the provider."""
        ...


def create_with_retries(
    provider: PaymentProvider,
    request: PaymentRequest,
    attempts: int = 3,
    pause_seconds: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
) -> PaymentTransaction:
    """`provider.create(request)`, tried again (same request id) after errors that allow it;
    the pause doubles each time. The last error is raised when all attempts fail."""
    for attempt in range(attempts):
        try:
            return provider.create(request)
        except PaymentError as exc:
            if not exc.retryable or attempt == attempts - 1:
                raise
            sleep(pause_seconds * 2**attempt)
    raise AssertionError("unreachable")  # pragma: no cover
