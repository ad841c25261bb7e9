"""Reading and writing a service's fee items (hub.booking.fees.FeeItem)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hub.booking.fees import FeeItem
from hub.store.models import FeeItemRow


def to_fee_item(row: FeeItemRow) -> FeeItem:
    """The domain view of a fee item row."""
    return FeeItem(
        code=row.code,
        label_de=row.label_de,
        label_en=row.label_en,
        purpose=row.purpose,
        amount_cents=row.amount_cents,
        kassenzeichen=row.kassenzeichen,
        haushaltsstelle=row.haushaltsstelle,
        variable_quantity=row.variable_quantity,
    )


def fee_items(session: Session, service_id: str) -> tuple[FeeItem, ...]:
    """A service's fee items in the order clerks see them."""
    rows = session.scalars(
        select(FeeItemRow)
        .where(FeeItemRow.service_id == service_id)
        .order_by(FeeItemRow.position, FeeItemRow.code)
    )
    return tuple(to_fee_item(r) for r in rows)


def replace_fee_items(session: Session, service_id: str, items: Iterable[FeeItem]) -> None:
    """Make `items` (in this order) the service's fee items, instead of those it had."""
    session.execute(delete(FeeItemRow).where(FeeItemRow.service_id == service_id))
    session.add_all(
        FeeItemRow(
            service_id=service_id,
            code=item.code,
            position=n,
            label_de=item.label_de,
            label_en=item.label_en,
            purpose=item.purpose,
            amount_cents=item.amount_cents,
            kassenzeichen=item.kassenzeichen,
            haushaltsstelle=item.haushaltsstelle,
            variable_quantity=item.variable_quantity,
        )
        for n, item in enumerate(items)
    )
    session.flush()
