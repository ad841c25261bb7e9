"""which counters offer a service (none listed: every counter), and public holidays a schedule
keeps open (the office works on a holiday of its state that the city does not observe)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "service_counters",
        sa.Column(
            "service_id",
            sa.String(length=64),
            sa.ForeignKey("services.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "counter_id",
            sa.Integer(),
            sa.ForeignKey("counters.id", ondelete="CASCADE"),
            primary_key=True,
        ),
    )
    op.create_table(
        "holiday_openings",
        sa.Column(
            "schedule_id",
            sa.Integer(),
            sa.ForeignKey("schedules.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("day", sa.Date(), primary_key=True),
    )


def downgrade() -> None:
    op.drop_table("holiday_openings")
    op.drop_table("service_counters")
