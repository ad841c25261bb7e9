"""fee items: what a service costs, per item, with the cash office's booking keys

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30

Filled with the sample fees for the services of the seed that exist already (SEED_FEES).
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    fee_items = op.create_table(
        "fee_items",
        sa.Column("service_id", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("label_de", sa.String(length=100), nullable=False),
        sa.Column("label_en", sa.String(length=100), nullable=False),
        sa.Column("purpose", sa.String(length=27), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("kassenzeichen", sa.String(length=36), nullable=False),
        sa.Column("haushaltsstelle", sa.String(length=36), nullable=False),
        sa.Column("variable_quantity", sa.Boolean(), nullable=False),
        sa.CheckConstraint("amount_cents BETWEEN 0 AND 999999", name=op.f("ck_fee_items_amount")),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["services.id"],
            name=op.f("fk_fee_items_service_id_services"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("service_id", "code", name=op.f("pk_fee_items")),
    )
    # The sample fees, frozen here as they were at this revision (the seed may change later).
    services = sa.table("services", sa.column("id", sa.String))
    existing = {row.id for row in op.get_bind().execute(sa.select(services.c.id))}
    rows = [
        {"service_id": service_id, "position": n, **item}
        for service_id, items in SAMPLE.items()
        if service_id in existing
        for n, item in enumerate(items)
    ]
    if rows:
        op.bulk_insert(fee_items, rows)


def downgrade() -> None:
    op.drop_table("fee_items")


def _item(code, label_de, label_en, purpose, cents, haushaltsstelle, variable):
    return {
        "code": code,
        "label_de": label_de,
        "label_en": label_en,
        "purpose": purpose,
        "amount_cents": cents,
        "kassenzeichen": "",
        "haushaltsstelle": haushaltsstelle,
        "variable_quantity": variable,
    }


SAMPLE = {
    "meldebescheinigung": [
        _item(
            "meldebescheinigung",
            "Meldebescheinigung",
            "Registration certificate",
            "Meldebescheinigung",
            1000,
            "1.1220.111000",
            True,
        )
    ],
    "melderegisterauskunft": [
        _item(
            "auskunft",
            "Einfache Melderegisterauskunft",
            "Simple register information",
            "Melderegisterauskunft",
            1000,
            "1.1220.111000",
            True,
        )
    ],
    "fuehrungszeugnis": [
        _item(
            "fuehrungszeugnis",
            "Führungszeugnis",
            "Certificate of good conduct",
            "Fuehrungszeugnis",
            1300,
            "1.1220.361000",
            True,
        )
    ],
    "bewohnerparkausweis": [
        _item(
            "bewohnerparken",
            "Bewohnerparkausweis (1 Jahr)",
            "Residents' parking permit (1 year)",
            "Bewohnerparkausweis 1 Jahr",
            12000,
            "1.1220.431100",
            False,
        )
    ],
}
