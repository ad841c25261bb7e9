"""The `buergeramt` command line as an IT admin uses it."""

import os
import shutil
import subprocess
import sys

import pytest
from sqlalchemy import select

from hub.store import Store
from hub.store.models import ClosureRow, CounterRow, ServiceRow
from hub.store.seed import seed_defaults


def run(tmp_path, *args, env=None):
    full_env = {**os.environ, "BUERGERAMT_DATA_DIR": str(tmp_path), **(env or {})}
    full_env.pop("BUERGERAMT_CONFIG_FILE", None)
    return subprocess.run(
        [sys.executable, "-c", "from hub.cli import main; main()", *args],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def sqlite_store(tmp_path):
    return Store(f"sqlite:///{tmp_path / 'buergeramt.sqlite3'}")


def snapshot(store):
    with store.transaction() as session:
        return [
            [
                tuple(getattr(r, c.key) for c in model.__table__.columns)
                for r in session.scalars(select(model))
            ]
            for model in (ServiceRow, CounterRow, ClosureRow)
        ]


def test_db_upgrade_seeds_once_and_admin_commands_change_the_catalogue(tmp_path):
    first = run(tmp_path, "db", "upgrade")
    assert first.returncode == 0, first.stderr
    assert "seeded default data" in first.stdout
    again = run(tmp_path, "db", "upgrade")
    assert "data present, not seeded" in again.stdout

    assert (
        run(
            tmp_path,
            "services",
            "set",
            "fuehrungszeugnis",
            "--fee-cents",
            "1300",
            "--duration",
            "15",
        ).returncode
        == 0
    )
    assert run(tmp_path, "counters", "add", "Schalter 3").returncode == 0
    closure = run(
        tmp_path,
        "closures",
        "add",
        "--from",
        "2026-12-24",
        "--to",
        "2026-12-31",
        "--reason",
        "Jahreswechsel",
    )
    assert closure.returncode == 0, closure.stderr
    listing = run(tmp_path, "services", "list").stdout
    assert "fuehrungszeugnis" in listing and "13.00 EUR" in listing

    store = sqlite_store(tmp_path)
    with store.transaction() as session:
        assert session.get(ServiceRow, "fuehrungszeugnis").duration_minutes == 15
        assert len(session.scalars(select(CounterRow)).all()) == 3
        closures = session.scalars(select(ClosureRow)).all()
        assert [(c.first_day.isoformat(), c.last_day.isoformat()) for c in closures] == [
            ("2026-12-24", "2026-12-31")
        ]
    store.dispose()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["services", "set", "nope", "--fee-cents", "5"], "no service with id 'nope'"),
        (["services", "set", "anmeldung", "--duration", "7"], "multiples of 5"),
        (["services", "set", "anmeldung", "--fee-cents", "-1"], "--fee-cents"),
        (["counters", "add", "Schalter 1"], "exists already"),
        (["counters", "add", "X", "--schedule", "Nacht"], "no schedule named 'Nacht'"),
        (["closures", "add", "--from", "2026-12-24", "--to", "2026-12-01"], "before --from"),
        (["closures", "add", "--from", "24.12.2026"], "--from"),
    ],
)
def test_bad_arguments_get_clear_errors_and_change_nothing(tmp_path, sqlite_template, args, needle):
    shutil.copy(sqlite_template, tmp_path / "buergeramt.sqlite3")
    store = sqlite_store(tmp_path)
    with store.transaction() as session:
        seed_defaults(session)
    before = snapshot(store)
    result = run(tmp_path, *args)
    assert result.returncode != 0
    assert needle in result.stderr
    assert "Traceback" not in result.stderr
    assert snapshot(store) == before
    store.dispose()


def test_bad_configuration_exits_2_with_the_setting_named(tmp_path):
    result = run(tmp_path, "db", "upgrade", env={"BUERGERAMT_BOOKING_HORIZON_DAYS": "many"})
    assert result.returncode == 2
    assert "booking_horizon_days" in result.stderr
    assert "Traceback" not in result.stderr


def test_hub_refuses_to_serve_an_unmigrated_database(tmp_path):
    (tmp_path / "buergeramt.sqlite3").touch()
    result = run(tmp_path, "hub", "--port", "1")
    assert result.returncode != 0
    assert "buergeramt db upgrade" in result.stderr


