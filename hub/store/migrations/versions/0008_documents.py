"""documents: files of appointments, uploads under way, encrypted chunks, the access log

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30

`document_chunks` holds the encrypted records of documents and of uploads' parts when
`documents_storage = "database"`; with the folder storage it stays empty.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "document_chunks",
        sa.Column("blob_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("blob_id", "seq", name=op.f("pk_document_chunks")),
    )
    op.create_table(
        "document_access",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Uuid(), nullable=False),
        sa.Column("document_id", sa.Uuid(), nullable=True),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "action IN ('upload', 'view', 'download', 'review', 'delete')",
            name=op.f("ck_document_access_action"),
        ),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_document_access_appointment_id_appointments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_access")),
    )
    with op.batch_alter_table("document_access", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_document_access_appointment_id"), ["appointment_id"], unique=False
        )

    op.create_table(
        "document_uploads",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("appointment_id", sa.Uuid(), nullable=False),
        sa.Column("item", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("sender", sa.String(length=8), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("received", sa.BigInteger(), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(length=64), nullable=False),
        sa.Column("storage", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "sender IN ('citizen', 'clerk')", name=op.f("ck_document_uploads_sender")
        ),
        sa.CheckConstraint(
            "storage IN ('database', 'folder')", name=op.f("ck_document_uploads_storage")
        ),
        sa.CheckConstraint(
            "received >= 0 AND received <= size", name=op.f("ck_document_uploads_received")
        ),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_document_uploads_appointment_id_appointments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_uploads")),
    )
    with op.batch_alter_table("document_uploads", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_document_uploads_appointment_id"), ["appointment_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_document_uploads_expires_at"), ["expires_at"], unique=False
        )

    op.create_table(
        "documents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("appointment_id", sa.Uuid(), nullable=False),
        sa.Column("item", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("media_type", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sender", sa.String(length=8), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("wrapped_key", sa.LargeBinary(length=64), nullable=False),
        sa.Column("storage", sa.String(length=8), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.CheckConstraint("sender IN ('citizen', 'clerk')", name=op.f("ck_documents_sender")),
        sa.CheckConstraint(
            "state IN ('uploaded', 'accepted', 'again')", name=op.f("ck_documents_state")
        ),
        sa.CheckConstraint("storage IN ('database', 'folder')", name=op.f("ck_documents_storage")),
        sa.CheckConstraint("size >= 0 AND records >= 1", name=op.f("ck_documents_size")),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_documents_appointment_id_appointments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documents")),
    )
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_documents_appointment_id"), ["appointment_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_documents_appointment_id"))

    op.drop_table("documents")
    with op.batch_alter_table("document_uploads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_document_uploads_expires_at"))
        batch_op.drop_index(batch_op.f("ix_document_uploads_appointment_id"))

    op.drop_table("document_uploads")
    with op.batch_alter_table("document_access", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_document_access_appointment_id"))

    op.drop_table("document_access")
    op.drop_table("document_chunks")
