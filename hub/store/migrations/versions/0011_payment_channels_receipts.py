"""payments by mail and receipts: a request's channel (call or pay-later mail), its receipt
document, and the payment request a mail is about

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("payment_requests") as batch:
        batch.add_column(
            sa.Column("channel", sa.String(length=8), nullable=False, server_default="call")
        )
        batch.add_column(sa.Column("receipt_document_id", sa.Uuid(), nullable=True))
        batch.create_check_constraint(
            op.f("ck_payment_requests_channel"), "channel IN ('call', 'mail')"
        )
    with op.batch_alter_table("mails") as batch:
        batch.add_column(sa.Column("payment_id", sa.Uuid(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_mails_payment_id_payment_requests"),
            "payment_requests",
            ["payment_id"],
            ["id"],
            ondelete="CASCADE",
        )


def downgrade() -> None:
    with op.batch_alter_table("mails") as batch:
        batch.drop_constraint(op.f("fk_mails_payment_id_payment_requests"), type_="foreignkey")
        batch.drop_column("payment_id")
    with op.batch_alter_table("payment_requests") as batch:
        batch.drop_constraint(op.f("ck_payment_requests_channel"), type_="check")
        batch.drop_column("receipt_document_id")
        batch.drop_column("channel")
