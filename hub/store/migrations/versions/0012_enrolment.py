"""enrolment over the network: enrolment tokens, appliances' own keys (pending, approved,
revoked), the nonces of enrolment requests seen and the challenges handed out

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "enrolment_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("batch", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("uses_left", sa.Integer(), nullable=True),
        sa.Column("counter_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "uses_left IS NULL OR uses_left >= 0", name=op.f("ck_enrolment_tokens_uses")
        ),
        sa.ForeignKeyConstraint(
            ["counter_id"],
            ["counters.id"],
            name=op.f("fk_enrolment_tokens_counter_id_counters"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrolment_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_enrolment_tokens_token_hash")),
    )
    op.create_table(
        "device_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_key", sa.String(length=44), nullable=False),
        sa.Column("fingerprint", sa.String(length=39), nullable=False),
        sa.Column("claim_code", sa.String(length=7), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("hostname", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("enrolled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approved_by", sa.String(length=100), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("token_id", sa.Integer(), nullable=True),
        sa.Column("device_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "state IN ('pending', 'approved', 'revoked')", name=op.f("ck_device_keys_state")
        ),
        sa.CheckConstraint(
            "state = 'revoked' OR (device_id IS NULL) = (state = 'pending')",
            name=op.f("ck_device_keys_device"),
        ),
        sa.ForeignKeyConstraint(
            ["token_id"],
            ["enrolment_tokens.id"],
            name=op.f("fk_device_keys_token_id_enrolment_tokens"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["devices.id"],
            name=op.f("fk_device_keys_device_id_devices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_keys")),
        sa.UniqueConstraint("public_key", name=op.f("uq_device_keys_public_key")),
        sa.UniqueConstraint("device_id", name=op.f("uq_device_keys_device_id")),
    )
    op.create_index(op.f("ix_device_keys_claim_code"), "device_keys", ["claim_code"])
    op.create_table(
        "device_nonces",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_device_nonces")),
    )
    op.create_index(op.f("ix_device_nonces_seen_at"), "device_nonces", ["seen_at"])
    op.create_table(
        "device_challenges",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["key_id"],
            ["device_keys.id"],
            name=op.f("fk_device_challenges_key_id_device_keys"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_device_challenges")),
    )
    op.create_index(op.f("ix_device_challenges_key_id"), "device_challenges", ["key_id"])
    op.create_index(op.f("ix_device_challenges_expires_at"), "device_challenges", ["expires_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_device_challenges_expires_at"), table_name="device_challenges")
    op.drop_index(op.f("ix_device_challenges_key_id"), table_name="device_challenges")
    op.drop_table("device_challenges")
    op.drop_index(op.f("ix_device_nonces_seen_at"), table_name="device_nonces")
    op.drop_table("device_nonces")
    op.drop_index(op.f("ix_device_keys_claim_code"), table_name="device_keys")
    op.drop_table("device_keys")
    op.drop_table("enrolment_tokens")
