"""Which files are taken (PDF, JPEG, PNG, HEIC/HEIF), recognised by their content, never by
their name; the size limits; and the name a document is shown under."""

from __future__ import annotations

import enum
import unicodedata
from dataclasses import dataclass

# Enough of a file's start to recognise it (a PDF header may follow some junk, see sniff).
HEAD_BYTES = 1024
MB = 1024 * 1024
MAX_NAME = 200


class Kind(enum.Enum):
    """A kind of file the hub takes: (media type as received, media type as stored, extension)."""

    PDF = ("application/pdf", "application/pdf", ".pdf")
    JPEG = ("image/jpeg", "image/jpeg", ".jpg")
    PNG = ("image/png", "image/png", ".png")
    HEIF = ("image/heif", "image/jpeg", ".jpg")  # stored as JPEG: browsers rarely show HEIC

    def __init__(self, received: str, stored: str, extension: str) -> None:
        self.received_type = received
        self.media_type = stored
        self.extension = extension


# ISO base media brands of HEIC/HEIF still images and sequences. `mif1`/`msf1` are generic
# (AVIF carries them too), so they count only when no AVIF brand is listed.
HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"})
GENERIC_BRANDS = frozenset({b"mif1", b"msf1"})
AVIF_BRANDS = frozenset({b"avif", b"avis"})


def _heif(head: bytes) -> bool:
    if len(head) < 16 or head[4:8] != b"ftyp":
        return False
    box = int.from_bytes(head[:4], "big")
    if box < 16 or box % 4:
        return False
    body = head[8 : min(box, len(head))]
    brands = {body[0:4], *(body[i : i + 4] for i in range(8, len(body) - 3, 4))}
    if brands & AVIF_BRANDS:
        return False
    return bool(brands & HEIF_BRANDS) or bool(brands & GENERIC_BRANDS)


def sniff(head: bytes) -> Kind | None:
    """The kind of a file from its first HEAD_BYTES bytes, or None when it is none we take."""
    if head.startswith(b"\xff\xd8\xff"):
        return Kind.JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return Kind.PNG
    # Readers accept a PDF header within the first kilobyte; pikepdf checks the rest.
    if b"%PDF-" in head[:HEAD_BYTES]:
        return Kind.PDF
    if _heif(head):
        return Kind.HEIF
    return None


@dataclass(frozen=True)
class Limits:
    """How much one file and all files of one appointment may hold, and how many pixels an
    image may have (decoding needs about 4 bytes per pixel)."""

    max_file: int = 20 * MB
    max_appointment: int = 50 * MB
    max_pixels: int = 64_000_000

    @classmethod
    def from_mb(cls, file_mb: int, appointment_mb: int) -> Limits:
        """Limits given in megabytes (MiB), as the settings name them."""
        return cls(max_file=file_mb * MB, max_appointment=appointment_mb * MB)


def display_name(name: str, kind: Kind | None = None) -> str:
    """The name to show: no folders, no control or format characters, at most MAX_NAME
    characters, and (once the kind is known) the extension of what is stored."""
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip(" .")
    stem, dot, extension = name.rpartition(".")
    if not dot:
        stem, extension = name, ""
    stem = stem.strip(" .") or "Dokument"
    kept = f".{extension}" if extension else ""
    suffix = kind.extension if kind is not None else kept
    return stem[: MAX_NAME - len(suffix[:20])] + suffix[:20]
