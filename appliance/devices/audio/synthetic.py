"""A synthetic microphone (a 440 Hz tone) for tests and the demo."""

from __future__ import annotations

import asyncio
import fractions
import math
import time

import av
import numpy as np
from aiortc.mediastreams import MediaStreamTrack

RATE = 48000
SAMPLES = 960  # 20 ms


class ToneSource(MediaStreamTrack):
    """Mono 48 kHz frames of a sine tone, paced in real time."""

    kind = "audio"

    def __init__(self, frequency: float = 440.0) -> None:
        super().__init__()
        # One second of tone, drawn once: a whole number of periods for whole-hertz tones,
        # so reading it round and round stays seamless.
        t = np.arange(RATE) / RATE
        self._second = (0.2 * 32767 * np.sin(2 * math.pi * frequency * t)).astype(np.int16)
        self._sent = 0
        self._start: float | None = None

    async def recv(self) -> av.AudioFrame:
        """The next 20 ms of tone."""
        if self._start is None:
            self._start = time.monotonic()
        delay = self._start + self._sent / RATE - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        offset = self._sent % RATE  # RATE is a multiple of SAMPLES: no frame wraps around
        samples = self._second[offset : offset + SAMPLES]
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = RATE
        frame.pts = self._sent
        frame.time_base = fractions.Fraction(1, RATE)
        self._sent += SAMPLES
        return frame
