"""Received files are made harmless: images re-encoded upright without EXIF or GPS, PDFs
rewritten without scripts, attachments, forms or actions; what cannot be read is refused."""

from __future__ import annotations

import pytest
from PIL import Image

from hub.documents.errors import DocumentRefused
from hub.documents.kinds import Kind, Limits
from hub.documents.sanitise import MAX_SIDE, sanitise
from tests.support.document_files import (
    BLUE,
    GPS_IFD,
    RED,
    heic,
    pdf_with_everything_active,
    photo_with_gps,
    png_with_text,
)


def close(pixel, colour, tolerance=30):
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, colour, strict=True))


def jpeg_segments(data: bytes) -> list[int]:
    """The markers of a JPEG's header segments (APPn, DQT, ...) up to the image data."""
    markers, at = [], 2
    while at < len(data) and data[at] == 0xFF and data[at + 1] != 0xDA:
        markers.append(data[at + 1])
        at += 2 + int.from_bytes(data[at + 2 : at + 4], "big")
    return markers


def test_a_phone_photo_loses_its_gps_position_and_stands_upright(tmp_path):
    source = photo_with_gps(tmp_path / "photo.jpg", orientation=6)
    with Image.open(source) as original:
        assert original.getexif().get_ifd(GPS_IFD)  # the test's photo does carry a position
    sanitise(Kind.JPEG, source, tmp_path / "clean.jpg", Limits())
    data = (tmp_path / "clean.jpg").read_bytes()
    with Image.open(tmp_path / "clean.jpg") as clean:
        assert clean.format == "JPEG" and clean.size == (100, 200)  # turned a quarter
        assert not clean.getexif() and not clean.getexif().get_ifd(GPS_IFD)
        assert close(clean.getpixel((50, 10)), RED) and close(clean.getpixel((50, 190)), BLUE)
    assert 0xE1 not in jpeg_segments(data)  # no APP1: neither EXIF nor XMP
    assert b"Exif" not in data and b"PhoneMaker" not in data


def test_a_png_keeps_its_pixels_and_loses_text_and_exif(tmp_path):
    sanitise(Kind.PNG, png_with_text(tmp_path / "in.png"), tmp_path / "out.png", Limits())
    data = (tmp_path / "out.png").read_bytes()
    assert b"tEXt" not in data and b"eXIf" not in data and b"Alexanderplatz" not in data
    with Image.open(tmp_path / "out.png") as clean:
        assert clean.size == (64, 48) and close(clean.getpixel((3, 3))[:3], BLUE, 0)


def test_heic_from_an_iphone_becomes_a_jpeg_with_the_same_picture(tmp_path):
    sanitise(Kind.HEIF, heic(tmp_path / "IMG_0001.HEIC"), tmp_path / "out.jpg", Limits())
    with Image.open(tmp_path / "out.jpg") as clean:
        assert clean.format == "JPEG" and clean.size == (640, 480)
        assert close(clean.getpixel((100, 240)), RED) and close(clean.getpixel((540, 240)), BLUE)


def test_a_large_photo_is_scaled_to_the_longest_side_documents_need(tmp_path):
    Image.new("RGB", (6000, 3000), RED).save(tmp_path / "big.jpg", quality=70)
    sanitise(Kind.JPEG, tmp_path / "big.jpg", tmp_path / "out.jpg", Limits())
    with Image.open(tmp_path / "out.jpg") as clean:
        assert max(clean.size) <= MAX_SIDE and clean.size[0] == 2 * clean.size[1]


def test_an_image_with_too_many_pixels_is_refused_before_it_is_decoded(tmp_path):
    Image.new("L", (4000, 3000)).save(tmp_path / "wide.png")
    with pytest.raises(DocumentRefused) as refused:
        sanitise(Kind.PNG, tmp_path / "wide.png", tmp_path / "out.png", Limits(max_pixels=10**6))
    assert refused.value.code == "too_large"


def active_parts(path) -> list[str]:
    """Everything active left anywhere in a PDF (every object, not only what is reachable)."""
    import pikepdf

    found = []
    with pikepdf.open(path) as pdf:
        for obj in pdf.objects:
            target = obj.stream_dict if isinstance(obj, pikepdf.Stream) else obj
            if not isinstance(target, pikepdf.Dictionary):
                continue
            found += [
                k for k in ("/JS", "/OpenAction", "/AA", "/AcroForm", "/EF", "/AF") if k in target
            ]
            if target.get("/S") in ("/JavaScript", "/Launch", "/URI"):
                found.append(str(target.get("/S")))
            if target.get("/Type") in ("/EmbeddedFile", "/Filespec"):
                found.append(str(target.get("/Type")))
            for annot in target.get("/Annots", []):
                if "/A" in annot and annot.A.get("/S") != "/GoTo":
                    found.append(f"link {annot.A.get('/S')}")
                if annot.get("/Subtype") == "/Widget":
                    found.append("widget")
        names = pdf.Root.get("/Names", {})
        found += [k for k in ("/JavaScript", "/EmbeddedFiles") if k in names]
    return found


def test_a_pdf_with_javascript_is_kept_without_it_and_without_attachments_forms_or_actions(
    tmp_path,
):
    import pikepdf

    source = pdf_with_everything_active(tmp_path / "in.pdf")
    assert len(active_parts(source)) >= 8  # the test's PDF has all of them
    sanitise(Kind.PDF, source, tmp_path / "out.pdf", Limits())
    assert active_parts(tmp_path / "out.pdf") == []
    assert b"calc.exe" not in (tmp_path / "out.pdf").read_bytes()
    with pikepdf.open(tmp_path / "out.pdf") as pdf:
        assert len(pdf.pages) == 1
        assert b"(Hello) Tj" in pdf.pages[0].Contents.read_bytes()
        links = [a for a in pdf.pages[0].Annots if a.get("/A")]
        assert [str(a.A.S) for a in links] == ["/GoTo"]  # the link inside the document stays


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda data: data[: len(data) // 2], id="cut in half"),
        pytest.param(lambda data: b"%PDF-1.7\n" + b"\x00garbage" * 100, id="garbage"),
        pytest.param(lambda data: data.replace(b"xref", b"xxxx"), id="no xref"),
    ],
)
def test_a_damaged_pdf_is_refused(tmp_path, damage):
    data = pdf_with_everything_active(tmp_path / "in.pdf").read_bytes()
    (tmp_path / "bad.pdf").write_bytes(damage(data))
    with pytest.raises(DocumentRefused) as refused:
        sanitise(Kind.PDF, tmp_path / "bad.pdf", tmp_path / "out.pdf", Limits())
    assert refused.value.code == "damaged"


@pytest.mark.parametrize("kind", [Kind.JPEG, Kind.PNG, Kind.HEIF])
def test_a_damaged_or_mislabelled_image_is_refused(tmp_path, kind):
    photo = photo_with_gps(tmp_path / "photo.jpg").read_bytes()
    (tmp_path / "bad").write_bytes(photo[: len(photo) // 2] if kind is Kind.JPEG else photo)
    with pytest.raises(DocumentRefused) as refused:
        sanitise(kind, tmp_path / "bad", tmp_path / "out", Limits())
    assert refused.value.code == "damaged"
