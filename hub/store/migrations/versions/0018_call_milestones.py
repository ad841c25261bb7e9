"""calls keep their milestones for the statistics (issue 18, point 5): when the citizen was
admitted, when media first flowed, when the call ended, and how often a connection was lost;
filled for the calls so far from their call_events

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def _first(event: str) -> str:
    return (
        "(SELECT MIN(e.at) FROM call_events e"
        f" WHERE e.appointment_id = calls.appointment_id AND e.event = '{event}')"
    )


def upgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("admitted_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("connected_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("interruptions", sa.Integer(), nullable=False, server_default="0")
        )
    op.execute(
        f"UPDATE calls SET admitted_at = {_first('admit')}, connected_at = {_first('connected')},"
        f" ended_at = {_first('end')}, interruptions = (SELECT COUNT(*) FROM call_events e"
        " WHERE e.appointment_id = calls.appointment_id AND e.event = 'lost')"
    )


def downgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_column("interruptions")
        batch_op.drop_column("ended_at")
        batch_op.drop_column("connected_at")
        batch_op.drop_column("admitted_at")
