"""calls note whether their media went through the TURN server (the statistics' relayed share);
NULL for the calls so far, which nobody reported

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("relayed", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_column("relayed")
