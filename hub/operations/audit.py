"""The audit log: every change made in the admin area (and by the operations it calls), with who
made it, when, on what, and the values before and after. Written in the change's own
transaction, so a change is never stored without its entry (nor an entry without its change)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from hub.store import Store
from hub.store.models import AuditRow

PAGE = 50


@dataclass(frozen=True)
class AuditEntry:
    """One change as the audit page shows it."""

    id: int
    at: datetime
    actor: str
    action: str
    target: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


def record(
    session: Session | Connection,
    now: datetime,
    actor: str,
    action: str,
    target: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    """Add an entry to the change being made in `session` (an ORM session, or the Core
    connection of a transaction such as a booking's)."""
    values = {
        "at": now,
        "actor": actor[:120],
        "action": action[:64],
        "target": target[:200],
        "before": before,
        "after": after,
    }
    if isinstance(session, Connection):
        session.execute(insert(AuditRow.__table__).values(**values))
    else:
        session.add(AuditRow(**values))


def entries(
    store: Store, *, page: int = 0, actor: str | None = None, action: str | None = None
) -> tuple[list[AuditEntry], int]:
    """A page of entries, newest first, and how many there are in all (with the filters)."""
    query = select(AuditRow)
    if actor:
        query = query.where(AuditRow.actor == actor)
    if action:
        query = query.where(AuditRow.action.startswith(action, autoescape=True))
    with store.transaction() as session:
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = session.scalars(
            query.order_by(AuditRow.id.desc()).offset(max(page, 0) * PAGE).limit(PAGE)
        ).all()
        listed = [
            AuditEntry(r.id, r.at, r.actor, r.action, r.target, r.before, r.after) for r in rows
        ]
    return listed, int(total)
