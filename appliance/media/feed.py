"""What the kiosk screen shows and plays: the citizen's video and audio and the clerk's own
camera, handed to local readers (the kiosk's WebSocket) as raw frames.

Raw I420 over loopback costs a copy, no encoding: the lowest-latency path to the screen.
Video readers always get the newest frame and never a backlog (a slow screen skips frames
instead of falling behind; the sender also waits for the screen to confirm drawn frames, so
none pile up in socket buffers); audio keeps its order, at most `AUDIO_BACKLOG` frames queued.
"""

from __future__ import annotations

import asyncio
import struct
import time
from collections import deque
from enum import IntEnum

from av import AudioFrame, VideoFrame

MAGIC = b"BV"
# magic, kind, stream, width (audio: sample rate), height (audio: channels), sequence, unix time
HEADER = struct.Struct("<2sBBHHId")
AUDIO_BACKLOG = 10  # 200 ms of 20 ms frames


class Kind(IntEnum):
    """What a binary message carries."""

    VIDEO = 1
    AUDIO = 2


class Stream(IntEnum):
    """Whose media it is."""

    CITIZEN = 0
    SELF = 1


class Reader:
    """One screen's pending media: the newest frame of each video stream, and audio in order."""

    def __init__(self) -> None:
        self.video: dict[Stream, bytes] = {}
        self.audio: deque[bytes] = deque(maxlen=AUDIO_BACKLOG)
        self.video_ready = asyncio.Event()
        self.audio_ready = asyncio.Event()

    async def take_video(self) -> list[bytes]:
        """Wait for video, then return the newest frame of each stream."""
        await self.video_ready.wait()
        self.video_ready.clear()
        messages = list(self.video.values())
        self.video.clear()
        return messages

    async def take_audio(self) -> list[bytes]:
        """Wait for audio, then return what is queued."""
        await self.audio_ready.wait()
        self.audio_ready.clear()
        messages = list(self.audio)
        self.audio.clear()
        return messages


class Feed:
    """Fans decoded frames out to the connected screens (none: nothing is converted)."""

    def __init__(self) -> None:
        self.readers: set[Reader] = set()
        self.watched = asyncio.Event()  # set while any screen reads
        self._sequence = 0
        self.last_video: dict[Stream, float] = {}  # monotonic time of each stream's last frame

    def open(self) -> Reader:
        """A new screen connected."""
        reader = Reader()
        self.readers.add(reader)
        self.watched.set()
        return reader

    def close(self, reader: Reader) -> None:
        """A screen went away."""
        self.readers.discard(reader)
        if not self.readers:
            self.watched.clear()

    def _next(self) -> int:
        self._sequence = (self._sequence + 1) & 0xFFFFFFFF
        return self._sequence

    def video(self, stream: Stream, frame: VideoFrame) -> None:
        """A decoded frame of `stream`; the readers get it as I420."""
        self.last_video[stream] = time.monotonic()
        if not self.readers:
            return
        if frame.format.name != "yuv420p" or frame.width % 2 or frame.height % 2:
            frame = frame.reformat(
                width=frame.width & ~1, height=frame.height & ~1, format="yuv420p"
            )
        header = HEADER.pack(
            MAGIC, Kind.VIDEO, stream, frame.width, frame.height, self._next(), time.time()
        )
        message = header + frame.to_ndarray().tobytes()
        for reader in self.readers:
            reader.video[stream] = message
            reader.video_ready.set()

    def audio(self, frame: AudioFrame) -> None:
        """A decoded frame of the citizen's audio; the readers get it as 16-bit PCM."""
        if not self.readers:
            return
        if frame.format.name != "s16":
            return  # aiortc's Opus and G.711 decoders give s16; anything else is not ours
        channels = len(frame.layout.channels)
        header = HEADER.pack(
            MAGIC,
            Kind.AUDIO,
            Stream.CITIZEN,
            frame.sample_rate,
            channels,
            self._next(),
            time.time(),
        )
        message = header + bytes(frame.planes[0])[: frame.samples * channels * 2]
        for reader in self.readers:
            reader.audio.append(message)
            reader.audio_ready.set()
