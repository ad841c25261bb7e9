"""A service's fees as IT changes them: list, set or remove one item, or replace them all.

The CLI calls these, and so will the admin pages; the rules of an item are in
hub.booking.fees. Each function is one transaction and refuses with a CatalogueError.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from hub.booking.fees import FeeError, FeeItem, validate_items
from hub.operations.catalogue import CatalogueError
from hub.store import Store
from hub.store.fees import fee_items, replace_fee_items
from hub.store.models import ServiceRow


def _service(session: Session, service_id: str) -> ServiceRow:
    row = session.get(ServiceRow, service_id)
    if row is None:
        raise CatalogueError(f"no service with id {service_id!r}")
    return row


def list_fee_items(store: Store, service_id: str) -> tuple[FeeItem, ...]:
    """The service's fee items in the order clerks see them."""
    with store.transaction() as session:
        _service(session, service_id)
        return fee_items(session, service_id)


def set_fee_items(store: Store, service_id: str, items: Iterable[FeeItem]) -> None:
    """Make `items` the service's fees (in this order), instead of those it had."""
    try:
        checked = validate_items(items)
    except FeeError as exc:
        raise CatalogueError(str(exc), exc.field) from None
    with store.transaction() as session:
        _service(session, service_id)
        replace_fee_items(session, service_id, checked)


def set_fee_item(store: Store, service_id: str, item: FeeItem) -> None:
    """Add the item to the service's fees, or replace the one with its code (keeping its
    place)."""
    with store.transaction() as session:
        _service(session, service_id)
        items = list(fee_items(session, service_id))
        codes = [i.code for i in items]
        if item.code in codes:
            items[codes.index(item.code)] = item
        else:
            items.append(item)
        try:
            checked = validate_items(items)
        except FeeError as exc:
            raise CatalogueError(str(exc), exc.field) from None
        replace_fee_items(session, service_id, checked)


def remove_fee_item(store: Store, service_id: str, code: str) -> None:
    """Remove the service's fee item with this code."""
    with store.transaction() as session:
        _service(session, service_id)
        items = fee_items(session, service_id)
        if code not in {i.code for i in items}:
            raise CatalogueError(f"{service_id!r} has no fee item {code!r}", "code")
        replace_fee_items(session, service_id, [i for i in items if i.code != code])
