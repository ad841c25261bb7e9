"""A photo of a page turned into a scan: find the page's edges, correct the perspective, crop,
even out the lighting, and (for text) binarise. OpenCV, on the camera's BGR frame.

The edges are looked for in a copy of about a megapixel, so a 12 MP frame costs no more to
search than a small one; only the warp and the lighting touch every pixel, and they work on
greyscale unless the page is wanted in colour.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import cv2
import numpy as np

from appliance.devices.scanner.interface import Page, ScanMode

if TYPE_CHECKING:
    from cv2.typing import MatLike
    from numpy.typing import NDArray

SEARCH_SIDE = 1000  # the long side of the copy the edges are looked for in
MIN_AREA = 0.15  # a page covers at least this share of the frame
MAX_AREA = 0.97  # more is the frame's own border (a page filling it needs no finding)
MAX_SIDE = 3508  # A4's long side at 300 dpi: more is not kept
A4_ASPECT = 297 / 210  # ISO 216 pages (A3, A4, A5) all have this shape
SNAP = 0.05  # a measured shape this close to ISO 216 is taken as ISO 216 (4:3 is not)
LONG_SIDE_IN = 297 / 25.4  # a camera cannot measure the page: it is taken as A4 for its dpi
BACKGROUND_SCALE = 8  # the paper's lighting is estimated at 1/8 of the page's size
INSET = 0.008  # the corners moved this share towards the page's centre: no sliver of table
INK_CONTRAST = 25  # ink is this much darker than the paper around it


def to_page(frame: NDArray[np.uint8], mode: ScanMode = "gray") -> Page:
    """The page in a camera's BGR frame, flat, cropped and evenly lit, upright when it lay
    turned by less than 45° (the whole frame when no page's edges are found)."""
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"a camera frame is BGR (h, w, 3) with 8-bit samples, not {frame.shape}")
    corners = find_page(frame)
    if corners is None:
        flat = frame if mode == "color" else _u8(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY))
        if max(flat.shape[:2]) > MAX_SIDE:
            shrink = MAX_SIDE / max(flat.shape[:2])
            flat = _u8(cv2.resize(flat, None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA))
    else:  # only the page's part of the frame is converted and warped
        region, corners = around(frame, corners)
        source = region if mode == "color" else _u8(cv2.cvtColor(region, cv2.COLOR_BGR2GRAY))
        flat = flatten(source, corners)
    even = even_light(flat)
    dpi = max(10, round(max(flat.shape[:2]) / LONG_SIDE_IN))
    if mode == "text":
        return Page(binarise(even), dpi, bilevel=True)
    if mode == "color":
        even = _u8(cv2.cvtColor(even, cv2.COLOR_BGR2RGB))
    return Page(even, dpi)


