"""Mute and camera off: outgoing tracks that pass their source's frames, or silence and black
frames in the same rhythm while switched off (the peer connection stays as it is)."""

from __future__ import annotations

from typing import cast

import numpy as np
from aiortc import MediaStreamTrack
from av import AudioFrame, VideoFrame

from appliance.core.state import Sending


class Switched(MediaStreamTrack):
    """`source` while `sending` allows its kind, otherwise black video or silence."""

    def __init__(self, source: MediaStreamTrack, sending: Sending) -> None:
        super().__init__()
        self.kind = source.kind
        self._source = source
        self._sending = sending
        self._black: VideoFrame | None = None

    def _on(self) -> bool:
        return self._sending.camera if self.kind == "video" else self._sending.microphone

    async def recv(self) -> AudioFrame | VideoFrame:
        frame = cast(AudioFrame | VideoFrame, await self._source.recv())  # a camera or microphone
        if self._on():
            return frame
        blank = self._blank(frame)
        blank.pts, blank.time_base = frame.pts, frame.time_base
        return blank

    def _blank(self, frame: AudioFrame | VideoFrame) -> AudioFrame | VideoFrame:
        if isinstance(frame, VideoFrame):
            black = self._black
            if black is None or (black.width, black.height) != (frame.width, frame.height):
                planes = np.zeros((frame.height * 3 // 2, frame.width), np.uint8)
                planes[: frame.height] = 16  # video black; chroma 128 is neutral grey
                planes[frame.height :] = 128
                black = self._black = VideoFrame.from_ndarray(planes, format="yuv420p")
            return black
        silence = AudioFrame(
            format=frame.format.name, layout=frame.layout.name, samples=frame.samples
        )
        for plane in silence.planes:
            plane.update(bytes(plane.buffer_size))
        silence.sample_rate = frame.sample_rate
        return silence

    def stop(self) -> None:
        """Stop this track (the source is shared through a relay and goes on)."""
        super().stop()
        self._source.stop()
