"""One aiortc peer connection per call: answer the citizen's offer, send camera and microphone,
receive (and decode) the citizen's video and audio.

aiortc has no ICE restart: when a party comes back (reload, new network) the citizen's page
sends a fresh offer and the old peer connection is replaced by a new one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceServer,
    RTCIceTransportPolicy,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError
from aiortc.sdp import candidate_from_sdp

from appliance.core.ports import Send
from appliance.core.state import Sending
from appliance.media.encoded import (
    EncodedAudio,
    EncodedVideo,
    PacketEncoder,
    SoftwareEncoder,
    offered,
)
from appliance.media.feed import Feed, Stream
from appliance.media.quality import Quality, QualityWatch
from appliance.media.switch import Switched
from protocol.kiosk import CallMedia
from protocol.signalling import (
    ApplianceMedia,
    ApplianceSignal,
    Candidate,
    IceServer,
    offer_session,
)

if TYPE_CHECKING:
    from av import AudioFrame, VideoFrame

    from appliance.devices.audio.speaker import AlsaSpeaker

log = logging.getLogger("appliance.media.call")
STATS_SECONDS = 2.0
# Nothing from the citizen for this long on a connected call: the kiosk says the connection is
# interrupted at once. aiortc's ICE notices a dead path only after its consent checks fail
# (about 30 s) and the hub a dead page after its heartbeat (up to 10 s); the citizen's camera
# and microphone send even when switched off (black frames, silence), so a gap is the path.
STALL_S = 1.5


@dataclass
class Received:
    """What arrived from the citizen, decoded."""

    video_frames: int = 0
    audio_frames: int = 0
    video_size: tuple[int, int] | None = None
    first_video_at: float | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


class Call:
    """The appliance's side of one appointment's call."""

    def __init__(
        self,
        appointment: str,
        ice_servers: Sequence[IceServer],
        camera: MediaStreamTrack,
        microphone: MediaStreamTrack | None,
        relay: MediaRelay,
        send: Send,
        *,
        feed: Feed | None = None,
        sending: Sending | None = None,
        changed: Callable[[], None] = lambda: None,
        video_encoder: Callable[[], PacketEncoder] | None = None,
        own_audio: bool = True,
        speaker: AlsaSpeaker | None = None,
    ) -> None:
        self.appointment = appointment
        self.ice_servers = ice_servers
        self._camera, self._microphone, self._relay = camera, microphone, relay
        self._send = send
        self._feed, self._changed = feed, changed
        self._speaker = speaker  # None: the citizen's voice goes to the clerk's screen
        self._video_encoder = video_encoder  # None: aiortc encodes (VP8 at its own settings)
        self._own_audio = own_audio  # False: aiortc encodes (stereo Opus at 96 kbit/s)
        self.video: EncodedVideo | None = None
        self.sending = sending or Sending()
        self.pc: RTCPeerConnection | None = None
        self.received = Received()
        self.connected = asyncio.Event()
        self.signals = asyncio.Lock()  # held while one signal is applied
        self.transport_policy = RTCIceTransportPolicy.ALL
        # What the kiosk shows: media state, since when media flows (unix time), quality.
        self.media: CallMedia = "connecting"
        self.connected_since: float | None = None
        self.quality: Quality = "unknown"
        self.last_frame_at: float | None = None  # loop time of the citizen's latest frame
        self._stalled = False  # media "lost" because nothing arrived (not the hub's news)
        self._stats: asyncio.Task[None] | None = None
        self._flow: asyncio.Task[None] | None = None

    def _configuration(self) -> RTCConfiguration:
        servers = [
            RTCIceServer(urls=s.urls, username=s.username, credential=s.credential)
            for s in self.ice_servers
        ]
        return RTCConfiguration(iceServers=servers, iceTransportPolicy=self.transport_policy)

    async def offer(self, sdp: str) -> None:
        """Answer an offer, on a new peer connection (a repeated offer rebuilds the call)."""
        await self._close_pc()
        pc = self.pc = RTCPeerConnection(self._configuration())
        self.connected.clear()

        @pc.on("track")
        def _on_track(track: MediaStreamTrack) -> None:
            self.received.tasks.append(asyncio.ensure_future(self._consume(track)))

        @pc.on("connectionstatechange")
        async def _on_state() -> None:
            if pc is not self.pc:
                return  # an old connection winding down
            log.info("call %s: %s", self.appointment, pc.connectionState)
            if pc.connectionState == "connected":
                self.connected.set()
                self.media, self._stalled, self.last_frame_at = "connected", False, None
                if self.connected_since is None:
                    self.connected_since = time.time()
                self._changed()
                await self._send(
                    "media", ApplianceMedia(appointment=self.appointment, state="connected")
                )
            elif pc.connectionState in ("failed", "disconnected"):
                self.media = "lost"
                self._changed()
                await self._send(
                    "media", ApplianceMedia(appointment=self.appointment, state="disconnected")
                )

        self.video = None
        if self._video_encoder is not None:
            # Our own packets: the transceiver (and its codec) must exist before the offer is
            # applied, so that the answer negotiates the codec the packets are in.
            encoder = self._video_encoder()
            if not offered(sdp, encoder.codec):
                log.info("call %s: no %s offered; VP8 instead", self.appointment, encoder.codec)
                encoder = SoftwareEncoder("vp8", encoder.fps)
            self.video = EncodedVideo(self._outgoing(self._camera), encoder)
            transceiver = pc.addTransceiver(self.video, direction="sendrecv")
            self.video.attach(transceiver.sender, transceiver)
        audio = None
        if self._own_audio and self._microphone is not None and "m=audio" in sdp:
            audio = EncodedAudio(self._outgoing(self._microphone))
            audio.attach(pc.addTransceiver(audio, direction="sendrecv"))
        await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        for transceiver in pc.getTransceivers():
            if transceiver.kind == "video" and self.video is None:
                pc.addTrack(self._outgoing(self._camera))
            elif transceiver.kind == "audio" and self._microphone is not None and audio is None:
                pc.addTrack(self._outgoing(self._microphone))
        answer = await pc.createAnswer()
        await pc.setLocalDescription(answer)
        # aiortc gathers every candidate before this returns: the answer carries them all.
        answer_sdp = pc.localDescription.sdp
        await self._send(
            "signal",
            ApplianceSignal(
                appointment=self.appointment,
                type="answer",
                sdp=answer_sdp,
                offer=offer_session(sdp),  # the page takes the answer to its latest offer only
            ),
        )

    def _outgoing(self, source: MediaStreamTrack) -> Switched:
        """The shared camera or microphone as this call sends it (black or silent when off)."""
        return Switched(self._relay.subscribe(source), self.sending)

    async def candidate(self, candidate: Candidate | None) -> None:
        """Add a candidate the browser trickled (None: it has no more)."""
        if self.pc is None or candidate is None or not candidate.candidate:
            return
        parsed = candidate_from_sdp(candidate.candidate.removeprefix("candidate:"))
        parsed.sdpMid = candidate.sdpMid
        parsed.sdpMLineIndex = candidate.sdpMLineIndex
        try:
            await self.pc.addIceCandidate(parsed)
        except ValueError as exc:  # a candidate for a transport that no longer exists
            log.info("call %s: candidate ignored (%s)", self.appointment, exc)

    async def _consume(self, track: MediaStreamTrack) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                frame = await track.recv()
                if track.kind == "video":
                    frame = cast("VideoFrame", frame)
                    self.received.video_frames += 1
                    self.received.video_size = (frame.width, frame.height)
                    if self.received.first_video_at is None:
                        self.received.first_video_at = loop.time()
                    if self._feed is not None:
                        self._feed.video(Stream.CITIZEN, frame)
                else:
                    frame = cast("AudioFrame", frame)
                    self.received.audio_frames += 1
                    if self._speaker is not None:
                        self._speaker.play(frame)
                    elif self._feed is not None:
                        self._feed.audio(frame)
                self._arrived(loop.time())
        except MediaStreamError:
            return

    def _arrived(self, now: float) -> None:
        """A frame from the citizen: media that had stopped flows again."""
        self.last_frame_at = now
        if self._stalled and self.media == "lost":
            log.info("call %s: the citizen's media flows again", self.appointment)
            self.media, self._stalled = "connected", False
            self._changed()

    async def _watch_flow(self) -> None:
        """Say "lost" as soon as nothing has come from the citizen for STALL_S."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(STALL_S / 3)
            last = self.last_frame_at
            if self.media == "connected" and last is not None and loop.time() - last > STALL_S:
                log.info("call %s: nothing from the citizen for %.1f s", self.appointment, STALL_S)
                self.media, self._stalled = "lost", True
                self._changed()

    async def _watch_quality(self) -> None:
        """Rate the connection every few seconds from RTCP: round trip and recent loss."""
        watch = QualityWatch()
        while True:
            await asyncio.sleep(STATS_SECONDS)
            pc = self.pc
            if pc is None or pc.connectionState != "connected":
                continue
            try:
                quality = watch.rate((await pc.getStats()).values())
            except Exception:  # statistics are a nicety: never let them end the call
                log.exception("call %s: connection statistics failed", self.appointment)
                continue
            if quality != self.quality:
                self.quality = quality
                self._changed()

    async def apply(self, signals: Sequence[ApplianceSignal]) -> None:
        """Apply the citizen's signals in order. Hub news is handled in concurrent tasks: the
        lock keeps a call's signals in arrival order (no candidate before its offer)."""
        async with self.signals:
            for signal in signals:
                if signal.type == "offer" and signal.sdp is not None:
                    await self.offer(signal.sdp)
                elif signal.type == "candidate":
                    await self.candidate(signal.candidate)

    def apply_soon(self, signals: Sequence[ApplianceSignal]) -> None:
        """Apply signals kept from before the call was held, in the background."""
        self.received.tasks.append(asyncio.ensure_future(self.apply(signals)))

    def lost(self) -> None:
        """The citizen's connection dropped: media is lost until their new offer."""
        self.media = "lost"

    async def resume(self, seconds: float = 0.5) -> bool:
        """The citizen is back with the hub: if their media still arrives on this connection
        (only signalling was interrupted, e.g. the hub was away), the call is connected again
        and the hub is told so; otherwise their page sends a new offer. True if resumed."""
        pc = self.pc
        if pc is None or pc.connectionState != "connected":
            return False
        before = self.received.video_frames + self.received.audio_frames
        await asyncio.sleep(seconds)
        if pc is not self.pc or self.received.video_frames + self.received.audio_frames <= before:
            return False
        log.info("call %s: media still flows; resumed without a new offer", self.appointment)
        self.media = "connected"
        self._changed()
        await self._send("media", ApplianceMedia(appointment=self.appointment, state="connected"))
        return True

    def watch(self) -> None:
        """Start rating the connection and watching the citizen's media (once per call)."""
        if self._stats is None:
            self._stats = asyncio.ensure_future(self._watch_quality())
            self._flow = asyncio.ensure_future(self._watch_flow())

    async def _close_pc(self) -> None:
        pc, self.pc = self.pc, None
        if pc is not None:
            await pc.close()

    async def close(self) -> None:
        """Hang up: close the peer connection and stop reading the citizen's media."""
        await self._close_pc()
        helpers = [task for task in (self._stats, self._flow) if task is not None]
        tasks = [*self.received.tasks, *helpers]
        for task in tasks:
            task.cancel()
        for task in tasks:
            try:
                await task
            except (asyncio.CancelledError, MediaStreamError):
                pass
            except Exception:  # a failed helper must never stop a hang-up
                log.exception("call %s: a media task had failed", self.appointment)
