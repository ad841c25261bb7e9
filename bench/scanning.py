"""The document camera's cost: a 12 MP frame (4000 × 3000, a synthetic certificate photographed at
an angle under uneven light) to a one-page PDF: find the edges, warp, crop, even out the light
(binarise for text), encode, img2pdf. Target: 150 ms per page on the 2-core test machine.

Writes its key `scan_to_pdf_ms_per_page` (greyscale, the default mode; the median of RUNS) into
bench/results/documents.json, keeping what other benchmarks wrote there, with the breakdown by
stage and by mode under `scan_to_pdf`. `measure()` is what bench/documents.py may call instead.
Run: .venv/bin/python bench/scanning.py
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cv2
import img2pdf
import numpy as np

from appliance.devices.scanner.interface import Page, ScanMode
from appliance.devices.scanner.page import (
    LONG_SIDE_IN,
    around,
    binarise,
    even_light,
    find_page,
    flatten,
    to_page,
)
from appliance.devices.scanner.pdf import encode, pdf_bytes
from appliance.devices.scanner.synthetic import photograph, render_page
from bench.common import RESULTS, machine

RUNS = int(os.environ.get("RUNS", "15"))
FRAME = (4000, 3000)
TARGET_MS = 150.0


def _ms(run: Callable[[], object], cpu: list[float] | None = None) -> list[float]:
    """RUNS wall-clock timings of `run`, in milliseconds, after one warm-up (and the process's
    CPU time of each, all threads, into `cpu`)."""
    run()
    times = []
    for _ in range(RUNS):
        start, start_cpu = time.perf_counter(), time.process_time()
        run()
        times.append((time.perf_counter() - start) * 1000)
        if cpu is not None:
            cpu.append((time.process_time() - start_cpu) * 1000)
    return times


def _stages(frame: np.ndarray, mode: ScanMode) -> dict[str, float]:
    """Median milliseconds of each stage, run one by one as `to_page` and `pdf_bytes` do."""
    corners = find_page(frame)
    assert corners is not None, "the benchmark's page was not found"
    region, shifted = around(frame, corners)

    def source() -> np.ndarray:
        return region if mode == "color" else cv2.cvtColor(region, cv2.COLOR_BGR2GRAY)

    grey = source()
    flat = flatten(grey, shifted)
    even = even_light(flat)
    final = binarise(even) if mode == "text" else even
    if mode == "color":
        final = cv2.cvtColor(even, cv2.COLOR_BGR2RGB)
    page = Page(final, round(max(flat.shape[:2]) / LONG_SIDE_IN), bilevel=mode == "text")
    encoded = encode(page)
    timings = {
        "find_edges": _ms(lambda: find_page(frame)),
        "crop_and_convert": _ms(source),
        "warp": _ms(lambda: flatten(grey, shifted)),
        "even_light": _ms(lambda: even_light(flat)),
        "encode": _ms(lambda: encode(page)),
        "img2pdf": _ms(lambda: img2pdf.convert([encoded])),
    }
    if mode == "text":
        timings["binarise"] = _ms(lambda: binarise(even))
    return {name: round(statistics.median(times), 1) for name, times in timings.items()}


def measure() -> dict[str, Any]:
    """{"scan_to_pdf_ms_per_page": median ms (greyscale), "scan_to_pdf": the details}."""
    frame, _ = photograph(render_page(1), 1, FRAME)
    load = os.getloadavg()[0]
    modes: dict[str, Any] = {}
    for mode in ("gray", "text", "color"):
        page = to_page(frame, mode)
        cpu: list[float] = []
        times = _ms(lambda mode=mode: pdf_bytes([to_page(frame, mode)]), cpu)
        modes[mode] = {
            "median_ms": round(statistics.median(times), 1),
            "min_ms": round(min(times), 1),
            "max_ms": round(max(times), 1),
            "cpu_median_ms": round(statistics.median(cpu), 1),
            "page_px": [page.width, page.height],
            "dpi": page.dpi,
            "pdf_kb": round(len(pdf_bytes([page])) / 1024),
            "stages_median_ms": _stages(frame, mode),
        }
    return {
        "scan_to_pdf_ms_per_page": modes["gray"]["median_ms"],
        "scan_to_pdf": {
            "frame_px": list(FRAME),
            "runs": RUNS,
            "target_ms": TARGET_MS,
            "opencv_threads": cv2.getNumThreads(),
            "load_average_at_start": round(load, 2),  # other work on the machine inflates it
            "by_mode": modes,
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
        },
    }


def merge(results: dict[str, Any], path: Path = RESULTS / "documents.json") -> Path:
    """Put `results` into the results file, keeping every other key in it (bench/documents.py
    writes the same file)."""
    body: dict[str, Any] = {"metrics": {}}
    if path.exists():
        body = json.loads(path.read_text())
    body.setdefault("metrics", {})["scan_to_pdf_ms_per_page"] = results["scan_to_pdf_ms_per_page"]
    body["scan_to_pdf"] = results["scan_to_pdf"]
    body.setdefault("machine", machine())
    body.setdefault("date", results["scan_to_pdf"]["date"])
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(body, indent=2) + "\n")
    return path


def main() -> None:
    results = measure()
    print(json.dumps(results, indent=2))
    print(f"written to {merge(results)}")


if __name__ == "__main__":
    main()