def find_page(frame: NDArray[np.uint8]) -> NDArray[np.float32] | None:
    """The page's four corners in the frame (top left, top right, bottom right, bottom left),
    or None when nothing page-like covers enough of it."""
    height, width = frame.shape[:2]
    scale = min(1.0, SEARCH_SIDE / max(height, width))
    # Linear, not area: a tenth of the time at 12 MP, and the blur below smooths what it skips.
    small = cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
    grey = _u8(cv2.GaussianBlur(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY), (5, 5), 0))
    best: MatLike | None = None
    best_area = MIN_AREA * grey.shape[0] * grey.shape[1]
    for outline in _outlines(grey):
        contours, _ = cv2.findContours(outline, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        for contour in sorted(contours, key=cv2.contourArea, reverse=True)[:5]:
            quad = _quadrilateral(contour)
            area = cv2.contourArea(quad) if quad is not None else 0.0
            if best_area < area < MAX_AREA * grey.shape[0] * grey.shape[1]:
                best, best_area = quad, area
    if best is None:
        return None
    corners = np.asarray(best, np.float32).reshape(4, 2) / scale
    corners += (corners.mean(axis=0) - corners) * INSET
    return order_corners(corners)


def _outlines(grey: NDArray[np.uint8]) -> list[MatLike]:
    """Two views of where the page ends: its edges (Canny, thresholds from the median), and
    where it is brighter than the table (Otsu) for when an edge is too soft to follow."""
    counts = np.cumsum(cv2.calcHist([grey], [0], None, [256], [0, 256]).ravel())
    median = float(np.searchsorted(counts, counts[-1] / 2))
    edges = cv2.Canny(grey, 0.5 * median, 1.2 * median)
    edges = cv2.dilate(edges, np.ones((3, 3), np.uint8))
    _, bright = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    bright = cv2.morphologyEx(bright, cv2.MORPH_OPEN, np.ones((5, 5), np.uint8))
    return [edges, bright]


def _quadrilateral(contour: MatLike) -> MatLike | None:
    """The contour as four corners, if it is close to a convex quadrilateral."""
    hull = cv2.convexHull(contour)
    perimeter = cv2.arcLength(hull, True)
    for epsilon in (0.02, 0.03, 0.05):
        approx = cv2.approxPolyDP(hull, epsilon * perimeter, True)
        if len(approx) == 4 and cv2.isContourConvex(approx):
            return approx
    return None


def around(
    frame: NDArray[np.uint8], corners: NDArray[np.float32]
) -> tuple[NDArray[np.uint8], NDArray[np.float32]]:
    """The part of the frame the corners enclose (a view, not a copy), and the corners in it."""
    left, top = np.floor(corners.min(axis=0)).clip(0).astype(int)
    right, bottom = np.ceil(corners.max(axis=0)).astype(int) + 1
    return frame[top:bottom, left:right], corners - np.array([left, top], np.float32)


def order_corners(points: NDArray[np.float32]) -> NDArray[np.float32]:
    """Four points as top left, top right, bottom right, bottom left: clockwise from the one
    nearest the frame's top left corner (the page is taken as upright within 45°)."""
    centre = points.mean(axis=0)
    angles = np.arctan2(points[:, 1] - centre[1], points[:, 0] - centre[0])
    clockwise = points[np.argsort(angles)]  # image y points down: increasing angle is clockwise
    first = int(np.argmin(clockwise[:, 0] + clockwise[:, 1]))
    return np.roll(clockwise, -first, axis=0).astype(np.float32)


def page_size(corners: NDArray[np.float32]) -> tuple[int, int]:
    """Width and height of the flattened page: its longer opposite edges, snapped to ISO 216's
    shape when close, at most MAX_SIDE on the long side, which is then rounded to a whole
    number of dots per inch of A4 (JPEG records its resolution in whole dpi)."""
    top_left, top_right, bottom_right, bottom_left = corners
    width = max(_length(top_right - top_left), _length(bottom_right - bottom_left))
    height = max(_length(bottom_left - top_left), _length(bottom_right - top_right))
    long, short = max(width, height), min(width, height)
    if abs(long / short / A4_ASPECT - 1) < SNAP:
        short = long / A4_ASPECT
    dpi = max(1, round(min(long, MAX_SIDE) / LONG_SIDE_IN))
    shrink = dpi * LONG_SIDE_IN / long
    long, short = long * shrink, short * shrink
    size = (short, long) if height >= width else (long, short)
    return max(1, round(size[0])), max(1, round(size[1]))


def flatten(image: NDArray[np.uint8], corners: NDArray[np.float32]) -> NDArray[np.uint8]:
    """The quadrilateral `corners` of `image` warped into an upright rectangle."""
    width, height = page_size(corners)
    target = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float32)
    matrix = cv2.getPerspectiveTransform(corners.astype(np.float32), target)
    flat = cv2.warpPerspective(
        image, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    return _u8(flat)


def even_light(image: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """The paper made evenly white: each pixel divided by the paper's brightness around it,
    estimated on a small copy by taking the brightest nearby (a dilation: ink disappears)."""
    height, width = image.shape[:2]
    small = cv2.resize(
        image,
        (max(1, width // BACKGROUND_SCALE), max(1, height // BACKGROUND_SCALE)),
        interpolation=cv2.INTER_AREA,
    )
    paper = cv2.dilate(small, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9)))
    paper = cv2.GaussianBlur(paper, (0, 0), 4)
    paper = cv2.resize(paper, (width, height), interpolation=cv2.INTER_LINEAR)
    return _u8(cv2.divide(image, np.maximum(paper, 1), scale=255))


def binarise(grey: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """Black ink on white paper: each pixel against the mean of its neighbourhood (a block of
    about 6 mm, wider than a bold stroke, which would otherwise come out hollow), so faint
    strokes survive where one threshold for the page would lose them."""
    block = max(15, (max(grey.shape) // 50) | 1)
    return _u8(
        cv2.adaptiveThreshold(
            grey, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, block, INK_CONTRAST
        )
    )


def _length(vector: NDArray[np.float32]) -> float:
    return float(np.hypot(vector[0], vector[1]))


def _u8(image: MatLike) -> NDArray[np.uint8]:
    """OpenCV's result as the 8-bit array it is (its stubs say any matrix)."""
    return np.asarray(image, np.uint8)
