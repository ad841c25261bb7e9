"""Fee items and what a selection of them costs (hub.booking.fees)."""

import pytest

from hub.booking.catalogue import SEED_SERVICES
from hub.booking.fees import (
    SEED_FEES,
    FeeError,
    FeeItem,
    FeeLine,
    format_euros,
    total_cents,
    validate_items,
)

(CERTIFICATE,) = SEED_FEES["meldebescheinigung"]  # 10,00 €, the quantity variable
PERMIT = FeeItem("parken", "Bewohnerparkausweis", "Parking permit", "Parken 1 Jahr", 12000)


def test_two_certificates_and_a_permit_cost_140_euros():
    lines = [FeeLine(CERTIFICATE, 2), FeeLine(PERMIT)]
    assert total_cents(lines) == 14000
    assert format_euros(total_cents(lines)) == "140,00 €"
    assert format_euros(123456) == "1.234,56 €"


def test_a_fixed_item_cannot_be_asked_for_twice():
    with pytest.raises(FeeError, match="fixed") as caught:
        FeeLine(PERMIT, 2)
    assert caught.value.field == "quantity"
    with pytest.raises(FeeError, match="between 1 and 99"):
        FeeLine(CERTIFICATE, 0)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"amount_cents": -1}, "amount_cents"),
        ({"amount_cents": 1_000_000}, "amount_cents"),
        ({"purpose": "Meldebescheinigung mit Extras"}, "purpose"),  # 29 characters
        ({"purpose": "Führungszeugnis"}, "purpose"),  # the platform takes ASCII only
        ({"purpose": "Gebühr; DROP"}, "purpose"),
        ({"purpose": "  "}, "purpose"),
        ({"label_de": ""}, "label_de"),
        ({"code": "a b"}, "code"),
        ({"haushaltsstelle": "1 2"}, "haushaltsstelle"),
        ({"kassenzeichen": "x" * 37}, "kassenzeichen"),
    ],
)
def test_bad_items_are_refused_with_the_field_named(changes, field):
    values = {**CERTIFICATE.__dict__, **changes}
    with pytest.raises(FeeError) as caught:
        FeeItem(**values)
    assert caught.value.field == field


def test_a_purpose_of_27_characters_is_accepted():
    FeeItem("x", "X", "X", "A" * 27, 0)


def test_codes_of_a_service_are_unique_and_a_total_has_a_ceiling():
    with pytest.raises(FeeError, match="own code"):
        validate_items([CERTIFICATE, CERTIFICATE])
    expensive = FeeItem("x", "X", "X", "X", 999_999, variable_quantity=True)
    with pytest.raises(FeeError, match="at most"):
        total_cents([FeeLine(expensive, 2)])


def test_the_seed_fees_add_up_to_the_fees_the_catalogue_shows():
    shown = {s.id: s.fee_cents for s in SEED_SERVICES}
    for service_id, items in SEED_FEES.items():
        assert sum(i.amount_cents for i in items) == shown[service_id]
    assert {k for k, v in shown.items() if v} == set(SEED_FEES)
