"""The sandbox's HTTP interface: XBezahldienste's two calls, the pay page, and /sandbox/ for
tests and demos (fault switches, transaction counts, reset)."""

from __future__ import annotations

import contextlib
import re
import threading
import time
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx
from flask import Flask, Response, abort, jsonify, redirect, render_template, request
from werkzeug.wrappers import Response as BaseResponse

from payment_sandbox.ledger import ACTIONS, Ledger, Transaction

ID = re.compile(r"^[\w-]{1,36}$", re.ASCII)
PURPOSE = re.compile(r"^[\w\s-]{1,27}$", re.ASCII)
TEXTS = {
    "de": {
        "title": "Bezahlen – Test-Bezahldienst",
        "sandbox": "Test-Bezahldienst: Hier fließt kein echtes Geld.",
        "purpose": "Verwendungszweck",
        "item": "Position",
        "quantity": "Anzahl",
        "amount": "Betrag",
        "total": "Summe",
        "pay": "Bezahlen",
        "decline": "Zahlung ablehnen (Karte abgelehnt)",
        "cancel": "Abbrechen",
        "done": "Dieser Vorgang ist abgeschlossen.",
        "back": "Zurück zum Bürgeramt",
        "other": "English",
    },
    "en": {
        "title": "Pay – test payment service",
        "sandbox": "Test payment service: no real money moves here.",
        "purpose": "Purpose",
        "item": "Item",
        "quantity": "Quantity",
        "amount": "Amount",
        "total": "Total",
        "pay": "Pay",
        "decline": "Decline the payment (card declined)",
        "cancel": "Cancel",
        "done": "This payment is finished.",
        "back": "Back to the citizens' office",
        "other": "Deutsch",
    },
}


def money(amount: Any, lang: str) -> str:
    """Euros as people read them: 13,00 € in German (a space that never breaks), €13.00 in
    English."""
    value = Decimal(str(amount)).quantize(Decimal("0.01"))
    if lang == "en":
        return f"€{value:,}"
    return f"{value:,}".replace(",", " ").replace(".", ",").replace(" ", ".") + "\u00a0€"


def problem(status: int, code: str, text: str, **extra: Any) -> Response:
    """An XBezahldienste error answer (application/problem+json)."""
    body = {"status": status, "title": code, "errorCode": code, "functionalText": text, **extra}
    answer = jsonify(body)
    answer.status_code = status
    answer.mimetype = "application/problem+json"
    return answer


def cents(amount: Any) -> int:
    """A euro amount from the request as cents; ValueError when it is none."""
    try:
        return int((Decimal(str(amount)) * 100).to_integral_value(rounding="ROUND_HALF_EVEN"))
    except (InvalidOperation, TypeError):
        raise ValueError(f"not an amount: {amount!r}") from None


def invalid(body: Any) -> str | None:
    """Why a PaymentRequest is refused, or None."""
    if not isinstance(body, dict):
        return "the body is no JSON object"
    if not ID.match(str(body.get("requestId", ""))):
        return "requestId: 1 to 36 of [A-Za-z0-9_-]"
    if body.get("currency") != "EUR":
        return "currency: only EUR"
    if not PURPOSE.match(str(body.get("purpose", ""))):
        return "purpose: 1 to 27 of [A-Za-z0-9 _-]"
    if not str(body.get("redirectUrl", "")).startswith(("http://", "https://")):
        return "redirectUrl: an http(s) address"
    items = body.get("items")
    if not isinstance(items, list) or not 1 <= len(items) <= 99:
        return "items: 1 to 99"
    try:
        total = 0
        for item in items:
            quantity = int(item["quantity"])
            if quantity < 1 or not ID.match(str(item["id"])):
                return "items: an id and a quantity of at least 1 each"
            total += cents(item["singlePrice"]) * quantity
        gros = cents(body.get("grosAmount"))
    except (KeyError, TypeError, ValueError) as exc:
        return f"items: {exc}"
    if gros != total or not 0 < gros <= 99_999_900:
        return f"grosAmount {gros} cents does not match the items ({total} cents)"
    return None


