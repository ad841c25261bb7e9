"""Fees in the catalogue: the seed's sample fees, editing them through hub.operations.fees, the
`buergeramt services fee…` commands, and migration 0009 on a database that held services."""

import pytest
from sqlalchemy import select

from hub.booking.fees import FeeItem
from hub.operations.catalogue import CatalogueError
from hub.operations.fees import list_fee_items, remove_fee_item, set_fee_item, set_fee_items
from hub.store import Store
from hub.store.migrate import downgrade, upgrade
from hub.store.models import FeeItemRow
from hub.store.seed import seed_defaults
from tests.integration.test_cli import run

COPY = FeeItem("abschrift", "Abschrift", "Copy", "Abschrift", 250, "KZ-77", "1.1220.111000", True)


def test_the_seed_prices_a_certificate_at_13_euros(store):
    (item,) = list_fee_items(store, "fuehrungszeugnis")
    assert (item.amount_cents, item.label_de, item.purpose) == (
        1300,
        "Führungszeugnis",
        "Fuehrungszeugnis",
    )
    assert item.variable_quantity
    assert list_fee_items(store, "anmeldung") == ()


def test_items_are_added_changed_and_removed_in_their_order(store):
    set_fee_item(store, "meldebescheinigung", COPY)
    codes = [i.code for i in list_fee_items(store, "meldebescheinigung")]
    assert codes == ["meldebescheinigung", "abschrift"]
    cheaper = FeeItem("meldebescheinigung", "Meldebescheinigung", "", "Meldebescheinigung", 800)
    set_fee_item(store, "meldebescheinigung", cheaper)
    items = list_fee_items(store, "meldebescheinigung")
    assert [(i.code, i.amount_cents) for i in items] == [
        ("meldebescheinigung", 800),
        ("abschrift", 250),
    ]
    assert items[1] == COPY
    remove_fee_item(store, "meldebescheinigung", "meldebescheinigung")
    assert list_fee_items(store, "meldebescheinigung") == (COPY,)


def test_refusals_name_what_is_wrong_and_change_nothing(store):
    before = list_fee_items(store, "meldebescheinigung")
    with pytest.raises(CatalogueError, match="no service"):
        set_fee_item(store, "nope", COPY)
    with pytest.raises(CatalogueError, match="own code") as caught:
        set_fee_items(store, "meldebescheinigung", [COPY, COPY])
    assert caught.value.field == "code"
    with pytest.raises(CatalogueError, match="no fee item"):
        remove_fee_item(store, "meldebescheinigung", "abschrift")
    assert list_fee_items(store, "meldebescheinigung") == before


def test_migration_0009_gives_existing_services_the_sample_fees(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    upgrade(url)
    store = Store(url)
    with store.transaction() as session:
        seed_defaults(session)
    downgrade(url, "0008")
    upgrade(url)
    with store.transaction() as session:
        rows = session.scalars(select(FeeItemRow).order_by(FeeItemRow.service_id)).all()
        assert [(r.service_id, r.amount_cents) for r in rows] == [
            ("bewohnerparkausweis", 12000),
            ("fuehrungszeugnis", 1300),
            ("meldebescheinigung", 1000),
            ("melderegisterauskunft", 1000),
        ]
    store.dispose()


def test_the_command_line_lists_and_edits_fees(tmp_path):
    assert run(tmp_path, "db", "upgrade").returncode == 0
    listing = run(tmp_path, "services", "fees", "fuehrungszeugnis")
    assert listing.returncode == 0, listing.stderr
    assert "13,00 €" in listing.stdout and "variable" in listing.stdout
    added = run(
        tmp_path,
        *("services", "fee-set", "meldebescheinigung", "abschrift"),
        *("--label", "Abschrift", "--purpose", "Abschrift", "--amount-cents", "250"),
        *("--kassenzeichen", "KZ-77", "--variable-quantity"),
    )
    assert added.returncode == 0, added.stderr
    listing = run(tmp_path, "services", "fees", "meldebescheinigung").stdout
    assert "2,50 €" in listing and "KZ KZ-77" in listing
    too_long = run(
        tmp_path,
        *("services", "fee-set", "meldebescheinigung", "abschrift"),
        *("--label", "Abschrift", "--purpose", "Abschrift einer Meldebescheinigung"),
        *("--amount-cents", "250"),
    )
    assert too_long.returncode != 0 and "--purpose" in too_long.stderr
    assert "Traceback" not in too_long.stderr
    removed = run(tmp_path, "services", "fee-remove", "meldebescheinigung", "abschrift")
    assert removed.returncode == 0, removed.stderr
    assert "2,50 €" not in run(tmp_path, "services", "fees", "meldebescheinigung").stdout
    unknown = run(tmp_path, "services", "fees", "nope")
    assert unknown.returncode != 0 and "no service with id 'nope'" in unknown.stderr
