"""payment requests: a clerk's request that the citizen pay fees, followed until final

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "payment_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("appointment_id", sa.Uuid(), nullable=False),
        sa.Column("request_id", sa.String(length=36), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("total_cents", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=27), nullable=False),
        sa.Column("redirect_url", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("transaction_id", sa.String(length=64), nullable=True),
        sa.Column("pay_url", sa.Text(), nullable=True),
        sa.Column("provider_state", sa.String(length=12), nullable=True),
        sa.Column("clerk_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("final_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paid_after_final_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "state IN ('requested', 'pending', 'paid', 'failed', 'cancelled', 'expired')",
            name=op.f("ck_payment_requests_state"),
        ),
        sa.CheckConstraint(
            "total_cents BETWEEN 0 AND 999999", name=op.f("ck_payment_requests_total")
        ),
        sa.CheckConstraint(
            "(final_at IS NULL) = (state IN ('requested', 'pending'))",
            name=op.f("ck_payment_requests_final_at"),
        ),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_payment_requests_appointment_id_appointments"),
        ),
        sa.ForeignKeyConstraint(
            ["clerk_id"], ["users.id"], name=op.f("fk_payment_requests_clerk_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_requests")),
        sa.UniqueConstraint("request_id", name=op.f("uq_payment_requests_request_id")),
    )
    op.create_index(
        op.f("ix_payment_requests_appointment_id"), "payment_requests", ["appointment_id"]
    )
    op.create_index("ix_payment_requests_state", "payment_requests", ["state"])


def downgrade() -> None:
    op.drop_index("ix_payment_requests_state", table_name="payment_requests")
    op.drop_index(op.f("ix_payment_requests_appointment_id"), table_name="payment_requests")
    op.drop_table("payment_requests")
