"""Documents of an appointment through hub.operations.documents, on SQLite and PostgreSQL and
with both storages: uploads in chunks, refusals that keep nothing, reading back, the checklist,
access, retention."""

from __future__ import annotations

import io
import itertools
import logging
import uuid
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from sqlalchemy import func, select

from hub.booking.rules import BookingPolicy
from hub.documents import crypto
from hub.documents.kinds import MB, Limits
from hub.jobs import runner
from hub.operations import documents as ops
from hub.operations.booking import BookingRequest, book
from hub.store import Store
from hub.store.models import (
    AppointmentRow,
    DocumentAccessRow,
    DocumentChunkRow,
    DocumentRow,
    DocumentUploadRow,
)
from tests.support.document_files import (
    EICAR,
    GPS_IFD,
    clamd,  # noqa: F401 - the fixture
    jpeg_bytes,
    pdf_with_everything_active,
    photo_with_gps,
)
from tests.support.environment import MONDAY_EARLY, berlin

POLICY = BookingPolicy(timedelta(0), timedelta(days=56), timedelta(minutes=15))
NOW = MONDAY_EARLY
CLERK = "clerk:7"


def configured(store: Store, tmp_path: Path, storage: str, **changes) -> ops.DocumentConfig:
    config = ops.DocumentConfig(
        limits=Limits(),
        storage=storage,
        folder=tmp_path / "documents",
        work=tmp_path / "work",
        wrapping=crypto.wrapping_key("test secret"),
    )
    return ops.configure(store, replace(config, **changes))


@pytest.fixture(params=["database", "folder"])
def docs(request, store: Store, tmp_path: Path) -> Store:
    """The seeded database (SQLite or PostgreSQL) with documents in `storage`."""
    configured(store, tmp_path, request.param)
    return store


def appointment(store: Store, hour: int = 9, service: str = "anmeldung") -> uuid.UUID:
    """A booked appointment on Monday 2 March 2026 (An- und Ummeldung: two checklist items)."""
    request = BookingRequest(service, berlin(2026, 3, 2, hour, 0), "Erika", "erika@example.org")
    return book(store, POLICY, NOW, request).appointment.id


def upload(
    store, appointment_id, data: bytes, *, name="scan.jpg", item=None, chunk=100_000, now=NOW
):
    """Upload `data` in chunks and finish it, as the citizen's page does."""
    state = ops.begin_upload(
        store, appointment_id, name=name, size=len(data), item=item, sender="citizen", now=now
    )
    for offset in range(0, len(data), chunk):
        state = ops.append(
            store, appointment_id, state.id, offset, data[offset : offset + chunk], now
        )
    return ops.finish(store, appointment_id, state.id, actor="citizen", now=now)


def read(store, appointment_id, document_id, actor="citizen") -> bytes:
    _document, chunks = ops.open_document(store, appointment_id, document_id, actor=actor, now=NOW)
    return b"".join(chunks)


def count(store: Store, row) -> int:
    with store.engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(row.__table__))


def stored_files(store: Store) -> list[Path]:
    folder = ops.config_of(store).folder
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def nothing_kept(store: Store) -> None:
    assert count(store, DocumentRow) == 0
    assert count(store, DocumentUploadRow) == 0
    assert count(store, DocumentChunkRow) == 0
    assert stored_files(store) == []
    work = ops.config_of(store).work
    assert not work.exists() or list(work.iterdir()) == []


def test_a_phone_photo_is_kept_encrypted_without_gps_and_reads_back(docs, tmp_path):
    appt = appointment(docs)
    data = photo_with_gps(tmp_path / "IMG_0001.jpg").read_bytes()
    document = upload(docs, appt, data, name="IMG_0001.jpg", item=1, chunk=1000)
    assert (document.media_type, document.sender, document.state) == (
        "image/jpeg",
        "citizen",
        "uploaded",
    )
    assert document.item == 1 and document.name == "IMG_0001.jpg"
    assert ops.documents(docs, appt) == [document]
    content = read(docs, appt, document.id)
    assert len(content) == document.size
    with Image.open(io.BytesIO(content)) as image:
        assert image.size == (100, 200) and not image.getexif().get_ifd(GPS_IFD)
    # At rest only ciphertext: neither the JPEG's start nor its pixels' encoding are there.
    with docs.engine.connect() as conn:
        at_rest = b"".join(bytes(d) for d in conn.scalars(select(DocumentChunkRow.data)))
    at_rest += b"".join(p.read_bytes() for p in stored_files(docs))
    assert len(at_rest) > document.size and content[:64] not in at_rest
    nothing_left_of_the_upload = count(docs, DocumentUploadRow) == 0
    assert nothing_left_of_the_upload
    with docs.engine.connect() as conn:
        log = conn.execute(
            select(DocumentAccessRow.actor, DocumentAccessRow.action, DocumentAccessRow.detail)
        ).all()
    assert sorted((actor, action) for actor, action, _ in log) == [
        ("citizen", "download"),
        ("citizen", "upload"),
    ]
    assert not any("IMG_0001" in detail for *_, detail in log)  # the log outlives the name


