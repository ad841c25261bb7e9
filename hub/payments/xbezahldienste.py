"""The XBezahldienste client: FITKO's interface to municipal payment platforms (ePayBL,
pmPayment, GiroCheckout and others), spoken over HTTP with httpx.

- `POST {base}/paymenttransaction/{originatorId}/{endPointId}` with a PaymentRequest
  (requestId, requestTimestamp, currency, grosAmount, purpose, description, redirectUrl,
  items) creates a transaction; the answer carries its transactionId, the pay page
  (transactionRedirectUrl) and paymentInformation.status.
- `GET {base}/paymenttransaction/{originatorId}/{endPointId}/{transactionId}` reads it again.
- Errors come as application/problem+json with an errorCode; PAYMENT_EXISTS refuses a second
  transaction for a requestId. When the answer names the existing transactionId (the sandbox's
  does) the client reads that one, so creating is idempotent; when it does not, the caller must
  use the id it kept from the first answer (PaymentRefused with code PAYMENT_EXISTS).

Amounts are euros with two decimals on the wire and integer cents everywhere else.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import httpx

from hub.config import Settings
from hub.payments.provider import (
    PaymentRefused,
    PaymentRequest,
    PaymentState,
    PaymentTransaction,
    PaymentUnavailable,
)

# paymentInformation.status (FITKO's Statusmodell) → ours. TIMEOUT and EXPIRED are no part of
# v1.0.0, where a timed-out payment reads FAILED; some platforms report them nonetheless.
STATES = {
    "INITIAL": PaymentState.PENDING,
    "PAYED": PaymentState.PAID,
    "CANCELED": PaymentState.CANCELLED,
    "FAILED": PaymentState.FAILED,
    "TIMEOUT": PaymentState.EXPIRED,
    "EXPIRED": PaymentState.EXPIRED,
}
_ID = re.compile(r"^[\w-]{1,36}$", re.ASCII)


def state_of(status: str) -> PaymentState:
    """Our state for the platform's status; an unknown one counts as not yet final."""
    return STATES.get(status.upper(), PaymentState.PENDING)


def euros(cents: int) -> float:
    """Cents as the number the platform reads: 1300 → 13.0 (exact for amounts below 10^13)."""
    return float(Decimal(cents) / 100)


def cents(amount: Any) -> int:
    """The platform's euro amount as integer cents."""
    return int((Decimal(str(amount)) * 100).to_integral_value())


def request_body(request: PaymentRequest) -> dict[str, Any]:
    """The PaymentRequest document for `request`."""
    return {
        "requestId": request.request_id,
        "requestTimestamp": request.requested_at.isoformat(),
        "currency": "EUR",
        "grosAmount": euros(request.total_cents),
        "purpose": request.purpose,
        "description": request.description or request.purpose,
        "redirectUrl": request.redirect_url,
        "items": [
            {
                "id": item.id,
                "reference": item.id,
                "description": item.description,
                "quantity": item.quantity,
                "singlePrice": euros(item.single_price_cents),
                "total": euros(item.total_cents),
                "bookingData": dict(item.booking_data),
            }
            for item in request.items
        ],
    }


def transaction_from(document: dict[str, Any]) -> PaymentTransaction:
    """Our view of a PaymentTransaction document."""
    try:
        information = document.get("paymentInformation") or {}
        status = str(information.get("status") or document.get("status") or "INITIAL")
        request = document.get("paymentRequest") or {}
        return PaymentTransaction(
            transaction_id=str(document.get("transactionId") or information["transactionId"]),
            request_id=str(document.get("requestId") or request["requestId"]),
            pay_url=str(document.get("transactionRedirectUrl") or ""),
            state=state_of(status),
            provider_status=status,
            total_cents=cents(request.get("grosAmount", document.get("grosAmount", 0))),
        )
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        raise PaymentUnavailable(
            f"the payment platform answered an unreadable transaction: {exc!r}"
        ) from None


class XBezahldienste:
    """A PaymentProvider speaking XBezahldienste to one platform, for one originator (the
    online service) and endpoint (the authority, e.g. its AGS)."""

    def __init__(
        self,
        base_url: str,
        originator_id: str,
        endpoint_id: str,
        *,
        user: str | None = None,
        password: str | None = None,
        timeout_seconds: float = 10.0,
    ) -> None:
        for name, value in (("originator_id", originator_id), ("endpoint_id", endpoint_id)):
            if not _ID.match(value):
                raise ValueError(f"{name} is 1 to 36 letters, digits, '-' or '_'")
        self.path = f"/paymenttransaction/{originator_id}/{endpoint_id}"
        auth = httpx.BasicAuth(user, password or "") if user else None
        self.http = httpx.Client(
            base_url=base_url.rstrip("/"),
            auth=auth,
            timeout=timeout_seconds,
            headers={"Accept": "application/json, application/problem+json"},
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> XBezahldienste | None:
        """The client for the configured platform, or None when no payment_url is set."""
        if not settings.payment_url:
            return None
        return cls(
            settings.payment_url,
            settings.payment_originator_id,
            settings.payment_endpoint_id,
            user=settings.payment_user,
            password=settings.payment_password,
            timeout_seconds=settings.payment_timeout_seconds,
        )

    def close(self) -> None:
        """Close the connections."""
        self.http.close()

    def create(self, request: PaymentRequest) -> PaymentTransaction:
        """Create the transaction, or read the one the platform holds for the request id."""
        answer = self._call("POST", self.path, json=request_body(request))
        if answer.status_code in (200, 201):
            return self._checked(transaction_from(answer.json()), request)
        problem = _problem(answer)
        existing = problem.get("transactionId")
        if problem.get("errorCode") == "PAYMENT_EXISTS" and existing:
            return self._checked(self.status(str(existing)), request)
        raise _refusal(answer, problem)

    def status(self, transaction_id: str) -> PaymentTransaction:
        """Read the transaction's state from the platform."""
        if not _ID.match(transaction_id):
            raise PaymentRefused(f"not a transaction id: {transaction_id!r}", "VALIDATION_ERROR")
        answer = self._call("GET", f"{self.path}/{transaction_id}")
        if answer.status_code == 200:
            return transaction_from(answer.json())
        raise _refusal(answer, _problem(answer))

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            answer = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise PaymentUnavailable(f"payment platform not reachable: {exc!r}") from exc
        if answer.status_code >= 500 or answer.status_code == 429:
            raise PaymentUnavailable(f"payment platform answered {answer.status_code}")
        return answer

    @staticmethod
    def _checked(transaction: PaymentTransaction, request: PaymentRequest) -> PaymentTransaction:
        # A platform that mixed up two requests must not make the hub collect the wrong amount.
        if transaction.request_id != request.request_id:
            raise PaymentRefused(
                f"the platform answered for request {transaction.request_id!r}, not"
                f" {request.request_id!r}",
                "MISMATCH",
            )
        if transaction.total_cents not in (0, request.total_cents):
            raise PaymentRefused(
                f"the platform holds {transaction.total_cents} cents for request"
                f" {request.request_id!r}, not {request.total_cents}",
                "MISMATCH",
            )
        return transaction


def _problem(answer: httpx.Response) -> dict[str, Any]:
    try:
        body = answer.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _refusal(answer: httpx.Response, problem: dict[str, Any]) -> PaymentRefused:
    code = str(problem.get("errorCode") or "")
    text = problem.get("functionalText") or problem.get("detail") or problem.get("title") or ""
    return PaymentRefused(f"payment platform refused ({answer.status_code} {code}): {text}", code)
