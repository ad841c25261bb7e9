"""What every scanner backend gives: a `Page` (an image and its resolution) and the `Scanner`
protocol (scan one page, say whether the device is there)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np
from numpy.typing import NDArray

from protocol.kiosk import DeviceHealth

# What a page becomes: colour, greyscale, or text binarised to black and white.
ScanMode = Literal["color", "gray", "text"]
ROTATIONS = (0, 90, 180, 270)


@dataclass(frozen=True, eq=False)
class Page:
    """One scanned page: `image` is (height, width) grey or (height, width, 3) RGB, 8 bits per
    sample; `dpi` its resolution (the PDF's page size follows from it); `bilevel` when it holds
    only black (0) and white (255), a binarised text page."""

    image: NDArray[np.uint8]
    dpi: float
    bilevel: bool = False

    def __post_init__(self) -> None:
        image = self.image
        if image.dtype != np.uint8:
            raise ValueError(f"a page's image has 8-bit samples, not {image.dtype}")
        if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)):
            raise ValueError(f"a page's image is grey (h, w) or RGB (h, w, 3), not {image.shape}")
        if min(image.shape[:2]) < 1:
            raise ValueError("a page's image is empty")
        if self.bilevel and image.ndim != 2:
            raise ValueError("a bilevel page is grey")
        if not 10 <= self.dpi <= 4800:
            raise ValueError(f"a page's resolution is 10 to 4800 dpi, not {self.dpi}")

    @property
    def width(self) -> int:
        """Width in pixels."""
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        """Height in pixels."""
        return int(self.image.shape[0])

    @property
    def size_mm(self) -> tuple[float, float]:
        """Width and height on paper, in millimetres."""
        return self.width / self.dpi * 25.4, self.height / self.dpi * 25.4

    def rotated(self, degrees: int) -> Page:
        """The page turned clockwise by 0, 90, 180 or 270 degrees."""
        if degrees not in ROTATIONS:
            raise ValueError(f"a page turns by 0, 90, 180 or 270 degrees, not {degrees}")
        if degrees == 0:
            return self
        turned = np.ascontiguousarray(np.rot90(self.image, k=-degrees // 90))
        return Page(turned, self.dpi, self.bilevel)


class Scanner(Protocol):
    """A flatbed scanner or a document camera."""

    name: str

    async def scan(self) -> Page:
        """One page (ScannerMissing when the device is not there, ScannerFailed when it is but
        the scan did not work)."""
        ...

    async def check(self) -> DeviceHealth:
        """ok when the device is there and answers, stalled when it hangs, absent when not
        there; quick enough to ask every few seconds."""
        ...
