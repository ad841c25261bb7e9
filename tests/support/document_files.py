"""Real files for the document tests (a phone photo with GPS, a PDF full of scripts, HEIC, a
large PDF) and a real clamd with a signature database the test writes itself (a pytest plugin,
see tests/conftest.py)."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.environment import IN_CI

# EICAR's test file, in two pieces so that no scanner flags this source file itself.
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
CLAMD = shutil.which("clamd") or "/usr/sbin/clamd"
GPS_IFD, ORIENTATION = 0x8825, 0x0112
RED, BLUE = (220, 20, 20), (20, 20, 220)


def photo_with_gps(path: Path, orientation: int = 6) -> Path:
    """A JPEG as a phone stores it: pixels sideways (red left, blue right, 200×100), an EXIF
    orientation saying how to turn them, and the GPS position where it was taken."""
    from PIL import Image

    image = Image.new("RGB", (200, 100), RED)
    image.paste(Image.new("RGB", (100, 100), BLUE), (100, 0))
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[0x010F] = "PhoneMaker"
    gps = exif.get_ifd(GPS_IFD)
    gps.update({1: "N", 2: (52.0, 31.0, 12.5), 3: "E", 4: (13.0, 24.0, 1.0)})
    image.save(path, format="JPEG", exif=exif.tobytes(), quality=95)
    return path


def png_with_text(path: Path) -> Path:
    """A PNG carrying a text chunk and EXIF with a GPS position."""
    from PIL import Image, PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "taken at Alexanderplatz 1, Berlin")
    exif = Image.Exif()
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (52.0, 31.0, 12.5)})
    Image.new("RGBA", (64, 48), (*BLUE, 255)).save(
        path, format="PNG", pnginfo=info, exif=exif.tobytes()
    )
    return path


def heic(path: Path, size: tuple[int, int] = (640, 480)) -> Path:
    """An HEIC photo as an iPhone stores it (encoded by pillow-heif's x265)."""
    import pillow_heif
    from PIL import Image

    pillow_heif.register_heif_opener()
    image = Image.new("RGB", size, RED)
    image.paste(Image.new("RGB", (size[0] // 2, size[1]), BLUE), (size[0] // 2, 0))
    image.save(path, format="HEIF", quality=80)
    return path


def pdf_with_everything_active(path: Path) -> Path:
    """A one-page PDF saying "Hello" that runs JavaScript when opened and on a page event,
    carries an attachment, a form field, links that launch a program, open a website or print."""
    import pikepdf

    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(200, 200))
    page = pdf.pages[0]
    font = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica
        )
    )
    page.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font))
    page.Contents = pdf.make_stream(b"BT /F1 24 Tf 20 100 Td (Hello) Tj ET")
    script = pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert('hi')"))
    pdf.Root.OpenAction = pdf.make_indirect(script)
    pdf.Root.Names = pikepdf.Dictionary(
        JavaScript=pikepdf.Dictionary(Names=pikepdf.Array([pikepdf.String("s"), script]))
    )
    pdf.attachments["payload.exe"] = pikepdf.AttachedFileSpec(pdf, b"MZ not really a program")
    page.obj.AA = pikepdf.Dictionary(O=script)
    field = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Annot,
            Subtype=pikepdf.Name.Widget,
            FT=pikepdf.Name.Tx,
            T=pikepdf.String("name"),
            V=pikepdf.String("Erika"),
            Rect=[10, 10, 100, 30],
            P=page.obj,
        )
    )
    launch = pikepdf.Dictionary(
        Type=pikepdf.Name.Annot,
        Subtype=pikepdf.Name.Link,
        Rect=[10, 40, 100, 60],
        A=pikepdf.Dictionary(S=pikepdf.Name.Launch, F=pikepdf.String("calc.exe")),
    )
    web = pikepdf.Dictionary(
        Type=pikepdf.Name.Annot,
        Subtype=pikepdf.Name.Link,
        Rect=[10, 70, 100, 90],
        A=pikepdf.Dictionary(S=pikepdf.Name.URI, URI=pikepdf.String("http://example.org/")),
    )
    inside = pikepdf.Dictionary(
        Type=pikepdf.Name.Annot,
        Subtype=pikepdf.Name.Link,
        Rect=[10, 100, 100, 120],
        A=pikepdf.Dictionary(S=pikepdf.Name.GoTo, D=pikepdf.Array([page.obj, pikepdf.Name.Fit])),
    )
    printing = pikepdf.Dictionary(
        Type=pikepdf.Name.Annot,
        Subtype=pikepdf.Name.Link,
        Rect=[10, 130, 100, 150],
        A=pikepdf.Dictionary(S=pikepdf.Name.Named, N=pikepdf.Name.Print),  # a viewer's menu
    )
    page.Annots = pdf.make_indirect(pikepdf.Array([field, launch, web, inside, printing]))
    pdf.Root.AcroForm = pikepdf.Dictionary(Fields=pikepdf.Array([field]))
    pdf.save(path)
    return path


def large_pdf(path: Path, size: int) -> Path:
    """A valid PDF of about `size` bytes: pages of incompressible image data (a scan's worth)."""
    import pikepdf

    pdf = pikepdf.new()
    pages = max(1, size // (2 * 1024 * 1024))
    per_page = size // pages
    for _ in range(pages):
        pdf.add_blank_page(page_size=(595, 842))
        side = int((per_page // 3) ** 0.5)
        image = pdf.make_stream(
            os.urandom(side * side * 3),
            Type=pikepdf.Name.XObject,
            Subtype=pikepdf.Name.Image,
            Width=side,
            Height=side,
            ColorSpace=pikepdf.Name.DeviceRGB,
            BitsPerComponent=8,
        )
        page = pdf.pages[-1]
        page.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image))
        page.Contents = pdf.make_stream(b"q 595 0 0 842 0 0 cm /Im0 Do Q")
    pdf.save(path, compress_streams=False)
    return path


def jpeg_bytes(size: tuple[int, int] = (64, 48)) -> bytes:
    """A small plain JPEG."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, RED).save(out, format="JPEG")
    return out.getvalue()


class RunningClamd:
    """A clamd of the test's own: its socket and its log."""

    def __init__(self, socket: Path, log: Path) -> None:
        self.socket = socket
        self.log = log


@pytest.fixture(scope="session")
def clamd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningClamd]:
    """ClamAV's daemon on a private unix socket, knowing one signature: EICAR's, written here
    (no signature download is possible). Skipped only without clamd and outside CI."""
    if not Path(CLAMD).exists():
        if IN_CI:
            pytest.fail("clamd is not installed (apt: clamav-daemon) – CI must provide it")
        pytest.skip("clamd is not installed (apt: clamav-daemon)")
    home = tmp_path_factory.mktemp("clamd")
    (home / "db").mkdir()
    (home / "db" / "eicar.ndb").write_text(f"Test.EICAR:0:*:{EICAR.hex()}\n")
    socket, log = home / "clamd.sock", home / "clamd.log"
    conf = home / "clamd.conf"
    conf.write_text(
        f"LocalSocket {socket}\nForeground yes\nDatabaseDirectory {home / 'db'}\n"
        f"LogFile {log}\nTemporaryDirectory {home}\nStreamMaxLength 30M\n"
    )
    process = subprocess.Popen(
        [CLAMD, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 60
        while not socket.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                stderr = process.stderr.read().decode() if process.stderr else ""
                pytest.fail(
                    f"clamd did not start: {stderr}{log.read_text() if log.exists() else ''}"
                )
            time.sleep(0.05)
        yield RunningClamd(socket, log)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
