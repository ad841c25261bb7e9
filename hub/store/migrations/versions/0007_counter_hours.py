"""counters: own weekly hours, date exceptions, taking bookings without an appliance

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02

From this revision on, a counter takes bookings only while an unrevoked appliance is enrolled
for it, unless `without_appliance` is set (`buergeramt counters activate N --without-appliance`).
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("counters", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("without_appliance", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.create_table(
        "counter_hours",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("counter_id", sa.Integer(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("opens_minute", sa.Integer(), nullable=False),
        sa.Column("closes_minute", sa.Integer(), nullable=False),
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name=op.f("ck_counter_hours_weekday")),
        sa.CheckConstraint(
            "opens_minute >= 0 AND closes_minute <= 1440 AND opens_minute < closes_minute",
            name=op.f("ck_counter_hours_minutes"),
        ),
        sa.ForeignKeyConstraint(
            ["counter_id"],
            ["counters.id"],
            name=op.f("fk_counter_hours_counter_id_counters"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_counter_hours")),
    )
    op.create_index(
        op.f("ix_counter_hours_counter_id"), "counter_hours", ["counter_id"], unique=False
    )
    op.create_table(
        "counter_exceptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("counter_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("opens_minute", sa.Integer(), nullable=True),
        sa.Column("closes_minute", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.CheckConstraint(
            "(opens_minute IS NULL AND closes_minute IS NULL) OR (opens_minute >= 0"
            " AND closes_minute <= 1440 AND opens_minute < closes_minute)",
            name=op.f("ck_counter_exceptions_minutes"),
        ),
        sa.ForeignKeyConstraint(
            ["counter_id"],
            ["counters.id"],
            name=op.f("fk_counter_exceptions_counter_id_counters"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_counter_exceptions")),
    )
    op.create_index(
        op.f("ix_counter_exceptions_counter_id"),
        "counter_exceptions",
        ["counter_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_counter_exceptions_counter_id"), table_name="counter_exceptions")
    op.drop_table("counter_exceptions")
    op.drop_index(op.f("ix_counter_hours_counter_id"), table_name="counter_hours")
    op.drop_table("counter_hours")
    with op.batch_alter_table("counters", schema=None) as batch_op:
        batch_op.drop_column("without_appliance")
