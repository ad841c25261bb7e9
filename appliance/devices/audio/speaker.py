"""The counter's loudspeaker or headset through ALSA (PyAV's FFmpeg), for counters where the
daemon, not the clerk's screen, plays the citizen's voice.

Writing to a sound card blocks until it has room, so a thread of its own does it. Frames wait
in a short queue; when the card plays slower than the network delivers (two clocks drift), the
oldest are dropped: the voice stays current instead of falling behind. A card that fails (a
USB headset pulled out) is opened again every few seconds, so plugging it back in is enough.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from fractions import Fraction
from typing import Any

import av
from av import AudioFrame

from appliance.devices.audio.alsa import configure_alsa
from appliance.errors import AudioDeviceMissing

log = logging.getLogger("appliance.speaker")
RATE = 48000
BACKLOG = 5  # frames (20 ms each from aiortc's decoders): at most 100 ms behind
REOPEN_S = 3.0


class AlsaSpeaker:
    """Plays audio frames on an ALSA device, from any thread, without blocking the caller."""

    def __init__(self, device: str, *, layout: str = "stereo") -> None:
        configure_alsa()
        self.device = device
        self._layout = layout
        self._output: Any = None
        self._stream: Any = None
        self._open()  # at start: a wrong device is said now, not in the first call
        self._resampler: av.AudioResampler | None = None
        self._source: tuple[str, str, int] | None = None  # the format it resamples from
        self._failed_at: float | None = None
        self._frames: queue.Queue[AudioFrame | None] = queue.Queue(BACKLOG)
        self.played = 0
        self.dropped = 0
        self._thread = threading.Thread(target=self._run, name="speaker", daemon=True)
        self._thread.start()

    def _open(self) -> None:
        try:
            output = av.open(self.device, mode="w", format="alsa")
            stream = output.add_stream("pcm_s16le", rate=RATE, layout=self._layout)
            output.start_encoding()  # FFmpeg opens the sound card here
        except (av.FFmpegError, OSError) as exc:
            raise AudioDeviceMissing(
                f"no speaker at ALSA device {self.device!r}: {exc}; 'aplay -L' lists the devices"
            ) from None
        self._output, self._stream = output, stream
        self._written = 0  # samples: the muxer wants timestamps that only grow

    def play(self, frame: AudioFrame) -> None:
        """Queue a frame; when the queue is full, the oldest frame gives way."""
        self._put(frame)

    def _put(self, item: AudioFrame | None) -> None:
        while True:
            try:
                self._frames.put_nowait(item)
                return
            except queue.Full:
                with contextlib.suppress(queue.Empty):
                    self._frames.get_nowait()
                    self.dropped += 1

    def _convert(self, frame: AudioFrame) -> list[AudioFrame]:
        source = (frame.format.name, frame.layout.name, frame.sample_rate)
        if self._resampler is None or source != self._source:  # a new call's decoder
            self._resampler = av.AudioResampler(format="s16", layout=self._layout, rate=RATE)
            self._source = source
        frame.pts = None  # every call counts from zero; the speaker's timeline goes on
        return self._resampler.resample(frame)

    def _usable(self) -> bool:
        """Whether the card is open, opening it again a while after it failed."""
        if self._output is not None:
            return True
        if self._failed_at is not None and time.monotonic() - self._failed_at < REOPEN_S:
            return False
        try:
            self._open()
        except AudioDeviceMissing:
            self._failed_at = time.monotonic()
            return False
        log.info("speaker %s: playing again", self.device)
        self._failed_at = None
        return True

    def _run(self) -> None:
        while (frame := self._frames.get()) is not None:
            if not self._usable():
                self.dropped += 1
                continue
            try:
                for ready in self._convert(frame):
                    ready.pts, ready.time_base = self._written, Fraction(1, RATE)
                    self._written += ready.samples
                    for packet in self._stream.encode(ready):
                        self._output.mux(packet)
                    self.played += 1
            except (av.FFmpegError, OSError) as exc:
                log.warning(
                    "speaker %s failed (%s): trying again in %.0f s", self.device, exc, REOPEN_S
                )
                self._close_output()
                self._failed_at = time.monotonic()

    def _close_output(self) -> None:
        output, self._output = self._output, None
        if output is not None:
            with contextlib.suppress(av.FFmpegError, OSError):
                output.close()

    def close(self) -> None:
        """Stop playing (after what is queued) and release the device."""
        self._put(None)
        self._thread.join(5)
        self._close_output()
