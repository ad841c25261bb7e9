"""A synthetic document camera: a rendered certificate (title, text lines, a stamp, a signature;
the same for the same seed) photographed at an angle on a darker table under uneven light, so
that finding, flattening and evening out the page has real work to do. For demo and tests."""

from __future__ import annotations

import asyncio
import math

import cv2
import numpy as np
from numpy.typing import NDArray

from protocol.kiosk import DeviceHealth

PAGE_SIZE = (1240, 1754)  # A4 at 150 dpi
FRAME_SIZE = (2000, 1500)  # the backend's stills; the benchmark asks for 4000 × 3000
INK = (20, 20, 28)  # RGB
BLUE_INK = (30, 40, 150)
LETTERS = "abcdefghijklmnopqrstuvwxyz"


def render_page(seed: int, size: tuple[int, int] = PAGE_SIZE) -> NDArray[np.uint8]:
    """A certificate as RGB (height, width, 3): drawn at A4 150 dpi, then scaled to `size`."""
    rng = np.random.default_rng(seed)
    width, height = PAGE_SIZE
    page = np.full((height, width, 3), 250, np.uint8)
    font = cv2.FONT_HERSHEY_SIMPLEX
    cv2.putText(page, "BESCHEINIGUNG", (120, 200), font, 2.6, INK, 7, cv2.LINE_AA)
    cv2.putText(page, f"Nr. {seed:06d}", (120, 270), font, 1.1, INK, 2, cv2.LINE_AA)
    cv2.line(page, (120, 300), (width - 120, 300), INK, 3)
    y = 380
    while y < 1380:
        words = _line(rng, ends_paragraph=rng.random() < 0.2)
        cv2.putText(page, words, (120, y), font, 0.95, INK, 2, cv2.LINE_AA)
        y += 90 if words.endswith(".") else 50
    centre = (330, 1560)
    cv2.circle(page, centre, 110, BLUE_INK, 6, cv2.LINE_AA)
    cv2.circle(page, centre, 80, BLUE_INK, 3, cv2.LINE_AA)
    cv2.putText(page, "STADT", (centre[0] - 62, centre[1] + 14), font, 1.2, BLUE_INK, 3)
    cv2.polylines(page, [_signature(rng)], False, BLUE_INK, 4, cv2.LINE_AA)
    if size != PAGE_SIZE:
        return np.asarray(cv2.resize(page, size, interpolation=cv2.INTER_AREA), np.uint8)
    return page


def _line(rng: np.random.Generator, ends_paragraph: bool) -> str:
    """A line of made-up words, about as long as the page is wide (shorter at a paragraph's end)."""
    budget = int(rng.integers(20, 40)) if ends_paragraph else 58
    words: list[str] = []
    while sum(len(w) + 1 for w in words) < budget:
        words.append("".join(rng.choice(list(LETTERS), int(rng.integers(2, 11)))))
    return " ".join(words) + ("." if ends_paragraph else "")


def _signature(rng: np.random.Generator) -> NDArray[np.int32]:
    """A handwritten-looking stroke: a few loops drawn left to right."""
    t = np.linspace(0, 1, 400)
    x = 700 + 380 * t + 28 * np.sin(t * 2 * math.pi * rng.uniform(4, 7))
    y = 1600 - 40 * np.sin(t * 2 * math.pi * rng.uniform(1, 2)) + 35 * np.cos(t * 26)
    return np.stack([x, y], axis=1).astype(np.int32).reshape(-1, 1, 2)


def photograph(
    page: NDArray[np.uint8], seed: int, size: tuple[int, int] = FRAME_SIZE
) -> tuple[NDArray[np.uint8], NDArray[np.float32]]:
    """`page` (RGB) photographed: a BGR frame of `size` (width, height) and where the page's
    corners lie in it (top left, top right, bottom right, bottom left)."""
    rng = np.random.default_rng(seed)
    width, height = size
    corners = _placement(rng, page.shape[1] / page.shape[0], width, height)
    frame = _table(rng, width, height)
    source = np.array(
        [[0, 0], [page.shape[1], 0], [page.shape[1], page.shape[0]], [0, page.shape[0]]],
        np.float32,
    )
    matrix = cv2.getPerspectiveTransform(source, corners)
    bgr = cv2.cvtColor(page, cv2.COLOR_RGB2BGR)
    cv2.warpPerspective(bgr, matrix, size, frame, cv2.INTER_LINEAR, cv2.BORDER_TRANSPARENT)
    lit = cv2.multiply(frame, _light(rng, width, height), scale=1 / 255, dtype=cv2.CV_8U)
    soft = cv2.GaussianBlur(lit, (0, 0), max(0.6, width / 4000))
    noise = rng.integers(-3, 4, frame.shape, dtype=np.int16)  # the sensor's
    return np.clip(soft + noise, 0, 255).astype(np.uint8), corners


def _placement(
    rng: np.random.Generator, aspect: float, width: int, height: int
) -> NDArray[np.float32]:
    """Where the page lies: most of the frame's height, turned a little, its top farther from
    the camera (narrower) than its bottom."""
    page_h = height * rng.uniform(0.74, 0.84)
    page_w = page_h * aspect
    half = np.array(
        [
            [-page_w / 2, -page_h / 2],
            [page_w / 2, -page_h / 2],
            [page_w / 2, page_h / 2],
            [-page_w / 2, page_h / 2],
        ]
    )
    tilt = rng.uniform(0.05, 0.1) * page_w / 2
    half[0, 0] += tilt
    half[1, 0] -= tilt
    angle = math.radians(rng.uniform(-10, 10))
    turn = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    centre = np.array([width / 2, height / 2]) + rng.uniform(-0.04, 0.04, 2) * (width, height)
    return (half @ turn.T + centre).astype(np.float32)


def _table(rng: np.random.Generator, width: int, height: int) -> NDArray[np.uint8]:
    """A dark wooden desk: brown, with soft blotches (drawn small and scaled up)."""
    small = rng.normal(0, 12, (height // 50 + 1, width // 50 + 1)).astype(np.float32)
    blotches = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
    brown = np.array([45, 62, 85], np.float32)  # BGR
    return np.clip(brown + blotches[..., None], 0, 255).astype(np.uint8)


def _light(rng: np.random.Generator, width: int, height: int) -> NDArray[np.uint8]:
    """A desk lamp off to one side: bright there, dimmer (about half) across the frame."""
    ys, xs = np.mgrid[0:64, 0:64].astype(np.float32) / 64
    lamp_x, lamp_y = rng.uniform(0.1, 0.9), rng.uniform(0.0, 0.3)
    falloff = np.exp(-((xs - lamp_x) ** 2 + (ys - lamp_y) ** 2) / 0.5)
    light = (0.5 + 0.5 * falloff) * 255
    light = cv2.resize(light, (width, height), interpolation=cv2.INTER_LINEAR)
    return np.repeat(light.astype(np.uint8)[..., None], 3, axis=2)


class SyntheticStill:
    """Stills of synthetic certificates, a new one each time (seeds `seed`, `seed + 1`, ...)."""

    name = "synthetic"

    def __init__(self, seed: int = 0, size: tuple[int, int] = FRAME_SIZE) -> None:
        self.seed, self.size = seed, size

    async def still(self) -> NDArray[np.uint8]:
        """The next photographed page (BGR)."""
        seed, self.seed = self.seed, self.seed + 1
        frame, _ = await asyncio.to_thread(lambda: photograph(render_page(seed), seed, self.size))
        return frame

    async def check(self) -> DeviceHealth:
        """Always there."""
        return "ok"
