"""Camera and microphone encoded by the appliance itself and handed to aiortc as finished packets.

aiortc (≥ 1.10) sends `av.Packet`s from a track as they are and only packetizes them. That lets
the appliance pick the encoder and its settings: a counter camera is fixed and the office is
lit, so libvpx can run without its denoiser (which costs more than the encoding itself in
aiortc's settings), and a Raspberry Pi 4's hardware H.264 encoder can feed the same track.
The video track answers the browser's keyframe requests (PLI/FIR) and follows the bandwidth the
browser reports (REMB), as aiortc's own encoders do.

Speech needs no stereo at 96 kbit/s (aiortc's Opus settings, resampled and encoded in a worker
thread, with the audio level computed in Python for every packet): the appliance's Opus is mono
at 32 kbit/s, encoded in the event loop (about 0.15 ms per 20 ms), resampled only when the
microphone does not already deliver 48 kHz mono in 20 ms frames.
"""

from __future__ import annotations

import fractions
from typing import Any, Literal, Protocol, cast

import av
from aiortc import MediaStreamTrack, RTCRtpSender, RTCRtpTransceiver
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RtcpPsfbPacket,
    RtcpRrPacket,
    RtcpSrPacket,
    unpack_remb_fci,
)
from av import AudioFrame, VideoFrame
from av.video.codeccontext import VideoCodecContext
from av.video.frame import PictureType

from appliance.media.congestion import LossCeiling, ResendBudget

DEFAULT_BITRATE = 500_000  # aiortc's start value, raised or lowered by the browser's REMB
MIN_BITRATE, MAX_BITRATE = 100_000, 2_500_000
REBUILD_BELOW = 0.9  # VP8: a bitrate change of more than 10 % rebuilds the encoder (as aiortc does)
# H.264: libx264 takes a lower bitrate while it runs, without a keyframe: built as CBR (a VBV
# whose maximum is the bitrate) for a ceiling of H264_HEADROOM times the bitrate asked for,
# x264_encoder_reconfig moves that maximum, and the rate with it (an ABR target it would keep),
# down to a sixth of the ceiling and up to the ceiling (not past it: measured); outside that
# the encoder is rebuilt. A ramp from 0.1 to 1 Mbit/s costs three keyframes, not one per REMB.
H264_HEADROOM, H264_FLOOR = 2, 6
Codec = Literal["vp8", "h264"]
MIME = {"vp8": "video/VP8", "h264": "video/H264"}


def offered(sdp: str, codec: Codec) -> bool:
    """Whether a session description offers `codec` (Firefox without OpenH264 has no H.264)."""
    return f" {MIME[codec].split('/')[1]}/90000".lower() in sdp.lower()


class PacketEncoder(Protocol):
    """Turns frames into packets of one codec."""

    codec: Codec
    fps: int

    def encode(self, frame: VideoFrame, keyframe: bool, bitrate: int) -> list[av.Packet]:
        """The packets of one frame (a keyframe when asked)."""
        ...


