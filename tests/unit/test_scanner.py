"""The counter's scanner: SANE's own `test` device through scanimage, the document camera's
processing of a synthetic page photographed at an angle, pages into a PDF (rendered back with
poppler and compared pixel by pixel), the scan session, and the liveness check."""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest
from pydantic import ValidationError

from appliance.config import ApplianceSettings
from appliance.devices import Devices
from appliance.devices.health import DeviceMonitor, scanner_health
from appliance.devices.scanner import Page, ScannerFailed, ScannerMissing, open_scanner
from appliance.devices.scanner.camera import DocumentCamera, TrackStill
from appliance.devices.scanner.keeper import PageKeeper
from appliance.devices.scanner.page import find_page, to_page
from appliance.devices.scanner.pdf import encode, preview_jpeg, write_pdf
from appliance.devices.scanner.sane import SaneScanner
from appliance.devices.scanner.session import ScanSession
from appliance.devices.scanner.synthetic import SyntheticStill, photograph, render_page
from tests.support.environment import IN_CI
from tests.support.own_loop import run

MM_PER_INCH = 25.4
# SANE's test device scans 80 × 100 mm unless told otherwise.
TEST_AREA_MM = (80, 100)


def need(program: str, package: str) -> None:
    """Skip without `program`, except under CI, where its absence fails."""
    if shutil.which(program) is None:
        if IN_CI:
            pytest.fail(f"{program} is missing (apt: {package}) – CI must provide it")
        pytest.skip(f"{program} is not installed (apt: {package})")


@pytest.fixture
def sane():
    need("scanimage", "sane-utils")


@pytest.fixture
def poppler():
    need("pdftocairo", "poppler-utils")