def create_app(ledger: Ledger, user: str | None = None, password: str | None = None) -> Flask:
    """The sandbox on `ledger`; with `user`, the API asks for HTTP Basic credentials."""
    app = Flask(__name__)
    app.config["ledger"] = ledger

    def document(transaction: Transaction, originator: str, endpoint: str) -> dict[str, Any]:
        base = request.host_url.rstrip("/")
        tid = transaction.transaction_id
        return {
            "requestId": transaction.request_id,
            "transactionId": tid,
            "transactionUrl": f"{base}/paymenttransaction/{originator}/{endpoint}/{tid}",
            "transactionRedirectUrl": f"{base}/pay/{tid}",
            "paymentRequest": transaction.request,
            "paymentInformation": {
                "transactionId": tid,
                "transactionReference": tid[:12].upper(),
                "transactionTimestamp": time.strftime(
                    "%Y-%m-%dT%H:%M:%SZ", time.gmtime(transaction.created)
                ),
                "paymentMethod": transaction.payment_method,
                "status": ledger.status(transaction, time.time()),
            },
        }

    def faults_of_request() -> dict[str, str]:
        header = request.headers.get("X-Sandbox-Faults", "")
        pairs = (part.split("=", 1) for part in header.split(",") if "=" in part)
        return {k.strip(): v.strip() for k, v in pairs}

    @app.before_request
    def _api_rules() -> Response | None:
        if not request.path.startswith("/paymenttransaction/"):
            return None
        once = faults_of_request()
        delay = float(once.get("delay_seconds", ledger.faults.delay_seconds))
        if delay:
            time.sleep(delay)
        if user and (
            request.authorization is None
            or request.authorization.username != user
            or request.authorization.password != password
        ):
            return problem(403, "FORBIDDEN", "Anmeldedaten fehlen oder sind falsch.")
        return None

    @app.post("/paymenttransaction/<originator>/<endpoint>")
    def create(originator: str, endpoint: str) -> Response:
        if not ID.match(originator) or not ID.match(endpoint):
            return problem(400, "NO_VALID_ORIGINATOR_OR_ENDPOINT", "Unbekannter Mandant.")
        once = faults_of_request()
        with ledger.lock:
            ledger.creates += 1
            fail = ledger.faults.fail_create > 0 or once.get("fail_create") == "1"
            if ledger.faults.fail_create > 0:
                ledger.faults.fail_create -= 1
            lose = ledger.faults.lose_create_answer > 0 or once.get("lose_create_answer") == "1"
            if ledger.faults.lose_create_answer > 0:
                ledger.faults.lose_create_answer -= 1
        if fail:
            return problem(500, "UNSPECIFIED", "Interner Fehler (Test-Schalter fail_create).")
        body = request.get_json(silent=True)
        reason = invalid(body)
        if reason or not isinstance(body, dict):
            reason = reason or "the body is no JSON object"
            code = "CALCULATION_ERROR" if reason.startswith("grosAmount") else "VALIDATION_ERROR"
            return problem(400, code, reason)
        transaction, new = ledger.add(body, time.time())
        if lose:
            return problem(500, "UNSPECIFIED", "Interner Fehler (Test-Schalter lose_create).")
        if not new:
            return problem(
                409,
                "PAYMENT_EXISTS",
                "Mit dieser Request-ID wurde bereits ein PaymentRequest platziert.",
                transactionId=transaction.transaction_id,
            )
        answer = jsonify(document(transaction, originator, endpoint))
        answer.status_code = 201
        return answer

    @app.get("/paymenttransaction/<originator>/<endpoint>/<transaction_id>")
    def read(originator: str, endpoint: str, transaction_id: str) -> Response:
        transaction = ledger.by_id.get(transaction_id)
        if transaction is None:
            return problem(404, "UNSPECIFIED", "Keine solche Transaktion.")
        answer = document(transaction, originator, endpoint)
        offset = ledger.faults.status_amount_offset_cents
        if offset:
            gros = Decimal(str(answer["paymentRequest"]["grosAmount"])) + Decimal(offset) / 100
            answer["paymentRequest"] = {**answer["paymentRequest"], "grosAmount": float(gros)}
        return jsonify(answer)

    @app.get("/pay/<transaction_id>")
    def pay_page(transaction_id: str) -> str:
        transaction = ledger.by_id.get(transaction_id) or abort(404)
        lang = "en" if request.args.get("lang") == "en" else "de"
        body = transaction.request
        items = [
            {
                "description": item.get("description") or item["id"],
                "quantity": item["quantity"],
                "amount": money(Decimal(str(item["singlePrice"])) * int(item["quantity"]), lang),
            }
            for item in body["items"]
        ]
        return render_template(
            "pay.html",
            t=TEXTS[lang],
            lang=lang,
            other="de" if lang == "en" else "en",
            transaction=transaction,
            purpose=body["purpose"],
            items=items,
            total=money(body["grosAmount"], lang),
            open=transaction.status == "INITIAL",
        )

    @app.post("/pay/<transaction_id>")
    def pay_action(transaction_id: str) -> BaseResponse:
        transaction = ledger.by_id.get(transaction_id) or abort(404)
        action = request.form.get("action", "")
        if action not in ACTIONS:
            abort(400)
        ledger.decide(transaction, action, time.time())
        back = str(transaction.request["redirectUrl"])
        if ledger.faults.duplicate_return:  # as if the browser came back twice
            threading.Thread(target=_visit, args=(back,), daemon=True).start()
        return redirect(back, 303)

    @app.get("/sandbox/transactions")
    def counts() -> Response:
        return jsonify(ledger.counts())

    @app.get("/sandbox/faults")
    def get_faults() -> Response:
        return jsonify(ledger.faults.as_dict())

    @app.put("/sandbox/faults")
    def put_faults() -> Response:
        try:
            ledger.faults.update(request.get_json(force=True) or {})
        except (ValueError, TypeError) as exc:
            return problem(400, "VALIDATION_ERROR", str(exc))
        return jsonify(ledger.faults.as_dict())

    @app.post("/sandbox/reset")
    def reset() -> Response:
        ledger.reset()
        return jsonify(ledger.counts())

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify({"ok": True})

    return app


def _visit(url: str) -> None:
    with contextlib.suppress(httpx.HTTPError):  # the browser's own return is the one that counts
        httpx.get(url, timeout=5)
