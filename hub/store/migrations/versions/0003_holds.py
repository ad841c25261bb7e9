"""holds: appointments kept for confirmation by e-mail

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("hold_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.drop_constraint(op.f("ck_appointments_status"), type_="check")
        batch_op.create_check_constraint(
            "status", "status IN ('held', 'booked', 'cancelled', 'released')"
        )
        batch_op.create_index("ix_appointments_hold_until", ["hold_until"], unique=False)


def downgrade() -> None:
    op.execute("UPDATE appointments SET status = 'cancelled' WHERE status IN ('held', 'released')")
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_index("ix_appointments_hold_until")
        batch_op.drop_constraint(op.f("ck_appointments_status"), type_="check")
        batch_op.create_check_constraint("status", "status IN ('booked', 'cancelled')")
        batch_op.drop_column("hold_until")
