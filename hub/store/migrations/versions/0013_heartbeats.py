"""the fleet view: each appliance's last heartbeat, one row per device (no history)

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "device_heartbeats",
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.String(length=40), nullable=False),
        sa.Column("uptime_s", sa.BigInteger(), nullable=False),
        sa.Column("cpu_temp_c", sa.Float(), nullable=True),
        sa.Column("load", sa.Float(), nullable=False),
        sa.Column("disk_free_mb", sa.BigInteger(), nullable=False),
        sa.Column("camera", sa.String(length=8), nullable=False),
        sa.Column("microphone", sa.String(length=8), nullable=False),
        sa.Column("speaker", sa.String(length=8), nullable=False),
        sa.Column("scanner", sa.String(length=8), nullable=False),
        sa.Column("rtt_ms", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["devices.id"],
            name=op.f("fk_device_heartbeats_device_id_devices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("device_id", name=op.f("pk_device_heartbeats")),
    )


def downgrade() -> None:
    op.drop_table("device_heartbeats")