def test_a_pdf_with_javascript_is_kept_without_it(docs, tmp_path):
    appt = appointment(docs)
    data = pdf_with_everything_active(tmp_path / "form.pdf").read_bytes()
    document = upload(docs, appt, data, name="Formular.pdf")
    content = read(docs, appt, document.id, actor=CLERK)
    assert document.media_type == "application/pdf" and content.startswith(b"%PDF-")
    assert b"app.alert" in data and b"app.alert" not in content and b"calc.exe" not in content


def test_a_program_renamed_to_pdf_is_refused_and_nothing_is_kept(docs):
    appt = appointment(docs)
    program = b"MZ\x90\x00\x03\x00\x00\x00" + bytes(2000)
    with pytest.raises(ops.DocumentRefused) as refused:
        upload(docs, appt, program, name="Bescheinigung.pdf")
    assert refused.value.code == "unsupported_type"
    nothing_kept(docs)


def test_a_21_mb_file_is_refused_before_a_byte_is_sent(docs, tmp_path):
    appt = appointment(docs)
    with pytest.raises(ops.DocumentRefused) as refused:
        ops.begin_upload(
            docs, appt, name="big.pdf", size=21 * MB, item=None, sender="citizen", now=NOW
        )
    assert refused.value.code == "too_large"
    big = tmp_path / "big.pdf"
    with big.open("wb") as file:
        file.truncate(21 * MB)
    with pytest.raises(ops.DocumentRefused) as refused:
        ops.add_file(
            docs, appt, big, name="big.pdf", item=None, sender="clerk", actor=CLERK, now=NOW
        )
    assert refused.value.code == "too_large"
    nothing_kept(docs)


def test_the_appointment_s_allowance_counts_kept_files_and_uploads_under_way(store, tmp_path):
    configured(store, tmp_path, "database", limits=Limits(max_file=4000, max_appointment=5000))
    appt = appointment(store)
    first = upload(store, appt, jpeg_bytes())
    ops.begin_upload(store, appt, name="a.jpg", size=3000, item=None, sender="citizen", now=NOW)
    with pytest.raises(ops.DocumentRefused) as refused:
        ops.begin_upload(
            store,
            appt,
            name="b.jpg",
            size=5000 - first.size - 2999,
            item=None,
            sender="citizen",
            now=NOW,
        )
    assert refused.value.code == "appointment_full"
    # The clerk's files do not use up the citizen's allowance.
    ops.begin_upload(store, appt, name="c.pdf", size=3000, item=None, sender="clerk", now=NOW)


def test_eicar_is_refused_by_clamd_and_its_signature_logged(store, tmp_path, clamd, caplog):  # noqa: F811
    configured(store, tmp_path, "folder", clamd=str(clamd.socket))
    appt = appointment(store)
    with caplog.at_level(logging.WARNING), pytest.raises(ops.DocumentRefused) as refused:
        upload(store, appt, EICAR, name="harmless.pdf")
    assert refused.value.code == "infected"
    assert "Test.EICAR" in caplog.text and EICAR.decode() not in caplog.text
    nothing_kept(store)
    # Hidden inside a real PDF, EICAR is found too; a clean file passes the same scanner.
    pdf = pdf_with_everything_active(tmp_path / "in.pdf").read_bytes()
    with pytest.raises(ops.DocumentRefused) as refused:
        upload(store, appt, pdf.replace(b"%%EOF", b"%" + EICAR + b"\n%%EOF"))
    assert refused.value.code == "infected"
    assert upload(store, appt, jpeg_bytes()).media_type == "image/jpeg"


def test_an_unreachable_scanner_refuses_rather_than_lets_through(store, tmp_path):
    configured(store, tmp_path, "database", clamd=str(tmp_path / "no-clamd.sock"))
    with pytest.raises(ops.DocumentRefused) as refused:
        upload(store, appointment(store), jpeg_bytes())
    assert refused.value.code == "scanner_unavailable"
    nothing_kept(store)


