"""A service's fees as IT changes them: list, set or remove one item, or replace them all.

The CLI calls these, and so will the admin pages; the rules of an item are in
hub.booking.fees. Each function is one transaction and refuses with a CatalogueError.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict
from datetime import datetime

from sqlalchemy.orm import Session

from hub.booking.fees import FeeError, FeeItem, validate_items
from hub.clock import system_clock
from hub.operations.audit import record
from hub.operations.catalogue import SYSTEM, CatalogueError
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


def _replace(
    session: Session,
    service_id: str,
    before: Sequence[FeeItem],
    after: Iterable[FeeItem],
    actor: str,
    now: datetime | None,
) -> None:
    """Store the service's new items with an audit entry of the whole list before and after."""
    try:
        checked = validate_items(after)
    except FeeError as exc:
        raise CatalogueError(str(exc), exc.field) from None
    replace_fee_items(session, service_id, checked)
    record(
        session,
        now or system_clock(),
        actor,
        "service.fees",
        f"service:{service_id}",
        {"items": [asdict(i) for i in before]},
        {"items": [asdict(i) for i in checked]},
    )


def set_fee_items(
    store: Store,
    service_id: str,
    items: Iterable[FeeItem],
    *,
    actor: str = SYSTEM,
    now: datetime | None = None,
) -> None:
    """Make `items` the service's fees (in this order), instead of those it had."""
    with store.transaction() as session:
        _service(session, service_id)
        _replace(session, service_id, fee_items(session, service_id), items, actor, now)


def set_fee_item(
    store: Store,
    service_id: str,
    item: FeeItem,
    *,
    actor: str = SYSTEM,
    now: datetime | None = None,
) -> None:
    """Add the item to the service's fees, or replace the one with its code (keeping its
    place)."""
    with store.transaction() as session:
        _service(session, service_id)
        before = fee_items(session, service_id)
        items = list(before)
        codes = [i.code for i in items]
        if item.code in codes:
            items[codes.index(item.code)] = item
        else:
            items.append(item)
        _replace(session, service_id, before, items, actor, now)


def remove_fee_item(
    store: Store,
    service_id: str,
    code: str,
    *,
    actor: str = SYSTEM,
    now: datetime | None = None,
) -> None:
    """Remove the service's fee item with this code."""
    with store.transaction() as session:
        _service(session, service_id)
        before = fee_items(session, service_id)
        if code not in {i.code for i in before}:
            raise CatalogueError(f"{service_id!r} has no fee item {code!r}", "code")
        _replace(session, service_id, before, [i for i in before if i.code != code], actor, now)