def test_devices_and_clerks_are_managed_from_the_command_line(tmp_path):
    from hub.booking.tokens import hash_token
    from hub.operations.accounts import authenticate_device, sign_in
    from hub.store.models import DeviceRow, UserRow

    assert run(tmp_path, "db", "upgrade").returncode == 0
    added = run(tmp_path, "devices", "add", "--counter", "1", "--name", "Schalter 1 Pi")
    assert added.returncode == 0, added.stderr
    credential = added.stdout.strip().splitlines()[-1]
    store = sqlite_store(tmp_path)
    with store.transaction() as session:
        device = session.scalars(select(DeviceRow)).one()
        assert device.credential_hash == hash_token(credential)  # only the hash is kept
        assert credential not in device.credential_hash
    assert authenticate_device(store, credential).counter_id == 1
    assert "Schalter 1 Pi" in run(tmp_path, "devices", "list").stdout

    ok = run(
        tmp_path, "users", "add", "schmidt", "--name", "Frau Schmidt", "--password", "geheim-123"
    )
    assert ok.returncode == 0, ok.stderr
    with store.transaction() as session:
        user = session.scalars(select(UserRow)).one()
        assert user.password_hash.startswith("$argon2id$")
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    assert sign_in(store, device.id, "Schmidt", "geheim-123", now, timedelta(hours=1))
    assert sign_in(store, device.id, "schmidt", "geheim-124", now, timedelta(hours=1)) is None

    assert run(tmp_path, "devices", "revoke", str(device.id)).returncode == 0
    assert authenticate_device(store, credential) is None
    assert "revoked" in run(tmp_path, "devices", "list").stdout
    store.dispose()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["devices", "add", "--counter", "99"], "no counter with id 99"),
        (["devices", "add", "--counter", "eins"], "is not a valid integer"),
        (["devices", "revoke", "42"], "no device with id 42"),
        (["users", "add", "x", "--password", "kurz"], "at least 8 characters"),
        (["users", "add", "a b", "--password", "lang-genug"], "username"),
        (["users", "add", "y", "--role", "boss", "--password", "lang-genug"], "'boss'"),
    ],
)
def test_bad_device_and_user_commands_say_what_is_wrong(tmp_path, args, message):
    assert run(tmp_path, "db", "upgrade").returncode == 0
    result = run(tmp_path, *args)
    assert result.returncode != 0
    assert message in result.stderr


def test_a_user_name_is_taken_once(tmp_path):
    assert run(tmp_path, "db", "upgrade").returncode == 0
    assert run(tmp_path, "users", "add", "weber", "--password", "lang-genug").returncode == 0
    again = run(tmp_path, "users", "add", "Weber", "--password", "lang-genug")
    assert again.returncode == 1 and "exists already" in again.stderr


def test_documents_rewrap_keys_makes_files_readable_after_the_secret_changed(tmp_path):
    """IT changed secret_key: `buergeramt documents rewrap-keys` with the old secret (from the
    environment, never the command line) makes the stored files readable again; a wrong old
    secret is said plainly and changes nothing."""
    from datetime import timedelta

    from hub.booking.rules import BookingPolicy
    from hub.config import Settings
    from hub.operations import documents as files
    from hub.operations.booking import BookingRequest, book
    from tests.support.document_files import large_pdf
    from tests.support.environment import MONDAY_EARLY, berlin

    assert run(tmp_path, "db", "upgrade").returncode == 0
    store = sqlite_store(tmp_path)
    with store.transaction() as session:  # no appliance enrolled here: take bookings anyway
        for counter in session.scalars(select(CounterRow)):
            counter.without_appliance = True
    files.configure(store, Settings(data_dir=tmp_path, secret_key="old secret"))
    policy = BookingPolicy(timedelta(0), timedelta(days=56), timedelta(minutes=15))
    request = BookingRequest("anmeldung", berlin(2026, 3, 2, 9, 0), "Erika", "e@example.org")
    appointment = book(store, policy, MONDAY_EARLY, request).appointment.id
    source = large_pdf(tmp_path / "bescheinigung.pdf", 50_000)
    document = files.add_file(
        store,
        appointment,
        source,
        name="b.pdf",
        item=None,
        sender="clerk",
        actor="clerk:1",
        now=MONDAY_EARLY,
    )
    new = {"BUERGERAMT_SECRET_KEY": "new secret"}
    wrong = run(tmp_path, "documents", "rewrap-keys", env={**new, "BUERGERAMT_OLD_SECRET_KEY": "x"})
    assert wrong.returncode == 1 and "nothing was changed" in wrong.stderr
    done = run(
        tmp_path, "documents", "rewrap-keys", env={**new, "BUERGERAMT_OLD_SECRET_KEY": "old secret"}
    )
    assert done.returncode == 0, done.stderr
    assert "1 keys re-wrapped" in done.stdout
    files.configure(store, Settings(data_dir=tmp_path, secret_key="new secret"))
    _, chunks = files.open_document(
        store, appointment, document.id, actor="clerk:1", now=MONDAY_EARLY
    )
    assert b"".join(chunks).startswith(b"%PDF")


def test_users_password_and_disable_work_as_the_people_page_and_are_audited(tmp_path):
    from datetime import UTC, datetime

    from hub.operations.audit import entries
    from hub.operations.staff import list_staff

    assert run(tmp_path, "db", "upgrade").returncode == 0
    made = run(tmp_path, "users", "add", "it.mayer", "--role", "it", "--password", "lang-genug")
    assert made.returncode == 0, made.stderr
    store = sqlite_store(tmp_path)
    try:
        done = run(tmp_path, "users", "password", "IT.Mayer", "--password", "noch-laenger")
        assert done.returncode == 0, done.stderr
        assert "second factor is set up at the next sign-in" in done.stdout
        assert run(tmp_path, "users", "disable", "it.mayer").returncode == 0
        (person,) = list_staff(store)
        assert (person.role, person.active, person.has_totp) == ("it", False, False)
        assert run(tmp_path, "users", "disable", "it.mayer", "--enable").returncode == 0
        assert list_staff(store)[0].active
        missing = run(tmp_path, "users", "password", "niemand", "--password", "noch-laenger")
        assert missing.returncode == 1 and "no user 'niemand'" in missing.stderr
        listed, _ = entries(store)
        assert [e.action for e in listed] == [
            "staff.enable", "staff.disable", "staff.reset", "staff.create"
        ]  # fmt: skip
        assert all(e.actor.startswith("cli:") for e in listed)
        assert all(e.at <= datetime.now(UTC) for e in listed)
    finally:
        store.dispose()
