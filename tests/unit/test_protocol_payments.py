"""The kiosk's payment commands are strict (issue 16, never trust the browser): the page names
fee item codes and quantities, never an amount; quantities 1–99; ids are uuids."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from protocol import kiosk

UUID = "0b9a4a5e-2f0e-4c1e-9a57-3d0f3c2b1a00"
COMMANDS = TypeAdapter(kiosk.AnyCommand)
PAY = {
    "id": 13,
    "cmd": "pay_request",
    "appointment": UUID,
    "lines": [{"code": "meldebescheinigung", "quantity": 2}, {"code": "fz", "quantity": 1}],
}


def test_a_pay_request_of_codes_and_quantities_is_read():
    assert type(COMMANDS.validate_python(PAY)) is kiosk.PayRequest
    most = COMMANDS.validate_python({**PAY, "lines": [{"code": "fz", "quantity": 99}]})
    assert most.lines[0].quantity == 99


@pytest.mark.parametrize(
    "changed",
    [
        {"amount_cents": 1300},  # the page never names an amount: only the catalogue prices
        {"total_cents": 1300},
        {"lines": [{"code": "fz", "quantity": 1, "amount_cents": 1}]},
        {"lines": [{"code": "fz", "quantity": 1, "unit_cents": 1}]},
        {"lines": [{"code": "fz", "quantity": 0}]},
        {"lines": [{"code": "fz", "quantity": 100}]},
        {"lines": [{"code": "fz", "quantity": -1}]},
        {"lines": [{"code": "fz", "quantity": 1.0}]},
        {"lines": [{"code": "fz", "quantity": "1"}]},
        {"lines": [{"code": "f z", "quantity": 1}]},
        {"lines": [{"code": "", "quantity": 1}]},
        {"lines": [{"quantity": 1}]},
        {"lines": []},
        {"lines": [{"code": "fz", "quantity": 1}] * 100},
        {"appointment": "not-a-uuid"},
        {"appointment": UUID + "0"},
        {"appointment": None},
    ],
    ids=repr,
)
def test_a_pay_request_is_refused_unless_strictly_codes_and_quantities(changed):
    with pytest.raises(ValidationError):
        COMMANDS.validate_python({**PAY, **changed})


@pytest.mark.parametrize("cmd", ["pay_cancel", "pay_mail"])
def test_cancel_and_mail_name_a_payment_by_its_uuid_and_nothing_else(cmd):
    good = {"id": 1, "cmd": cmd, "appointment": UUID, "payment": UUID}
    assert type(COMMANDS.validate_python(good)) is kiosk.OnPayment
    for bad in ({"payment": "123"}, {"payment": None}, {"amount_cents": 0}, {"state": "paid"}):
        with pytest.raises(ValidationError):
            COMMANDS.validate_python({**good, **bad})
    with pytest.raises(ValidationError):
        COMMANDS.validate_python({k: v for k, v in good.items() if k != "payment"})
