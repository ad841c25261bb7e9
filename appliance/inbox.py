"""Files the clerk can hand over without scanning: PDFs and images in folders the operator
names (where the municipal software prints to, a USB stick's mount point). The core's `Inbox`
port; the kiosk never names a path, only an id from the listing, so nothing outside the folders
can be read through it."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Sequence
from pathlib import Path

from appliance.core.ports import InboxFile

log = logging.getLogger("appliance.inbox")
SUFFIXES = {".pdf", ".jpg", ".jpeg", ".png"}  # the hub checks the content again
MAX_BYTES = 20 * 1024 * 1024  # the hub's limit per file
MAX_LISTED = 50  # the newest; a folder of thousands stays usable on the screen
DEPTH = 2  # a USB stick's files sit in a folder or two at most
FRESH_S = 2.0  # the screen asks with every change of state; the folders are read this seldom


class FolderInbox:
    """The newest handable files of some folders, by opaque id."""

    def __init__(self, folders: Sequence[Path]) -> None:
        self.folders = [folder.resolve() for folder in folders]
        self._paths: dict[str, Path] = {}
        self._listed: list[InboxFile] = []
        self._listed_at = float("-inf")

    def _candidates(self, folder: Path) -> list[Path]:
        found = []
        for depth in range(DEPTH + 1):
            pattern = "/".join(["*"] * (depth + 1))
            found += [p for p in folder.glob(pattern) if p.suffix.lower() in SUFFIXES]
        return found

    def listing(self) -> list[InboxFile]:
        """The newest files (a folder that is not there, e.g. no stick inserted, is skipped)."""
        if time.monotonic() - self._listed_at < FRESH_S:
            return self._listed
        files: list[tuple[float, Path, int]] = []
        for folder in self.folders:
            try:
                for path in self._candidates(folder):
                    stat = path.stat()
                    if path.is_file() and 0 < stat.st_size <= MAX_BYTES:
                        files.append((stat.st_mtime, path, stat.st_size))
            except OSError as exc:
                log.info("inbox folder %s not readable: %s", folder, exc)
        files.sort(reverse=True)
        self._paths = {}
        listed = []
        for modified, path, size in files[:MAX_LISTED]:
            ident = hashlib.sha256(f"{path}\0{modified}".encode()).hexdigest()[:16]
            self._paths[ident] = path
            listed.append(InboxFile(id=ident, name=path.name, size=size, modified=modified))
        self._listed, self._listed_at = listed, time.monotonic()
        return listed

    def read(self, ident: str) -> tuple[str, bytes] | None:
        """A listed file's name and bytes (None: not listed, gone, or grown past the limit)."""
        path = self._paths.get(ident)
        if path is None:
            return None
        try:
            data = path.read_bytes()
        except OSError:
            return None
        return (path.name, data) if 0 < len(data) <= MAX_BYTES else None
