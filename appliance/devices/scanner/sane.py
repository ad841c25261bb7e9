"""A flatbed scanner through SANE's `scanimage` (Debian: sane-utils), run as a child process:
no binding to build, and a scanner that hangs cannot hang the daemon."""

from __future__ import annotations

import asyncio
import contextlib
import io
import shutil
from collections.abc import Sequence

import numpy as np
from PIL import Image, UnidentifiedImageError

from appliance.devices.scanner.interface import Page, ScanMode
from appliance.errors import ScannerFailed, ScannerMissing
from protocol.kiosk import DeviceHealth

SCAN_TIMEOUT_S = 120.0  # a slow A4 scan at 600 dpi takes about a minute
CHECK_TIMEOUT_S = 5.0
LIST_HINT = "'scanimage -L' lists the scanners SANE finds"
LISTED = "device: "  # scanimage -L's lines for devices (it says "No scanners were ..." alike)
# SANE's standard names for the scan modes (saneopts.h); a text page is scanned grey and
# binarised here, where the threshold is the same for every scanner.
SANE_MODES = {"color": "Color", "gray": "Gray", "text": "Gray"}


class SaneScanner:
    """One SANE device, by its SANE name (`scanimage -L`; `test` is SANE's own test device);
    an empty name leaves the choice to scanimage (the first it finds, which is slower)."""

    def __init__(
        self,
        device: str,
        resolution: int,
        mode: ScanMode = "gray",
        options: Sequence[str] = (),
        program: str = "scanimage",
        timeouts: tuple[float, float] = (SCAN_TIMEOUT_S, CHECK_TIMEOUT_S),
    ) -> None:
        if not 10 <= resolution <= 4800:
            raise ValueError(f"scanner_resolution is 10 to 4800 dpi, not {resolution}")
        self.device, self.resolution, self.mode = device, resolution, mode
        self.options, self.program = tuple(options), program
        self.scan_timeout, self.check_timeout = timeouts
        self.name = f"sane:{device or 'default'}"
        self._scanning = asyncio.Lock()

    def arguments(self) -> list[str]:
        """The scanimage command line of a scan."""
        device = ["-d", self.device] if self.device else []
        return [
            *device,
            "--format=png",
            "--resolution",
            str(self.resolution),
            "--mode",
            SANE_MODES[self.mode],
            *self.options,
        ]

    async def scan(self) -> Page:
        """One page, as the scanner delivers it (binarised when the mode is text)."""
        async with self._scanning:
            code, out, err = await self._run(self.arguments(), self.scan_timeout)
        if code != 0:
            raise self._error(code, err)
        page = self._page(out)
        if self.mode == "text":
            from appliance.devices.scanner.page import binarise

            grey = np.asarray(Image.fromarray(page.image).convert("L"), np.uint8)
            return Page(binarise(grey), page.dpi, bilevel=True)
        return page

    async def check(self) -> DeviceHealth:
        """ok when the device opens (`scanimage -d <device> -A`; with no device named, when
        `scanimage -L` lists one), stalled when it does not answer in time, absent otherwise.
        While a scan runs the device is busy: it is taken to be there."""
        if self._scanning.locked():
            return "ok"
        arguments = ["-d", self.device, "-A"] if self.device else ["-L", "-f", f"{LISTED}%d%n"]
        try:
            code, out, err = await self._run(arguments, self.check_timeout)
        except ScannerMissing:
            return "absent"
        except ScannerFailed:
            return "stalled"
        if code != 0:
            return "stalled" if "busy" in err.lower() else "absent"  # busy: another program
        listed = any(line.startswith(LISTED.encode()) for line in out.splitlines())
        return "ok" if self.device or listed else "absent"

    async def _run(self, arguments: list[str], timeout: float) -> tuple[int, bytes, str]:
        """scanimage's exit code, output and error text (ScannerMissing when it is not
        installed, ScannerFailed when it does not finish in time)."""
        program = shutil.which(self.program)
        if program is None:
            raise ScannerMissing(
                f"{self.program!r} is not installed (Debian: apt install sane-utils)"
            )
        process = await asyncio.create_subprocess_exec(
            program,
            *arguments,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await asyncio.wait_for(process.communicate(), timeout)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
            raise ScannerFailed(
                f"scanner {self.name} did not answer within {timeout:g} s"
            ) from None
        except asyncio.CancelledError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            raise
        assert process.returncode is not None
        return process.returncode, out, err.decode(errors="replace").strip()

    def _error(self, code: int, err: str) -> Exception:
        """What a failed scanimage run means, in words."""
        last = err.splitlines()[-1] if err else f"exit code {code}"
        if "open of device" in err or "no SANE devices found" in err:
            named = f"no scanner {self.device!r}" if self.device else "no scanner found"
            return ScannerMissing(f"{named} (scanner_device): {last}; {LIST_HINT}")
        return ScannerFailed(f"scanner {self.name} failed: {last}")

    def _page(self, png: bytes) -> Page:
        """scanimage's PNG as a page (its resolution from the file when it records one)."""
        try:
            image = Image.open(io.BytesIO(png))
            image.load()
        except (UnidentifiedImageError, OSError) as exc:
            raise ScannerFailed(f"scanner {self.name} sent no image ({exc})") from None
        dpi = float(image.info.get("dpi", (self.resolution,))[0] or self.resolution)
        if abs(dpi / self.resolution - 1) < 0.01:
            dpi = self.resolution  # what was asked for, not PNG's pixels per metre rounded
        if image.mode == "I;16" or image.mode == "I":
            pixels = (np.asarray(image, np.uint32) >> 8).astype(np.uint8)  # 16-bit grey
        elif image.mode in ("1", "L", "P", "LA"):
            pixels = np.asarray(image.convert("L"), np.uint8)
        else:
            pixels = np.asarray(image.convert("RGB"), np.uint8)
        return Page(np.ascontiguousarray(pixels), float(dpi))
