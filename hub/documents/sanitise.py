"""Making a received file harmless before it is kept: images are decoded, turned upright and
re-encoded (no EXIF, GPS position included, no XMP or comments); PDFs are opened strictly and
rewritten without JavaScript, embedded files, forms or actions. What cannot be read is refused.

Pillow, pillow-heif and pikepdf are imported when first needed: importing the hub stays cheap.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from hub.documents.errors import DocumentRefused
from hub.documents.kinds import Kind, Limits

if TYPE_CHECKING:
    from PIL import Image

JPEG_QUALITY = 90
# Documents need no more: 4096 pixels across an A4 page is about 350 dpi. Larger photos are
# scaled down, JPEGs already while decoding (draft mode), which bounds the memory they take.
MAX_SIDE = 4096
PIL_FORMATS = {Kind.JPEG: "JPEG", Kind.PNG: "PNG", Kind.HEIF: "HEIF"}


def sanitise(kind: Kind, source: Path, target: Path, limits: Limits) -> None:
    """Write the harmless form of `source` (a file of `kind`) to `target`, or refuse it."""
    if kind is Kind.PDF:
        rewrite_pdf(source, target)
    else:
        reencode_image(kind, source, target, limits)


# ---- images ----------------------------------------------------------------------------------


def _open_image(kind: Kind, source: Path, limits: Limits) -> Image.Image:
    from PIL import Image

    if kind is Kind.HEIF:
        import pillow_heif

        pillow_heif.register_heif_opener()
    try:
        image = Image.open(source, formats=[PIL_FORMATS[kind]])
    except Image.DecompressionBombError:
        raise DocumentRefused("too_large", "the image has too many pixels") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise DocumentRefused("damaged", f"the image cannot be read: {exc}") from None
    width, height = image.size
    if width * height > limits.max_pixels:
        image.close()
        raise DocumentRefused("too_large", f"the image has {width}×{height} pixels")
    if kind is Kind.JPEG and max(image.size) > MAX_SIDE:
        # Decode at 1/2, 1/4 or 1/8 of the size straight away (the DCT scales for free).
        image.draft("RGB", (MAX_SIDE, MAX_SIDE))
    return image


def _upright(image: Image.Image) -> Image.Image:
    """The picture as it is meant to be seen, in a mode JPEG or PNG can store."""
    from PIL import Image, ImageOps

    image.load()
    upright = ImageOps.exif_transpose(image) or image
    if max(upright.size) > MAX_SIDE:
        upright.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    return upright


def reencode_image(kind: Kind, source: Path, target: Path, limits: Limits) -> None:
    """Decode, turn upright, and encode again: only the pixels (and the colour profile) stay."""
    from PIL import Image

    image = _open_image(kind, source, limits)
    try:
        with image:
            picture = _upright(image)
            icc = image.info.get("icc_profile")
            options: dict[str, Any] = {"icc_profile": icc} if isinstance(icc, bytes) else {}
            if kind.media_type == "image/png":
                if picture.mode not in ("1", "L", "LA", "P", "RGB", "RGBA"):
                    alpha = "A" in picture.getbands()
                    picture = picture.convert("RGBA" if alpha else "RGB")
                # No `pnginfo` and no `exif`: text chunks and EXIF are left behind.
                picture.save(target, format="PNG", **options)
            else:
                if picture.mode not in ("L", "RGB"):
                    picture = picture.convert("RGB")
                picture.save(target, format="JPEG", quality=JPEG_QUALITY, **options)
    except DocumentRefused:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise DocumentRefused("damaged", f"the image cannot be read: {exc}") from None


# ---- PDFs ------------------------------------------------------------------------------------

# Keys that start something when the file is opened or touched, or carry other files (/AF and
# /EF: PDF 2.0 associated files and embedded file streams).
ACTIVE_KEYS = (
    "/OpenAction",
    "/AA",
    "/JavaScript",
    "/JS",
    "/AcroForm",
    "/EmbeddedFiles",
    "/URI",
    "/AF",
    "/EF",
)
# In the document catalogue's name dictionary: scripts, attachments and media.
ACTIVE_NAMES = ("/JavaScript", "/EmbeddedFiles", "/AlternatePresentations", "/Renditions")
# Annotations that run, play or attach something, or are form fields.
ACTIVE_ANNOTATIONS = frozenset(
    {"/Widget", "/FileAttachment", "/Screen", "/Movie", "/Sound", "/RichMedia", "/3D"}
)
# Actions that stay inside the document; every other kind is removed.
SAFE_ACTIONS = frozenset({"/GoTo", "/Named"})
# The four named actions every reader knows; others name a viewer's menu items (Print, SaveAs).
SAFE_NAMES = frozenset({"/NextPage", "/PrevPage", "/FirstPage", "/LastPage"})


def _safe_action(action: Any) -> bool:
    import pikepdf

    if not isinstance(action, pikepdf.Dictionary):
        return False
    if action.get("/S") not in SAFE_ACTIONS:
        return False
    if action.get("/S") == "/Named" and action.get("/N") not in SAFE_NAMES:
        return False
    follow = action.get("/Next")  # a chain: every link must be safe
    if follow is None:
        return True
    chain = follow if isinstance(follow, pikepdf.Array) else [follow]
    return all(_safe_action(a) for a in chain)


def _clean(root: Any) -> None:
    """Remove active keys and unsafe actions from `root` and everything it reaches (iteratively:
    outlines chain their items through /Next, deeper than Python's recursion limit)."""
    import pikepdf

    seen: set[tuple[int, int]] = set()
    todo = [root]
    while todo:
        obj = todo.pop()
        if not isinstance(obj, pikepdf.Dictionary | pikepdf.Array | pikepdf.Stream):
            continue  # numbers, names, strings: nothing active
        if obj.is_indirect:
            if obj.objgen in seen:
                continue
            seen.add(obj.objgen)
        if isinstance(obj, pikepdf.Stream):
            obj = obj.stream_dict
        if isinstance(obj, pikepdf.Dictionary):
            for key in ACTIVE_KEYS:
                if key in obj:
                    del obj[key]
            if "/A" in obj and not _safe_action(obj["/A"]):
                del obj["/A"]
            if "/Annots" in obj and isinstance(obj["/Annots"], pikepdf.Array):
                kept = [a for a in obj["/Annots"] if a.get("/Subtype") not in ACTIVE_ANNOTATIONS]
                obj["/Annots"] = pikepdf.Array(kept)
            todo.extend(obj[key] for key in obj.keys())  # noqa: SIM118 - pikepdf needs keys()
        elif isinstance(obj, pikepdf.Array):
            todo.extend(obj)


def rewrite_pdf(source: Path, target: Path) -> None:
    """Open `source` strictly (no repair of a broken file), take out what is active, flatten
    filled-in forms into the page, and write a new file from what is still reachable."""
    import pikepdf

    try:
        with pikepdf.open(source, attempt_recovery=False, suppress_warnings=True) as pdf:
            if len(pdf.pages) == 0:
                raise DocumentRefused("damaged", "the PDF has no pages")
            if "/AcroForm" in pdf.Root:
                # What was typed into a form stays visible; the fields themselves go.
                pdf.generate_appearance_streams()
                pdf.flatten_annotations("all")
            names = pdf.Root.get("/Names")
            if isinstance(names, pikepdf.Dictionary):
                for key in ACTIVE_NAMES:
                    if key in names:
                        del names[key]
            for key in ("/Collection", "/Threads", "/SpiderInfo"):
                if key in pdf.Root:
                    del pdf.Root[key]
            _clean(pdf.trailer)
            # Only objects reachable from the trailer are written: what was cut off is gone.
            # Stream data (page content, images) is copied as it came: recompressing a
            # scan's images would cost a second per 20 MB and change nothing active.
            pdf.save(
                target,
                encryption=False,
                object_stream_mode=pikepdf.ObjectStreamMode.generate,
                compress_streams=False,
                stream_decode_level=pikepdf.StreamDecodeLevel.none,
            )
    except DocumentRefused:
        raise
    except pikepdf.PasswordError:
        raise DocumentRefused("damaged", "the PDF is protected by a password") from None
    except (pikepdf.PdfError, pikepdf.ForeignObjectError, OSError, ValueError) as exc:
        raise DocumentRefused("damaged", f"the PDF cannot be read: {exc}") from None
