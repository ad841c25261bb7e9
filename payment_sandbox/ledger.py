"""The sandbox's memory: transactions by id and by requestId, and the fault switches."""

from __future__ import annotations

import secrets
import threading
from dataclasses import asdict, dataclass, field, fields
from typing import Any

# What the pay page's buttons do to a transaction (FITKO's Statusmodell).
ACTIONS = {"pay": "PAYED", "decline": "FAILED", "cancel": "CANCELED"}


@dataclass
class Faults:
    """What goes wrong, switched on through `PUT /sandbox/faults` or per request with the
    `X-Sandbox-Faults` header (`fail_create=1, delay_seconds=2`)."""

    delay_seconds: float = 0.0  # every API answer comes this late
    fail_create: int = 0  # the next n creates answer 500 and store nothing
    lose_create_answer: int = 0  # the next n creates store the transaction, then answer 500
    status_delay_seconds: float = 0.0  # the status reads INITIAL this long after paying
    duplicate_return: bool = False  # the return URL is called twice after the pay page
    expire_seconds: float = 900.0  # an unfinished transaction reads FAILED after this
    # Status reads report the gros amount this many cents off what was created (a platform
    # that added a surcharge, or mixed up two amounts): for reconciliation tests.
    status_amount_offset_cents: int = 0

    def update(self, values: dict[str, Any]) -> None:
        """Set the named switches; an unknown name or a bad value raises ValueError."""
        known = {f.name: f.type for f in fields(self)}
        for name, value in values.items():
            if name not in known:
                raise ValueError(f"unknown fault {name!r}")
            current = getattr(self, name)
            if isinstance(current, bool):
                parsed: Any = value if isinstance(value, bool) else str(value).lower() == "true"
            else:
                parsed = type(current)(value)
                if parsed < 0 and name != "status_amount_offset_cents":
                    raise ValueError(f"{name} cannot be negative")
            setattr(self, name, parsed)

    def as_dict(self) -> dict[str, Any]:
        """The switches as JSON."""
        return asdict(self)


@dataclass
class Transaction:
    """One transaction as the sandbox keeps it."""

    transaction_id: str
    request: dict[str, Any]
    created: float
    status: str = "INITIAL"
    decided: float | None = None  # when the pay page's button was pressed
    payment_method: str = ""

    @property
    def request_id(self) -> str:
        """The requestId it was created for."""
        return str(self.request["requestId"])


@dataclass
class Ledger:
    """Every transaction since the start (or the last reset), safe across threads."""

    faults: Faults = field(default_factory=Faults)
    by_id: dict[str, Transaction] = field(default_factory=dict)
    by_request: dict[str, str] = field(default_factory=dict)
    creates: int = 0  # create calls received, refused ones included
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, request: dict[str, Any], now: float) -> tuple[Transaction, bool]:
        """The transaction for the request's requestId, and whether it was made just now."""
        with self.lock:
            existing = self.by_request.get(str(request["requestId"]))
            if existing:
                return self.by_id[existing], False
            transaction = Transaction(secrets.token_hex(16), request, now)
            self.by_id[transaction.transaction_id] = transaction
            self.by_request[transaction.request_id] = transaction.transaction_id
            return transaction, True

    def status(self, transaction: Transaction, now: float) -> str:
        """The status as the API reports it `now` (expiry and the status delay applied)."""
        with self.lock:
            if transaction.status == "INITIAL" and now - transaction.created > (
                self.faults.expire_seconds
            ):
                transaction.status, transaction.decided = "FAILED", now
            if transaction.decided is not None and now - transaction.decided < (
                self.faults.status_delay_seconds
            ):
                return "INITIAL"
            return transaction.status

    def decide(self, transaction: Transaction, action: str, now: float) -> bool:
        """Apply a pay page button; False when the transaction was decided already."""
        with self.lock:
            if transaction.status != "INITIAL":
                return False
            transaction.status, transaction.decided = ACTIONS[action], now
            transaction.payment_method = "CREDITCARD" if action == "pay" else ""
            return True

    def counts(self) -> dict[str, Any]:
        """How many transactions exist, per requestId, and how many creates came in."""
        with self.lock:
            return {
                "transactions": len(self.by_id),
                "creates": self.creates,
                "requestIds": sorted(self.by_request),
            }

    def reset(self) -> None:
        """Forget every transaction and switch every fault off."""
        with self.lock:
            self.by_id.clear()
            self.by_request.clear()
            self.creates = 0
            self.faults = Faults()
