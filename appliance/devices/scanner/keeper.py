"""Scanned pages kept by id on the appliance, for the core, which holds only ids and rotations
(each page's image stays here until it is sent or dropped): the core's `Scanner` port
(appliance/core/ports.py) over any scanner backend."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from appliance.devices.scanner.interface import Page, Scanner
from appliance.devices.scanner.pdf import PREVIEW_SIDE, pdf_bytes, preview_jpeg
from protocol.kiosk import DeviceHealth

if TYPE_CHECKING:
    from appliance.core.ports import Scanner as ScannerPort

MAX_KEPT = 100  # pages held at once; a scan the core forgot to discard cannot fill the memory


class PageKeeper:
    """A scanner's pages by id, with a small copy of each for the clerk's screen."""

    def __init__(self, scanner: Scanner, max_kept: int = MAX_KEPT) -> None:
        self.scanner, self.max_kept = scanner, max_kept
        self._pages: dict[str, Page] = {}
        self._previews: dict[str, Page] = {}

    async def capture(self) -> str:
        """Scan one page; its id (ScannerMissing or ScannerFailed from the scanner)."""
        if len(self._pages) >= self.max_kept:
            raise ValueError(f"{self.max_kept} pages are kept already: send or remove some")
        page = await self.scanner.scan()
        preview = await asyncio.to_thread(_small, page)
        ident = secrets.token_urlsafe(9)
        self._pages[ident], self._previews[ident] = page, preview
        return ident

    def preview(self, page: str, rotation: int) -> bytes:
        """A JPEG of one page turned clockwise by `rotation` degrees (KeyError: not kept)."""
        return preview_jpeg(self._previews[page].rotated(rotation % 360))

    async def pdf(self, pages: Sequence[tuple[str, int]]) -> bytes:
        """The pages, each turned by its rotation, as one PDF (KeyError: one is not kept)."""
        chosen = [(self._pages[ident], rotation % 360) for ident, rotation in pages]
        return await asyncio.to_thread(
            lambda: pdf_bytes([page.rotated(rotation) for page, rotation in chosen])
        )

    def discard(self, pages: Iterable[str]) -> None:
        """Forget pages (unknown ids are ignored: forgetting twice is harmless)."""
        for ident in pages:
            self._pages.pop(ident, None)
            self._previews.pop(ident, None)

    async def check(self) -> DeviceHealth:
        """The scanner's health."""
        return await self.scanner.check()


def _small(page: Page) -> Page:
    """The page scaled down for previews (its own resolution scaled alike)."""
    import cv2

    scale = min(1.0, PREVIEW_SIDE / max(page.width, page.height))
    if scale == 1.0:
        return page
    size = (max(1, round(page.width * scale)), max(1, round(page.height * scale)))
    small = np.asarray(cv2.resize(page.image, size, interpolation=cv2.INTER_AREA), np.uint8)
    return Page(small, max(10.0, page.dpi * scale))  # a preview's resolution is never used


if TYPE_CHECKING:

    def _fits_the_core(keeper: PageKeeper) -> ScannerPort:
        """For mypy: a PageKeeper is what the core's port asks for."""
        return keeper
