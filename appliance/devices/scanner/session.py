"""The pages of one scan, in order, until they are sent: add, turn, take again, remove, and
make them one PDF. Plain list logic over `Page`s; the backends are not its business."""

from __future__ import annotations

import os
from collections.abc import Iterator

from appliance.devices.scanner.interface import Page
from appliance.devices.scanner.pdf import PdfInfo, pdf_bytes, write_pdf

MAX_PAGES = 50


class ScanSession:
    """The pages scanned so far; indices count from 0 in the order the PDF will have."""

    def __init__(self, max_pages: int = MAX_PAGES) -> None:
        self.max_pages = max_pages
        self._pages: list[Page] = []

    def __len__(self) -> int:
        return len(self._pages)

    def __iter__(self) -> Iterator[Page]:
        return iter(self._pages)

    def __getitem__(self, index: int) -> Page:
        return self._pages[self._index(index)]

    def add(self, page: Page) -> int:
        """Append a page; its index."""
        if len(self._pages) >= self.max_pages:
            raise ValueError(f"a scan has at most {self.max_pages} pages")
        self._pages.append(page)
        return len(self._pages) - 1

    def rotate(self, index: int, degrees: int) -> Page:
        """Turn a page clockwise by a multiple of 90 degrees (negative: anticlockwise)."""
        if degrees % 90:
            raise ValueError(f"a page turns by quarter turns, not {degrees} degrees")
        index = self._index(index)
        turned = self._pages[index].rotated(degrees % 360)
        self._pages[index] = turned
        return turned

    def retake(self, index: int, page: Page) -> None:
        """Put a new scan in a page's place."""
        self._pages[self._index(index)] = page

    def remove(self, index: int) -> Page:
        """Take a page out; the ones after it move up."""
        return self._pages.pop(self._index(index))

    def clear(self) -> None:
        """Forget every page (sent, or abandoned)."""
        self._pages.clear()

    def pdf(self) -> bytes:
        """The pages as one PDF."""
        return pdf_bytes(self._pages)

    def to_pdf(self, path: str | os.PathLike[str]) -> PdfInfo:
        """The pages as one PDF written to `path`."""
        return write_pdf(self._pages, path)

    def _index(self, index: int) -> int:
        if not 0 <= index < len(self._pages):
            raise IndexError(f"no page {index}: the scan has {len(self._pages)}")
        return index