class SoftwareEncoder:
    """libvpx (VP8) or libx264 (H.264) through PyAV, tuned for a fixed counter camera."""

    def __init__(self, codec: Codec, fps: int) -> None:
        self.codec = codec
        self.fps = fps
        self._context: Any = None
        self._bitrate = self._ceiling = 0

    def _build(self, frame: VideoFrame, bitrate: int) -> Any:
        name = "libvpx" if self.codec == "vp8" else "libx264"
        context = cast(VideoCodecContext, av.CodecContext.create(name, "w"))
        context.width, context.height = frame.width, frame.height
        context.pix_fmt = "yuv420p"
        ceiling = bitrate * H264_HEADROOM if self.codec == "h264" else bitrate
        context.bit_rate = ceiling
        context.framerate = fractions.Fraction(self.fps, 1)
        context.time_base = fractions.Fraction(1, self.fps)
        context.thread_count = 1  # 640×480 does not gain from threads; they cost switching
        if self.codec == "vp8":
            context.gop_size = 3000  # keyframes when the browser asks
            context.qmin, context.qmax = 2, 56
            context.options = {
                "deadline": "realtime",
                "cpu-used": "-8",
                "noise-sensitivity": "0",  # no denoiser: a fixed camera in a lit office
                "lag-in-frames": "0",
                "static-thresh": "1",
                "bufsize": str(bitrate),
                "minrate": str(bitrate),
                "maxrate": str(bitrate),
                "undershoot-pct": "100",
                "overshoot-pct": "15",
            }
        else:
            context.gop_size = 3000
            context.profile = "Baseline"
            # CBR, half a second of the bitrate asked for buffered: what lets x264 change its
            # bitrate in place.
            context.options = {
                "preset": "ultrafast",
                "tune": "zerolatency",
                "level": "31",
                "maxrate": str(ceiling),
                "bufsize": str(bitrate // 2),
            }
            context.open()  # as CBR at the ceiling: lowered (in `encode`) only once open
        self._ceiling = self._bitrate = ceiling
        return context

    def _rebuild_for(self, bitrate: int) -> bool:
        """Whether a new bitrate needs a new encoder (and so a keyframe)."""
        if self.codec == "h264":
            return not self._ceiling / H264_FLOOR <= bitrate <= self._ceiling
        return abs(bitrate - self._bitrate) > (1 - REBUILD_BELOW) * self._bitrate

    def encode(self, frame: VideoFrame, keyframe: bool, bitrate: int) -> list[av.Packet]:
        """The packets of one frame at `bitrate`: libx264 follows it in place, libvpx is
        rebuilt for a change of more than 10 % (the first frame then is a keyframe)."""
        context = self._context
        stale = context is None or (context.width, context.height) != (frame.width, frame.height)
        if stale or self._rebuild_for(bitrate):
            context = self._context = self._build(frame, bitrate)
            keyframe = True
        if bitrate != self._bitrate:
            context.bit_rate = self._bitrate = bitrate
        frame.pict_type = PictureType.I if keyframe else PictureType.NONE
        return list(context.encode(frame))


class PacketTrack(MediaStreamTrack):
    """A track of packets encoded from `source`'s frames (the video and audio tracks below)."""

    def __init__(self, source: MediaStreamTrack) -> None:
        super().__init__()
        self._source = source
        self._pending: list[av.Packet] = []

    def prefer(self, transceiver: RTCRtpTransceiver, *mime_types: str) -> None:
        """Negotiate only these codecs (call before the offer is applied: aiortc negotiates
        codecs in setRemoteDescription)."""
        capabilities = RTCRtpSender.getCapabilities(self.kind).codecs
        transceiver.setCodecPreferences([c for c in capabilities if c.mimeType in mime_types])

    def stop(self) -> None:
        """Stop this track and its source."""
        super().stop()
        self._source.stop()


class EncodedVideo(PacketTrack):
    """A video track of packets: `source`'s frames through `encoder`."""

    kind = "video"

    def __init__(self, source: MediaStreamTrack, encoder: PacketEncoder) -> None:
        super().__init__(source)
        self.encoder = encoder
        self.bitrate = DEFAULT_BITRATE
        self.keyframes_requested = 0
        self.keyframes_sent = 0
        self._keyframe = True
        self._sender: RTCRtpSender | None = None
        self.resends = ResendBudget()
        self.loss = LossCeiling()
        self._estimate = DEFAULT_BITRATE  # the browser's latest REMB

    @property
    def mime_type(self) -> str:
        """The codec this track's packets are in."""
        return MIME[self.encoder.codec]

    def request_keyframe(self) -> None:
        """The browser lost a picture (PLI/FIR): the next frame is a keyframe."""
        self.keyframes_requested += 1
        self._keyframe = True

    def attach(self, sender: RTCRtpSender, transceiver: RTCRtpTransceiver) -> None:
        """Send through `sender`, negotiating this track's codec (call before the offer is
        applied: aiortc negotiates codecs in setRemoteDescription).

        aiortc answers PLI/FIR by calling the sender's `_send_keyframe` (meant for its own
        encoders), hands every RTCP packet for the sender to its `_handle_rtcp_packet`, and
        resends each packet a NACK names through `_retransmit`: the track takes all three
        (aiortc 1.10 – 1.16), the resends to keep them within a budget (media/congestion.py).
        It reads the browser's estimate (REMB) itself: aiortc's H.264 packetizer would clamp
        it to 0.5–3 Mbit/s, and a phone on a weak connection needs less than 0.5.
        """
        self._sender = sender
        sender._send_keyframe = self.request_keyframe  # type: ignore[method-assign]  # patched
        handle = sender._handle_rtcp_packet

        async def _handle_rtcp_packet(packet: Any) -> None:
            self.on_rtcp(packet)
            await handle(packet)

        sender._handle_rtcp_packet = _handle_rtcp_packet  # type: ignore[method-assign]  # patched
        retransmit = sender._retransmit

        async def _retransmit(sequence_number: int) -> None:
            # aiortc's smoothed round trip from the browser's receiver reports (None before one)
            rtt = getattr(sender, "_RTCRtpSender__rtt", None)
            if self.resends.allow(sequence_number, self.bitrate, rtt):
                await retransmit(sequence_number)

        sender._retransmit = _retransmit  # type: ignore[method-assign]  # patched
        self.prefer(transceiver, self.mime_type, "video/rtx")

    def on_rtcp(self, packet: Any) -> None:
        """Follow the browser's bandwidth estimate (REMB) for this track's stream, under the
        ceiling its loss reports set (media/congestion.py)."""
        if self._sender is None:
            return
        ssrc = self._sender._ssrc
        if isinstance(packet, RtcpRrPacket | RtcpSrPacket):
            for report in packet.reports:
                if report.ssrc == ssrc:
                    self.loss.report(report.highest_sequence, report.packets_lost, self.bitrate)
        elif isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP:
            try:
                estimate, ssrcs = unpack_remb_fci(packet.fci)
            except ValueError:  # another application's feedback
                return
            if ssrc not in ssrcs:
                return
            self._estimate = estimate
        else:
            return
        self.bitrate = self.loss.limit(self._estimate, MIN_BITRATE, MAX_BITRATE)

    async def recv(self) -> av.Packet:
        while not self._pending:
            frame = cast(VideoFrame, await self._source.recv())
            keyframe, self._keyframe = self._keyframe, False
            self.keyframes_sent += keyframe
            # In the event loop, not a worker thread: a frame takes about a millisecond, and
            # handing each one to a thread and back cost more than that (bench/call.py).
            packets = self.encoder.encode(frame, keyframe, self.bitrate)
            for packet in packets:
                packet.pts = frame.pts
                # Optional in PyAV's stub; every camera here stamps its frames.
                packet.time_base = frame.time_base  # type: ignore[assignment]
            self._pending.extend(packets)
        return self._pending.pop(0)


OPUS_RATE, OPUS_SAMPLES = 48000, 960  # Opus always runs at 48 kHz; 20 ms per packet
OPUS_BITRATE = 32_000  # wideband speech, mono: clear voices, a quarter of aiortc's 96 kbit/s
FEC_LOSS_PERCENT = 10  # the loss libopus's in-band FEC is made for


class OpusEncoder:
    """Mono Opus for speech (libopus through PyAV), one packet per 20 ms."""

    def __init__(self, bitrate: int = OPUS_BITRATE) -> None:
        context = av.CodecContext.create("libopus", "w")
        context.bit_rate = bitrate
        context.format = "s16"
        context.layout = "mono"
        context.sample_rate = OPUS_RATE
        context.time_base = fractions.Fraction(1, OPUS_RATE)
        # In-band FEC: each packet carries a coarse copy of the one before, which the browser
        # decodes when that one is lost (a narrowing link drops packets here and there).
        context.options = {
            "application": "voip",
            "frame_duration": "20",
            "fec": "1",
            "packet_loss": str(FEC_LOSS_PERCENT),
        }
        self._context: Any = context
        self._resampler: av.AudioResampler | None = None
        self._samples = 0  # RTP timestamps count samples from the first packet

    def _ready(self, frame: AudioFrame) -> list[AudioFrame]:
        """`frame` as 48 kHz mono s16 in 20 ms frames (as it comes when it already is)."""
        if (
            frame.format.name == "s16"
            and frame.layout.name == "mono"
            and frame.sample_rate == OPUS_RATE
            and frame.samples == OPUS_SAMPLES
            and self._resampler is None
        ):
            return [frame]
        if self._resampler is None:
            self._resampler = av.AudioResampler(
                format="s16", layout="mono", rate=OPUS_RATE, frame_size=OPUS_SAMPLES
            )
        return self._resampler.resample(frame)

    def encode(self, frame: AudioFrame) -> list[av.Packet]:
        """The packets of one frame (none while a resampler still collects samples)."""
        packets = []
        for ready in self._ready(frame):
            ready.pts = None  # libopus numbers its packets itself; the timestamps are ours
            for packet in self._context.encode(ready):
                packet.pts, packet.time_base = self._samples, self._context.time_base
                self._samples += OPUS_SAMPLES
                packets.append(packet)
        return packets


class EncodedAudio(PacketTrack):
    """An audio track of Opus packets from `source`'s frames."""

    kind = "audio"
    mime_type = "audio/opus"

    def __init__(self, source: MediaStreamTrack, encoder: OpusEncoder | None = None) -> None:
        super().__init__(source)
        self.encoder = encoder or OpusEncoder()

    def attach(self, transceiver: RTCRtpTransceiver) -> None:
        """Negotiate Opus only (call before the offer is applied)."""
        self.prefer(transceiver, self.mime_type)

    async def recv(self) -> av.Packet:
        while not self._pending:
            frame = cast(AudioFrame, await self._source.recv())
            self._pending.extend(self.encoder.encode(frame))
        return self._pending.pop(0)