def test_a_truncated_upload_is_not_finished_and_expires_without_a_trace(docs):
    appt = appointment(docs)
    data = jpeg_bytes((300, 200))
    state = ops.begin_upload(
        docs, appt, name="a.jpg", size=len(data), item=None, sender="citizen", now=NOW
    )
    ops.append(docs, appt, state.id, 0, data[:500], NOW)
    with pytest.raises(ops.DocumentRefused) as refused:
        ops.finish(docs, appt, state.id, actor="citizen", now=NOW)
    assert (refused.value.code, refused.value.received) == ("bad_offset", 500)
    assert count(docs, DocumentRow) == 0
    later = NOW + timedelta(hours=25)
    with pytest.raises(ops.DocumentRefused) as refused:
        ops.append(docs, appt, state.id, 500, data[500:], later)
    assert refused.value.code == "unknown_upload"
    assert ops.forget_documents(docs, later, days=7) == 0
    nothing_kept(docs)


def test_a_cancelled_upload_keeps_nothing(docs):
    appt = appointment(docs)
    state = ops.begin_upload(
        docs, appt, name="a.jpg", size=1000, item=None, sender="citizen", now=NOW
    )
    ops.append(docs, appt, state.id, 0, b"\xff\xd8\xff" + bytes(500), NOW)
    ops.cancel(docs, appt, state.id)
    nothing_kept(docs)
    with pytest.raises(ops.DocumentRefused) as refused:
        ops.upload_state(docs, appt, state.id)
    assert refused.value.code == "unknown_upload"


def test_after_a_wrong_offset_the_upload_resumes_where_the_hub_stands(docs):
    appt = appointment(docs)
    data = jpeg_bytes((400, 300))
    state = ops.begin_upload(
        docs, appt, name="a.jpg", size=len(data), item=None, sender="citizen", now=NOW
    )
    ops.append(docs, appt, state.id, 0, data[:700], NOW)
    with pytest.raises(ops.DocumentRefused) as refused:
        ops.append(docs, appt, state.id, 1400, data[1400:], NOW)  # a chunk got lost
    assert (refused.value.code, refused.value.received) == ("bad_offset", 700)
    resume = ops.upload_state(docs, appt, state.id).received
    with pytest.raises(ops.DocumentRefused) as refused:
        ops.append(docs, appt, state.id, resume, data[resume:] + b"more", NOW)
    assert refused.value.code == "too_large"  # past the declared size
    assert ops.append(docs, appt, state.id, resume, data[resume:], NOW).received == len(data)
    document = ops.finish(docs, appt, state.id, actor="citizen", now=NOW)
    with Image.open(io.BytesIO(read(docs, appt, document.id))) as image:
        assert image.size == (400, 300)


def test_another_appointment_s_files_and_uploads_are_unknown_to_it(docs):
    mine, theirs = appointment(docs, 9), appointment(docs, 10)
    document = upload(docs, theirs, jpeg_bytes())
    state = ops.begin_upload(
        docs, theirs, name="a.jpg", size=10, item=None, sender="citizen", now=NOW
    )
    refusals = {
        "open": lambda: ops.open_document(docs, mine, document.id, actor="citizen", now=NOW),
        "review": lambda: ops.review(
            docs, mine, document.id, accepted=True, reason="", actor=CLERK, now=NOW
        ),
        "delete": lambda: ops.delete_document(docs, mine, document.id, actor=CLERK, now=NOW),
        "missing": lambda: ops.open_document(docs, theirs, uuid.uuid4(), actor="citizen", now=NOW),
        "append": lambda: ops.append(docs, mine, state.id, 0, b"x", NOW),
        "state": lambda: ops.upload_state(docs, mine, state.id),
        "finish": lambda: ops.finish(docs, mine, state.id, actor="citizen", now=NOW),
        "cancel": lambda: ops.cancel(docs, mine, state.id),
    }
    codes = {}
    for name, attempt in refusals.items():
        with pytest.raises(ops.DocumentRefused) as refused:
            attempt()
        codes[name] = refused.value.code
    assert {codes[n] for n in ("open", "review", "delete", "missing")} == {"unknown_document"}
    assert {codes[n] for n in ("append", "state", "finish", "cancel")} == {"unknown_upload"}
    assert ops.documents(docs, mine) == [] and len(ops.documents(docs, theirs)) == 1
    assert ops.upload_state(docs, theirs, state.id).received == 0


