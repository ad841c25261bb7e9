"""Fees of a service: the items a clerk can ask a citizen to pay, their amounts and booking keys.

Amounts are integer cents in euros. The purpose text goes to the payment platform as the
booking text of the transfer, which XBezahldienste limits to 27 characters of letters, digits,
spaces and hyphens.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

MAX_ITEM_CENTS = 999_999  # XBezahldienste's limit for an amount (9.999,99 €)
MAX_QUANTITY = 99
MAX_ITEMS = 99  # XBezahldienste takes 1 to 99 items per transaction
PURPOSE_MAX = 27
BOOKING_KEY_MAX = 36
# The platform's pattern is ^[\w\d\s-]+$; ASCII, since \w is ASCII-only in most of its servers.
_PURPOSE = re.compile(r"^[A-Za-z0-9 -]+$")
_BOOKING_KEY = re.compile(r"^[\w.\-/]*$")


class FeeError(ValueError):
    """A fee item or a selection of items that cannot be used; `field` names the value at
    fault."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class FeeItem:
    """One fee of a service, as the catalogue keeps it.

    The labels are what clerk and citizen read; `purpose` is the booking text the platform
    passes on to the bank (ASCII: platforms and banks transliterate umlauts differently).

    `kassenzeichen` and `haushaltsstelle` are the city cash office's booking keys (either may
    be empty when the city books by one alone); `variable_quantity` says whether the clerk may
    ask for more than one (two certificates, say).
    """

    code: str
    label_de: str
    label_en: str
    purpose: str
    amount_cents: int
    kassenzeichen: str = ""
    haushaltsstelle: str = ""
    variable_quantity: bool = False

    def __post_init__(self) -> None:
        validate_item(self)


def validate_purpose(purpose: str) -> None:
    """Refuse a purpose text the payment platform would refuse."""
    if not purpose.strip():
        raise FeeError("a fee needs a purpose text", "purpose")
    if len(purpose) > PURPOSE_MAX:
        raise FeeError(f"a purpose text has at most {PURPOSE_MAX} characters", "purpose")
    if not _PURPOSE.match(purpose):
        raise FeeError(
            "a purpose text holds letters A-Z, digits, spaces and hyphens only (ae for ä)",
            "purpose",
        )


def validate_item(item: FeeItem) -> None:
    """Refuse an item with a bad code, purpose, amount or booking key."""
    if not item.code or len(item.code) > BOOKING_KEY_MAX or not re.match(r"^[\w-]+$", item.code):
        raise FeeError("an item code is 1 to 36 letters, digits, '-' or '_'", "code")
    if not item.label_de.strip() or len(item.label_de) > 100 or len(item.label_en) > 100:
        raise FeeError("a fee needs a German label of at most 100 characters", "label_de")
    validate_purpose(item.purpose)
    if not 0 <= item.amount_cents <= MAX_ITEM_CENTS:
        raise FeeError(f"an amount lies between 0 and {MAX_ITEM_CENTS} cents", "amount_cents")
    for name, key in (
        ("kassenzeichen", item.kassenzeichen),
        ("haushaltsstelle", item.haushaltsstelle),
    ):
        if len(key) > BOOKING_KEY_MAX or not _BOOKING_KEY.match(key):
            raise FeeError(
                f"a {name} is at most {BOOKING_KEY_MAX} letters, digits, '.', '-' or '/'", name
            )


def validate_items(items: Iterable[FeeItem]) -> tuple[FeeItem, ...]:
    """A service's items, refused when codes repeat or there are too many."""
    result = tuple(items)
    if len(result) > MAX_ITEMS:
        raise FeeError(f"a service has at most {MAX_ITEMS} fee items", "items")
    codes = [i.code for i in result]
    if len(set(codes)) != len(codes):
        raise FeeError("each fee item of a service needs its own code", "code")
    return result


@dataclass(frozen=True)
class FeeLine:
    """An item the clerk asks for, with its quantity."""

    item: FeeItem
    quantity: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.quantity <= MAX_QUANTITY:
            raise FeeError(f"a quantity lies between 1 and {MAX_QUANTITY}", "quantity")
        if self.quantity != 1 and not self.item.variable_quantity:
            raise FeeError(f"the quantity of {self.item.code!r} is fixed at 1", "quantity")

    @property
    def total_cents(self) -> int:
        """Amount times quantity."""
        return self.item.amount_cents * self.quantity


def total_cents(lines: Iterable[FeeLine]) -> int:
    """What the lines cost together; refused above what one transaction may carry."""
    total = sum(line.total_cents for line in lines)
    if total > MAX_ITEM_CENTS:
        raise FeeError(f"a payment is at most {MAX_ITEM_CENTS} cents", "total")
    return total


_EUROS = re.compile(r"^(\d{1,7})(?:[,.](\d{1,2}))?$")


def parse_euros(text: str) -> int:
    """An amount as people type it ("12", "12,5", "12,50" or "12.50", no € sign) in cents."""
    match = _EUROS.match(text.strip().removesuffix("€").strip())
    if match is None:
        raise FeeError("an amount in euros, e.g. 12,50", "amount")
    cents = (match.group(2) or "0").ljust(2, "0")
    return int(match.group(1)) * 100 + int(cents)


def format_euros(cents: int) -> str:
    """German notation without the locale machinery: 1300 → "13,00 €"."""
    euros, rest = divmod(cents, 100)
    return f"{euros:,}".replace(",", ".") + f",{rest:02d} €"


# Sample fees per service id, the amounts of SEED_SERVICES (a city sets its own with
# `buergeramt services fees`); the Haushaltsstellen are made up in a budget line's form.
SEED_FEES: dict[str, tuple[FeeItem, ...]] = {
    "meldebescheinigung": (
        FeeItem(
            "meldebescheinigung",
            "Meldebescheinigung",
            "Registration certificate",
            "Meldebescheinigung",
            1000,
            haushaltsstelle="1.1220.111000",
            variable_quantity=True,
        ),
    ),
    "melderegisterauskunft": (
        FeeItem(
            "auskunft",
            "Einfache Melderegisterauskunft",
            "Simple register information",
            "Melderegisterauskunft",
            1000,
            haushaltsstelle="1.1220.111000",
            variable_quantity=True,
        ),
    ),
    "fuehrungszeugnis": (
        FeeItem(
            "fuehrungszeugnis",
            "Führungszeugnis",
            "Certificate of good conduct",
            "Fuehrungszeugnis",
            1300,
            haushaltsstelle="1.1220.361000",
            variable_quantity=True,
        ),
    ),
    "bewohnerparkausweis": (
        FeeItem(
            "bewohnerparken",
            "Bewohnerparkausweis (1 Jahr)",
            "Residents' parking permit (1 year)",
            "Bewohnerparkausweis 1 Jahr",
            12000,
            haushaltsstelle="1.1220.431100",
        ),
    ),
}
