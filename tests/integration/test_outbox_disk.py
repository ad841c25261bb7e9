"""The outbox folder on a full disk (issue 12, point 17): a failed write leaves nothing behind,
and leftovers of a crash are cleaned when the hub starts."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from hub.notify.transport import STALE_AFTER, FolderTransport
from tests.support.environment import IN_CI


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 64 KiB tmpfs, already nearly full (needs root, as in CI's container)."""
    folder = tmp_path / "outbox"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)], capture_output=True
    )
    if mounted.returncode != 0:
        if IN_CI:
            pytest.fail(f"cannot mount a tmpfs: {mounted.stderr!r}", pytrace=False)
        pytest.skip("mounting a tmpfs needs root")
    try:
        (folder / "ballast.bin").write_bytes(b"\0" * 48 * 1024)
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def _mail(size: int) -> EmailMessage:
    message = EmailMessage()
    message["Message-ID"] = "<1.abc@buergeramt-virtuell>"
    message["Subject"] = "Ihr Termin"
    message.set_content("x" * size)
    return message


def test_a_full_disk_leaves_no_temporary_file_however_often_it_is_retried(full_disk):
    transport = FolderTransport(full_disk)
    for _ in range(5):
        with pytest.raises(OSError):
            transport.send(_mail(64 * 1024))
    assert sorted(p.name for p in full_disk.iterdir()) == ["ballast.bin"]
    transport.send(_mail(1000))  # a small mail still fits: the space was given back
    assert sorted(p.name for p in full_disk.iterdir()) == [
        "1.abc@buergeramt-virtuell.eml",
        "ballast.bin",
    ]


def test_leftovers_of_a_crash_are_removed_at_start_but_not_a_write_under_way(tmp_path):
    folder = tmp_path / "outbox"
    folder.mkdir()
    stale, fresh = folder / "tmpold.tmp", folder / "tmpnew.tmp"
    stale.write_bytes(b"half a mail")
    fresh.write_bytes(b"another process is writing this one")
    old = time.time() - STALE_AFTER.total_seconds() - 60
    os.utime(stale, (old, old))
    (folder / "kept.eml").write_bytes(b"a whole mail")
    FolderTransport(folder)
    assert sorted(p.name for p in folder.iterdir()) == ["kept.eml", "tmpnew.tmp"]