def test_the_checklist_follows_uploads_and_the_clerk_s_review(docs):
    appt, other = appointment(docs, 9), appointment(docs, 10)
    entries = ops.checklist(docs, appt)
    assert [(e.index, e.state) for e in entries] == [(0, "missing"), (1, "missing")]
    assert entries[1].name_de.startswith("Wohnungsgeberbestätigung")
    first = upload(docs, appt, jpeg_bytes(), item=1)
    assert ops.checklist(docs, appt)[1].state == "uploaded"
    with pytest.raises(ops.DocumentRefused) as refused:
        ops.review(docs, appt, first.id, accepted=False, reason="  ", actor=CLERK, now=NOW)
    assert refused.value.code == "reason_required"
    with pytest.raises(ops.DocumentRefused) as refused:
        ops.review(docs, appt, first.id, accepted=True, reason="", actor="citizen", now=NOW)
    assert refused.value.code == "not_allowed"
    again = ops.review(
        docs, appt, first.id, accepted=False, reason="Unterschrift fehlt", actor=CLERK, now=NOW
    )
    assert (again.state, again.reason) == ("again", "Unterschrift fehlt")
    entry = ops.checklist(docs, appt)[1]
    assert (entry.state, entry.reason, entry.document_ids) == (
        "again",
        "Unterschrift fehlt",
        (first.id,),
    )
    assert ops.completeness(docs, [appt, other]) == {appt: (0, 2), other: (0, 2)}
    second = upload(docs, appt, jpeg_bytes(), item=1)
    upload(docs, appt, jpeg_bytes(), item=0)
    assert ops.completeness(docs, [appt]) == {appt: (2, 2)}
    ops.review(docs, appt, second.id, accepted=True, reason="", actor=CLERK, now=NOW)
    assert [e.state for e in ops.checklist(docs, appt)] == ["uploaded", "accepted"]
    with pytest.raises(ops.DocumentRefused) as refused:
        ops.delete_document(docs, appt, second.id, actor="citizen", now=NOW)
    assert refused.value.code == "not_allowed"  # accepted: only staff delete it now
    with pytest.raises(ops.DocumentRefused) as refused:
        upload(docs, appt, jpeg_bytes(), item=2)
    assert refused.value.code == "not_allowed"  # the service asks for two documents only


def test_a_citizen_deletes_their_own_upload_and_its_stored_records_go(docs):
    appt = appointment(docs)
    document = upload(docs, appt, jpeg_bytes())
    ops.delete_document(docs, appt, document.id, actor="citizen", now=NOW)
    assert ops.documents(docs, appt) == []
    assert count(docs, DocumentChunkRow) == 0 and stored_files(docs) == []


def test_a_clerk_s_scan_is_added_from_a_file_and_left_in_place(docs, tmp_path):
    appt = appointment(docs)
    scan = pdf_with_everything_active(tmp_path / "scan.pdf")
    document = ops.add_file(
        docs, appt, scan, name="Meldebescheinigung", item=None, sender="clerk", actor=CLERK, now=NOW
    )
    assert (document.name, document.sender) == ("Meldebescheinigung.pdf", "clerk")
    assert scan.exists() and read(docs, appt, document.id).startswith(b"%PDF-")


@pytest.mark.parametrize("storage", ["database", "folder"])
def test_a_file_written_through_one_store_reads_through_another_on_postgresql(
    pg_store, tmp_path, storage
):
    configured(pg_store, tmp_path, storage)
    appt = appointment(pg_store)
    document = upload(pg_store, appt, jpeg_bytes((320, 240)))
    other = Store(pg_store.url)  # another hub process: its own engine and pool
    try:
        configured(other, tmp_path, storage)
        assert ops.documents(other, appt) == [document]
        with Image.open(io.BytesIO(read(other, appt, document.id))) as image:
            assert image.size == (320, 240)
    finally:
        other.dispose()


