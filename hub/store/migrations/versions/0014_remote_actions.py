"""remote actions IT asks of an appliance: restart, reboot, identify, settings

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "remote_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("arguments", sa.JSON(), nullable=False),
        sa.Column("force", sa.Boolean(), nullable=False),
        sa.Column("requested_by", sa.String(length=120), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("result", sa.String(length=200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["devices.id"],
            name=op.f("fk_remote_actions_device_id_devices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_remote_actions")),
    )
    op.create_index(op.f("ix_remote_actions_device_id"), "remote_actions", ["device_id"])
    op.create_index(op.f("ix_remote_actions_state"), "remote_actions", ["state"])


def downgrade() -> None:
    op.drop_index(op.f("ix_remote_actions_state"), table_name="remote_actions")
    op.drop_index(op.f("ix_remote_actions_device_id"), table_name="remote_actions")
    op.drop_table("remote_actions")
