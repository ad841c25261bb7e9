"""The operator's folders as the clerk sees them: the newest handable files by opaque id,
nothing outside the folders, a missing folder (no USB stick) skipped."""

from __future__ import annotations

import os

from appliance.inbox import MAX_BYTES, FolderInbox


def test_lists_handable_files_newest_first_and_reads_them_by_id(tmp_path):
    printed = tmp_path / "druck"
    (printed / "2026" / "11").mkdir(parents=True)
    old = printed / "Meldebescheinigung.pdf"
    old.write_bytes(b"%PDF-1.7 old")
    new = printed / "2026" / "11" / "Bescheinigung.PDF"
    new.write_bytes(b"%PDF-1.7 new")
    os.utime(old, (1_700_000_000, 1_700_000_000))
    (printed / "notes.txt").write_text("not for citizens")
    (printed / "empty.pdf").write_bytes(b"")
    (printed / "huge.pdf").write_bytes(b"x" * (MAX_BYTES + 1))
    inbox = FolderInbox([printed, tmp_path / "usb-not-inserted"])
    listed = inbox.listing()
    assert [f.name for f in listed] == ["Bescheinigung.PDF", "Meldebescheinigung.pdf"]
    assert inbox.read(listed[0].id) == ("Bescheinigung.PDF", b"%PDF-1.7 new")
    assert inbox.read("../../etc/passwd") is None
    new.unlink()
    assert inbox.read(listed[0].id) is None  # gone since it was listed
