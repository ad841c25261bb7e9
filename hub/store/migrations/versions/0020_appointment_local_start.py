"""appointments keep the Berlin month (YYYYMM), weekday (0 = Monday) and hour of their start
for the statistics (issue 18, point 5; hub/operations/statistics.py), filled for the
appointments so far

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-01
"""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

LOCAL = "timezone('Europe/Berlin', start_at)"
BERLIN = ZoneInfo("Europe/Berlin")


def upgrade() -> None:
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("local_month", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("local_weekday", sa.SmallInteger(), nullable=True))
        batch_op.add_column(sa.Column("local_hour", sa.SmallInteger(), nullable=True))
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(
            f"UPDATE appointments SET"
            f" local_month = (EXTRACT(YEAR FROM {LOCAL}) * 100 + EXTRACT(MONTH FROM {LOCAL}))::int,"
            f" local_weekday = EXTRACT(ISODOW FROM {LOCAL})::int - 1,"
            f" local_hour = EXTRACT(HOUR FROM {LOCAL})::int"
        )
        return
    # SQLite keeps no time zones: the stored naive UTC times, converted here.
    rows = bind.execute(sa.text("SELECT id, start_at FROM appointments")).all()
    filled = []
    for ident, start_at in rows:
        at = start_at if isinstance(start_at, datetime) else datetime.fromisoformat(start_at)
        local = at.replace(tzinfo=UTC).astimezone(BERLIN)
        month = local.year * 100 + local.month
        filled.append({"id": ident, "m": month, "w": local.weekday(), "h": local.hour})
    if filled:
        bind.execute(
            sa.text(
                "UPDATE appointments SET local_month = :m, local_weekday = :w, local_hour = :h"
                " WHERE id = :id"
            ),
            filled,
        )


def downgrade() -> None:
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_column("local_hour")
        batch_op.drop_column("local_weekday")
        batch_op.drop_column("local_month")
