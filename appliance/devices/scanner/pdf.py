"""Pages into one PDF with img2pdf: each page's image is embedded as it is encoded here (JPEG
for colour and greyscale, 1-bit PNG for binarised text), never re-encoded by the PDF writer, and
each page's size on paper follows from its resolution."""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import img2pdf
from PIL import Image

from appliance.devices.scanner.interface import Page

JPEG_QUALITY = 88  # text stays crisp; a greyscale A4 page at 200 dpi is about 300 kB
PREVIEW_SIDE = 800


@dataclass(frozen=True)
class PdfInfo:
    """A PDF written: where, how many bytes, how many pages."""

    path: Path
    size: int
    pages: int


def encode(page: Page) -> bytes:
    """The page as the PDF embeds it, its resolution recorded in the file."""
    dpi = (page.dpi, page.dpi)
    image = Image.fromarray(page.image)
    out = io.BytesIO()
    if page.bilevel:
        # A threshold at half, not a dither: the page holds only 0 and 255 already.
        bits = image.convert("1", dither=Image.Dither.NONE)
        bits.save(out, "PNG", dpi=dpi, compress_level=3)
    else:
        # 4:4:4: thin coloured strokes (a signature, a stamp) keep their colour; 4:2:0 would
        # halve the colour's resolution.
        image.save(out, "JPEG", quality=JPEG_QUALITY, subsampling=0, dpi=dpi)
    return out.getvalue()


def pdf_bytes(pages: Sequence[Page]) -> bytes:
    """The pages, in order, as one PDF."""
    if not pages:
        raise ValueError("a PDF needs at least one page")
    pdf = img2pdf.convert([encode(page) for page in pages])
    if not isinstance(pdf, bytes):  # only when an output file is passed
        raise TypeError("img2pdf returned no bytes")
    return pdf


def write_pdf(pages: Sequence[Page], path: str | os.PathLike[str]) -> PdfInfo:
    """The pages as one PDF at `path`, written whole or not at all."""
    target = Path(path)
    pdf = pdf_bytes(pages)
    handle, scratch = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(pdf)
        os.replace(scratch, target)
    except BaseException:
        Path(scratch).unlink(missing_ok=True)
        raise
    return PdfInfo(target, len(pdf), len(pages))


def preview_jpeg(page: Page, side: int = PREVIEW_SIDE) -> bytes:
    """A small JPEG of the page for the clerk's screen (its longer side `side` pixels)."""
    image = Image.fromarray(page.image)
    image.thumbnail((side, side), Image.Resampling.BILINEAR)
    out = io.BytesIO()
    image.convert("L" if page.image.ndim == 2 else "RGB").save(out, "JPEG", quality=80)
    return out.getvalue()
