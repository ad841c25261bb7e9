"""updates: a ring per device (canary first), the log lines an appliance sends on request

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("devices") as batch:
        batch.add_column(
            sa.Column("ring", sa.String(length=16), nullable=False, server_default="general")
        )
    with op.batch_alter_table("remote_actions") as batch:
        batch.add_column(sa.Column("output", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("remote_actions") as batch:
        batch.drop_column("output")
    with op.batch_alter_table("devices") as batch:
        batch.drop_column("ring")
