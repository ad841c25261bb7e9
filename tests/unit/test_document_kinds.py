"""Files are recognised by their content, never by their name; names are made safe to show."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hub.documents.kinds import MAX_NAME, Kind, display_name, sniff
from tests.support.document_files import EICAR, jpeg_bytes


def test_the_four_kinds_are_recognised_by_their_first_bytes():
    assert sniff(jpeg_bytes()) is Kind.JPEG
    assert sniff(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR") is Kind.PNG
    assert sniff(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n") is Kind.PDF
    assert sniff(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic") is Kind.HEIF
    assert sniff(b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00mif1heic") is Kind.HEIF


def test_a_program_text_or_avif_is_none_of_them_whatever_it_is_called():
    assert sniff(b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff") is None  # an EXE
    assert sniff(b"\x7fELF\x02\x01\x01") is None
    assert sniff(EICAR) is None
    assert sniff(b"PK\x03\x04") is None  # a ZIP (or an Office file)
    assert sniff(b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf") is None
    assert sniff(b"") is None


def test_heic_and_png_are_stored_as_what_browsers_show():
    assert (Kind.HEIF.received_type, Kind.HEIF.media_type) == ("image/heif", "image/jpeg")
    assert Kind.PNG.media_type == "image/png" and Kind.PDF.extension == ".pdf"


def test_names_lose_folders_control_characters_and_get_the_stored_kind_s_extension():
    assert display_name("C:\\Users\\erika\\Scan 1.HEIC", Kind.HEIF) == "Scan 1.jpg"
    assert display_name("../../etc/passwd") == "passwd"
    assert display_name("Mietvertrag\u202egpj.exe", Kind.PDF) == "Mietvertraggpj.pdf"
    assert display_name("bild.pdf", Kind.JPEG) == "bild.jpg"
    assert display_name("", Kind.PDF) == "Dokument.pdf"
    assert display_name("  ...  ") == "Dokument"


@given(st.text(max_size=600), st.sampled_from([None, *Kind]))
def test_any_name_becomes_a_short_plain_file_name(name, kind):
    shown = display_name(name, kind)
    assert 0 < len(shown) <= MAX_NAME
    assert "/" not in shown and "\\" not in shown and "\x00" not in shown
    assert kind is None or shown.endswith(kind.extension)