def rendered(pdf: Path, page: int, dpi: float, grey: bool) -> np.ndarray:
    """One page of a PDF as poppler draws it at `dpi`: pdftocairo, which draws an image at
    its own resolution pixel for pixel (pdftoppm smooths it, moving every pixel's value)."""
    out = pdf.with_name(f"{pdf.stem}-{page}")
    subprocess.run(
        ["pdftocairo", "-png", "-r", f"{dpi:g}", "-singlefile", "-f", str(page), "-l", str(page)]
        + (["-gray"] if grey else [])
        + [str(pdf), str(out)],
        capture_output=True,
        check=True,
    )
    image = cv2.imread(str(out.with_suffix(".png")), cv2.IMREAD_UNCHANGED)
    return image if grey else cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def page_sizes_pt(pdf: Path) -> list[tuple[float, float]]:
    """Each page's size in points, as pdfinfo reads it."""
    out = subprocess.run(
        ["pdfinfo", "-f", "1", "-l", "999", str(pdf)], capture_output=True, check=True, text=True
    ).stdout
    return [(float(w), float(h)) for w, h in re.findall(r"size:\s+([\d.]+) x ([\d.]+) pts", out)]


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Normalised correlation of two grey images, compared at 400 px wide and slightly
    blurred (a pixel or two of offset should not count, a line out of place should)."""
    size = (400, round(400 * a.shape[0] / a.shape[1]))
    a, b = (
        cv2.GaussianBlur(cv2.resize(x, size, interpolation=cv2.INTER_AREA), (0, 0), 1.5).astype(
            np.float64
        )
        for x in (a, b)
    )
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))


def grey(image: np.ndarray) -> np.ndarray:
    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)


# --- SANE ---


@pytest.mark.parametrize("dpi", [75, 150, 300])
def test_a_sane_scan_has_the_size_its_resolution_gives(sane, dpi):
    scanner = SaneScanner("test", dpi, "gray", ["--test-picture", "Grid"])
    page = run(scanner.scan())
    width, height = (mm / MM_PER_INCH * dpi for mm in TEST_AREA_MM)
    assert page.width == pytest.approx(width, abs=1)
    assert page.height == pytest.approx(height, abs=1)
    assert page.dpi == dpi
    assert page.image.ndim == 2
    # The grid: 10 mm squares, black and white in turn.
    assert 0.3 < (page.image < 128).mean() < 0.7


def test_a_sane_colour_scan_is_rgb(sane):
    scanner = SaneScanner("test", 100, "color", ["--test-picture", "Color pattern"])
    page = run(scanner.scan())
    assert page.image.shape[2] == 3
    spread = page.image.astype(int).max(axis=2) - page.image.astype(int).min(axis=2)
    assert spread.max() > 200  # real colours, not grey in three channels


def test_a_sane_scan_becomes_a_pdf_page_of_the_same_pixels_and_size(sane, poppler, tmp_path):
    dpi = 150
    scanner = SaneScanner("test", dpi, "color", ["--test-picture", "Color pattern"])
    page = run(scanner.scan())
    info = write_pdf([page], tmp_path / "scan.pdf")
    assert info.pages == 1
    assert info.size == (tmp_path / "scan.pdf").stat().st_size
    ((width_pt, height_pt),) = page_sizes_pt(info.path)
    assert width_pt == pytest.approx(TEST_AREA_MM[0] / MM_PER_INCH * 72, abs=0.6)
    assert height_pt == pytest.approx(TEST_AREA_MM[1] / MM_PER_INCH * 72, abs=0.6)
    back = rendered(info.path, 1, dpi, grey=False)
    assert back.shape == page.image.shape
    difference = np.abs(back.astype(int) - page.image.astype(int))
    # JPEG on a pattern of one-pixel lines between saturated colours: its worst case.
    assert difference.mean() < 6
    assert np.percentile(difference, 50) <= 3


def test_a_sane_text_scan_is_black_and_white_and_lossless_in_the_pdf(sane, poppler, tmp_path):
    scanner = SaneScanner("test", 100, "text", ["--test-picture", "Grid"])
    page = run(scanner.scan())
    assert page.bilevel
    assert set(np.unique(page.image)) == {0, 255}
    assert encode(page).startswith(b"\x89PNG")
    info = write_pdf([page], tmp_path / "text.pdf")
    back = rendered(info.path, 1, 100, grey=True)
    assert back.shape == page.image.shape
    assert np.array_equal(back, page.image)


def test_a_missing_sane_device_says_how_to_list_them(sane):
    scanner = SaneScanner("test:9", 150)  # the test backend has test:0 and test:1
    with pytest.raises(ScannerMissing, match=r"no scanner 'test:9'.*scanimage -L"):
        run(scanner.scan())
    assert run(scanner.check()) == "absent"
    assert run(SaneScanner("test", 150).check()) == "ok"


def test_an_option_the_scanner_refuses_fails_with_its_words(sane):
    scanner = SaneScanner("test", 150, "gray", ["--test-picture", "Photo of a cat"])
    with pytest.raises(ScannerFailed, match="test-picture"):
        run(scanner.scan())


def test_without_scanimage_the_error_names_the_package():
    scanner = SaneScanner("test", 150, program="no-such-scanimage")
    with pytest.raises(ScannerMissing, match="sane-utils"):
        run(scanner.scan())
    assert run(scanner.check()) == "absent"


def test_a_scanner_that_hangs_is_stalled_and_its_scan_times_out(tmp_path):
    hanging = tmp_path / "scanimage"
    hanging.write_text("#!/bin/sh\nexec sleep 30\n")
    hanging.chmod(0o755)
    scanner = SaneScanner("test", 150, program=str(hanging), timeouts=(0.5, 0.3))
    assert run(scanner.check()) == "stalled"
    with pytest.raises(ScannerFailed, match=r"did not answer within 0\.5 s"):
        run(scanner.scan())


# --- the document camera ---


@pytest.mark.parametrize("seed", range(6))
def test_a_page_photographed_at_an_angle_comes_out_flat_upright_and_filling_the_scan(seed):
    original = render_page(seed)
    frame, corners = photograph(original, seed)
    found = find_page(frame)
    assert found is not None
    diagonal = np.hypot(*frame.shape[:2])
    assert np.abs(found - corners).max() < 0.01 * diagonal
    page = to_page(frame, "gray")
    assert page.height / page.width == pytest.approx(297 / 210, rel=0.01)
    assert page.size_mm[1] == pytest.approx(297, rel=0.001)
    # No table left at the edges, and the paper evenly white across the page.
    border = np.concatenate(
        [
            page.image[:8].ravel(),
            page.image[-8:].ravel(),
            page.image[:, :8].ravel(),
            page.image[:, -8:].ravel(),
        ]
    )
    assert np.median(border) > 235
    assert (border < 120).mean() < 0.02
    paper = page.image[page.image > 128]
    assert np.percentile(paper, 5) > 200  # the lamp's falloff is gone
    # Its lines where the original has them (upright: turned, it would not match; another
    # certificate of the same layout reaches about 0.7).
    assert correlation(page.image, grey(original)) > 0.9
    assert correlation(page.image[::-1, ::-1], grey(original)) < 0.4
    # The text lines run straight across: the rows' darkness follows the original's (about
    # 0.5 for the same page left turned by 3°).
    rows = cv2.resize(page.image, (1, 350), interpolation=cv2.INTER_AREA).ravel()
    original_rows = cv2.resize(grey(original), (1, 350), interpolation=cv2.INTER_AREA).ravel()
    assert np.corrcoef(rows, original_rows)[0, 1] > 0.85


def test_the_photographed_page_is_darker_on_one_side_before_processing():
    """The synthetic photo gives the processing real work: the lamp leaves the page uneven."""
    frame, corners = photograph(render_page(1), 1)
    mask = np.zeros(frame.shape[:2], np.uint8)
    cv2.fillConvexPoly(mask, corners.astype(np.int32), 1)
    page = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)[mask > 0]
    paper = page[page > np.percentile(page, 30)]
    assert np.percentile(paper, 95) - np.percentile(paper, 5) > 40


def test_a_text_page_from_the_camera_is_black_and_white_and_keeps_its_lines():
    original = render_page(2)
    frame, _ = photograph(original, 2)
    page = to_page(frame, "text")
    assert page.bilevel
    assert set(np.unique(page.image)) <= {0, 255}
    assert 0.02 < (page.image == 0).mean() < 0.2  # ink, but not a dark page
    assert correlation(page.image, grey(original)) > 0.88


def test_a_colour_page_from_the_camera_keeps_the_blue_stamp():
    original = render_page(3)
    frame, _ = photograph(original, 3)
    page = to_page(frame, "color")
    assert page.image.shape[2] == 3
    red, green, blue = (page.image[..., c].astype(int) for c in range(3))
    assert ((blue - red > 60) & (blue - green > 60)).sum() > 500  # the stamp and signature
    assert correlation(grey(page.image), grey(original)) > 0.9


def test_without_a_page_in_sight_the_whole_frame_is_the_scan():
    frame = np.full((600, 800, 3), (60, 70, 80), np.uint8)
    assert find_page(frame) is None
    page = to_page(frame)
    assert (page.width, page.height) == (800, 600)
    large = to_page(np.full((3000, 4000, 3), 60, np.uint8))
    assert (large.width, large.height) == (3508, 2631)  # A4's long side at 300 dpi at most


def test_a_frame_that_is_no_bgr_image_is_refused():
    with pytest.raises(ValueError, match="BGR"):
        to_page(np.zeros((10, 10), np.uint8))
    with pytest.raises(ValueError, match="8-bit"):
        Page(np.zeros((10, 10), np.float32), 150)


def test_the_synthetic_backend_scans_a_new_page_each_time():
    scanner = open_scanner(ApplianceSettings(scanner="synthetic"))
    assert isinstance(scanner, DocumentCamera)
    first, second = run(scanner.scan()), run(scanner.scan())
    assert first.height / first.width == pytest.approx(297 / 210, rel=0.01)
    assert not np.array_equal(first.image[:200], second.image[:200])  # another number
    assert run(scanner.check()) == "ok"


def test_the_same_seed_gives_the_same_photo():
    one, _ = photograph(render_page(7), 7, (800, 600))
    two, _ = photograph(render_page(7), 7, (800, 600))
    other, _ = photograph(render_page(8), 8, (800, 600))
    assert np.array_equal(one, two)
    assert not np.array_equal(one, other)


def test_the_call_camera_through_the_relay_gives_stills():
    from aiortc.contrib.media import MediaRelay

    from appliance.devices.camera.synthetic import SyntheticCamera

    async def scan():
        camera = SyntheticCamera(640, 480, 30)
        scanner = DocumentCamera(TrackStill(MediaRelay(), camera))
        page, health = await scanner.scan(), await scanner.check()
        camera.stop()
        return page, health, await scanner.check()

    page, health, after_stop = run(scan())
    assert health == "ok"
    assert after_stop == "absent"
    assert page.width * page.height > 0.15 * 640 * 480


def test_an_absent_usb_document_camera_is_named():
    scanner = open_scanner(
        ApplianceSettings(scanner="camera", document_camera="opencv", document_camera_device=63)
    )
    assert run(scanner.check()) == "absent"
    with pytest.raises(ScannerMissing, match="/dev/video63"):
        run(scanner.scan())


def test_a_pi_document_camera_outside_raspberry_pi_os_says_what_to_install():
    scanner = open_scanner(ApplianceSettings(scanner="camera", document_camera="picamera2"))
    assert run(scanner.check()) == "absent"
    with pytest.raises(ScannerMissing, match="python3-picamera2"):
        run(scanner.scan())


def test_the_devices_open_the_call_camera_as_document_camera():
    from appliance.devices import open_devices

    devices = open_devices(ApplianceSettings(scanner="camera", audio="none", speaker="none"))
    try:
        assert isinstance(devices.scanner, DocumentCamera)
        assert isinstance(devices.scanner.source, TrackStill)
        assert devices.scanner.source.track is devices.camera
        assert devices.scanner.source.relay is devices.relay
    finally:
        devices.camera.stop()


def test_the_call_camera_as_document_camera_needs_the_call_camera():
    with pytest.raises(ValueError, match="relay"):
        open_scanner(ApplianceSettings(scanner="camera", document_camera="call"))


# --- settings and opening ---


def test_no_scanner_configured_opens_none():
    assert open_scanner(ApplianceSettings()) is None


def test_a_sane_scanner_from_the_settings():
    scanner = open_scanner(
        ApplianceSettings(
            scanner="sane",
            scanner_device="test",
            scanner_resolution=200,
            scanner_mode="color",
            scanner_options="--test-picture 'Color pattern'",
        )
    )
    assert isinstance(scanner, SaneScanner)
    assert scanner.name == "sane:test"
    assert scanner.arguments() == [
        "-d", "test", "--format=png", "--resolution", "200", "--mode", "Color",
        "--test-picture", "Color pattern",
    ]  # fmt: skip


def test_scanner_options_with_an_open_quote_are_refused_at_start():
    with pytest.raises(ValidationError, match="scanner_options"):
        ApplianceSettings(scanner="sane", scanner_options="--test-picture 'Color")


# --- pages, the session and the PDF ---


def numbered(n: int, size=(300, 200)) -> Page:
    """A grey page with its number drawn on it, asymmetric so turns show."""
    image = np.full((size[1], size[0]), 255, np.uint8)
    cv2.putText(image, str(n), (20, 80), cv2.FONT_HERSHEY_SIMPLEX, 2.5, 0, 6)
    image[-20:, :40] = 0  # a block in the bottom left corner
    return Page(image, 100)


def test_a_page_turns_clockwise_by_quarter_turns():
    page = numbered(1)
    turned = page.rotated(90)
    assert (turned.width, turned.height) == (page.height, page.width)
    assert turned.image[:20, :40].min() == 0  # bottom left went to top left
    assert np.array_equal(turned.rotated(270).image, page.image)
    assert np.array_equal(page.rotated(180).image, page.image[::-1, ::-1])
    with pytest.raises(ValueError, match="45"):
        page.rotated(45)


def test_the_session_adds_turns_retakes_and_removes_pages():
    session = ScanSession(max_pages=3)
    one, two, three = numbered(1), numbered(2), numbered(3)
    assert [session.add(p) for p in (one, two, three)] == [0, 1, 2]
    with pytest.raises(ValueError, match="at most 3"):
        session.add(numbered(4))
    session.rotate(1, 90)
    assert (session[1].width, session[1].height) == (200, 300)
    session.rotate(1, -90)
    assert np.array_equal(session[1].image, two.image)
    again = numbered(5)
    session.retake(0, again)
    assert session[0] is again
    assert np.array_equal(session.remove(1).image, two.image)
    assert list(session) == [again, three]
    with pytest.raises(IndexError, match="no page 2"):
        session.rotate(2, 90)
    with pytest.raises(ValueError, match="quarter turns"):
        session.rotate(0, 30)


def test_the_session_writes_its_pages_in_order_with_their_turns(poppler, tmp_path):
    session = ScanSession()
    for n in (1, 2, 3):
        session.add(numbered(n))
    session.rotate(2, 90)
    session.remove(0)
    info = session.to_pdf(tmp_path / "out.pdf")
    assert (info.pages, info.size) == (2, (tmp_path / "out.pdf").stat().st_size)
    width_pt, height_pt = 300 / 100 * 72, 200 / 100 * 72
    sizes = page_sizes_pt(info.path)
    assert sizes == [
        pytest.approx((width_pt, height_pt), abs=0.5),
        pytest.approx((height_pt, width_pt), abs=0.5),
    ]
    for number, page in ((1, session[0]), (2, session[1])):
        back = rendered(info.path, number, 100, grey=True)
        assert back.shape == page.image.shape
        assert np.abs(back.astype(int) - page.image.astype(int)).mean() < 3


def test_no_pages_make_no_pdf(tmp_path):
    with pytest.raises(ValueError, match="at least one page"):
        ScanSession().to_pdf(tmp_path / "empty.pdf")
    assert not (tmp_path / "empty.pdf").exists()


def test_a_photographed_page_makes_an_a4_pdf(poppler, tmp_path):
    frame, _ = photograph(render_page(4), 4)
    info = write_pdf([to_page(frame)], tmp_path / "a4.pdf")
    ((width_pt, height_pt),) = page_sizes_pt(info.path)
    assert (width_pt, height_pt) == pytest.approx((595.3, 841.9), abs=1.5)


def test_the_preview_is_a_small_jpeg():
    preview = preview_jpeg(Page(np.full((3000, 2000), 200, np.uint8), 300), 400)
    image = cv2.imdecode(np.frombuffer(preview, np.uint8), cv2.IMREAD_UNCHANGED)
    assert preview.startswith(b"\xff\xd8")
    assert image.shape == (400, 267)


def test_the_keeper_holds_pages_by_id_until_discarded(poppler, tmp_path):
    keeper = PageKeeper(DocumentCamera(SyntheticStill(seed=10)))
    first, second = run(keeper.capture()), run(keeper.capture())
    assert first != second
    upright = cv2.imdecode(np.frombuffer(keeper.preview(first, 0), np.uint8), 0)
    turned = cv2.imdecode(np.frombuffer(keeper.preview(first, 90), np.uint8), 0)
    assert upright.shape == turned.shape[::-1]
    assert upright.shape[0] > upright.shape[1]  # portrait
    pdf = run(keeper.pdf([(first, 0), (second, 270)]))
    (tmp_path / "kept.pdf").write_bytes(pdf)
    (portrait, landscape) = page_sizes_pt(tmp_path / "kept.pdf")
    assert portrait[1] > portrait[0] and landscape[0] > landscape[1]
    keeper.discard([first, first])
    with pytest.raises(KeyError):
        keeper.preview(first, 0)
    assert keeper.preview(second, 0)


# --- liveness ---


def test_the_health_report_says_absent_without_a_scanner_and_ok_with_one(sane):
    from aiortc.contrib.media import MediaRelay

    from appliance.media.feed import Feed

    def monitor(scanner):
        devices = Devices(camera=None, microphone=None, speaker=None, relay=MediaRelay(),
                          scanner=scanner)  # fmt: skip
        return DeviceMonitor(devices, Feed(), report=lambda _: None)

    assert monitor(None).health().scanner == "absent"
    assert run(scanner_health(None)) == "absent"

    async def first_check(scanner):
        """What the monitor reports after its first check (it then waits five seconds)."""
        watched = monitor(scanner)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(watched._check_scanner(), 1)
        return watched.health().scanner

    assert run(first_check(SaneScanner("test", 150))) == "ok"
    assert run(first_check(SaneScanner("test:9", 150))) == "absent"
    assert run(scanner_health(SaneScanner("test", 150))) == "ok"