def test_retention_deletes_the_files_of_past_appointments_and_logs_it(docs, caplog):
    old, ahead = appointment(docs, 9), appointment(docs, 11)
    kept_ahead = upload(docs, ahead, jpeg_bytes())
    for _ in range(2):
        upload(docs, old, jpeg_bytes())
    end = berlin(2026, 3, 2, 9, 20)  # of the old appointment
    assert ops.forget_documents(docs, end + timedelta(days=7) - timedelta(minutes=1), days=7) == 0
    assert len(ops.documents(docs, old)) == 2
    # Pushing `ahead` a month on keeps it while `old` passes its retention period.
    with docs.engine.begin() as conn:
        table = AppointmentRow.__table__
        conn.execute(
            table.update()
            .where(table.c.id == ahead)
            .values(start_at=NOW + timedelta(days=30), end_at=NOW + timedelta(days=30, minutes=20))
        )
    with caplog.at_level(logging.INFO, logger="hub.documents"):
        assert ops.forget_documents(docs, end + timedelta(days=7, minutes=1), days=7) == 2
    assert ops.documents(docs, old) == [] and ops.documents(docs, ahead) == [kept_ahead]
    assert f"deleted 2 documents of appointment {old}" in caplog.text
    assert read(docs, ahead, kept_ahead.id)  # the other one's records are still all there
    with docs.engine.connect() as conn:
        chunks = set(conn.scalars(select(DocumentChunkRow.blob_id)))
        deletions = conn.execute(
            select(DocumentAccessRow.actor, DocumentAccessRow.detail).where(
                DocumentAccessRow.action == "delete"
            )
        ).all()
    assert chunks <= {kept_ahead.id}
    assert {p.parent.name for p in stored_files(docs)} <= {str(kept_ahead.id)}
    assert deletions == [("retention", "2 documents")]
    with pytest.raises(ops.DocumentRefused) as refused:  # and nothing new is taken for it
        upload(docs, old, jpeg_bytes(), now=end + timedelta(days=7, minutes=1))
    assert refused.value.code == "not_allowed"


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    cuts=st.lists(st.integers(1, 2000), max_size=6),
    wrong=st.lists(st.integers(-5, 5000), max_size=4),
)
def test_any_chunking_with_wrong_offsets_between_ends_in_the_same_file(docs, cuts, wrong):
    appt = hypothesis_appointment(docs)
    data = jpeg_bytes((90, 60))
    state = ops.begin_upload(
        docs, appt, name="x.jpg", size=len(data), item=None, sender="citizen", now=NOW
    )
    bounds = sorted({0, len(data), *(c % len(data) for c in cuts)})
    for i, (start, stop) in enumerate(itertools.pairwise(bounds)):
        if i < len(wrong) and wrong[i] != start:
            with pytest.raises(ops.DocumentRefused) as refused:
                ops.append(docs, appt, state.id, wrong[i], data[start:stop], NOW)
            assert refused.value.code == "bad_offset" and refused.value.received == start
        state = ops.append(docs, appt, state.id, start, data[start:stop], NOW)
        assert state.received == stop
    document = ops.finish(docs, appt, state.id, actor="citizen", now=NOW)
    with Image.open(io.BytesIO(read(docs, appt, document.id))) as image:
        assert image.size == (90, 60)
    ops.delete_document(docs, appt, document.id, actor="citizen", now=NOW)


def hypothesis_appointment(store: Store) -> uuid.UUID:
    """One appointment per test, shared by hypothesis' examples (the fixture is not rebuilt)."""
    found = getattr(store, "_hypothesis_appointment", None)
    if found is None:
        found = appointment(store)
        store._hypothesis_appointment = found  # type: ignore[attr-defined]
    return found


def test_the_documents_job_deletes_files_once_the_app_s_clock_passes_the_period(app, store):
    """create_app configures the documents from the settings (database storage, 7 days), and
    the `documents` round of hub/jobs deletes what is due."""
    appt = appointment(store)
    document = upload(store, appt, jpeg_bytes())
    assert ops.config_of(store).storage == "database" and count(store, DocumentChunkRow) == 1
    runner(app).run_once("documents")
    assert ops.documents(store, appt) == [document]
    app.extensions["clock"] = lambda: berlin(2026, 3, 9, 9, 21)  # 7 days and a minute after
    runner(app).run_once("documents")
    assert ops.documents(store, appt) == [] and count(store, DocumentChunkRow) == 0


def test_after_the_secret_changed_rewrapping_the_keys_makes_the_files_readable_again(
    docs, tmp_path
):
    appt = appointment(docs)
    document = upload(docs, appt, jpeg_bytes((50, 40)))
    pending = ops.begin_upload(
        docs, appt, name="b.jpg", size=10, item=None, sender="citizen", now=NOW
    )
    storage = ops.config_of(docs).storage
    configured(docs, tmp_path, storage, wrapping=crypto.wrapping_key("the new secret"))
    with pytest.raises(crypto.Undecryptable):
        read(docs, appt, document.id)
    with pytest.raises(crypto.Undecryptable):  # a wrong old secret changes nothing
        ops.rewrap_keys(docs, "not the old secret")
    assert ops.rewrap_keys(docs, "test secret") == 2  # the document and the upload
    assert ops.rewrap_keys(docs, "test secret") == 0
    with Image.open(io.BytesIO(read(docs, appt, document.id))) as image:
        assert image.size == (50, 40)
    assert ops.append(docs, appt, pending.id, 0, b"0123456789", NOW).received == 10
