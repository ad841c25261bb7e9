"""The appliance's own Opus: mono speech packets that decode back to what went in."""

from __future__ import annotations

import fractions

import av
import numpy as np

from appliance.media.encoded import OPUS_RATE, OPUS_SAMPLES, OpusEncoder


def tone(rate: int, layout: str, samples: int, n: int, hz: float = 440.0) -> list[av.AudioFrame]:
    """n frames of a sine tone at `rate` in `layout`, `samples` per frame."""
    channels = 2 if layout == "stereo" else 1
    out = []
    for i in range(n):
        t = (np.arange(samples) + i * samples) / rate
        wave = (8000 * np.sin(2 * np.pi * hz * t)).astype(np.int16)
        packed = np.repeat(wave, channels).reshape(1, -1)  # s16 is interleaved
        frame = av.AudioFrame.from_ndarray(packed, format="s16", layout=layout)
        frame.sample_rate, frame.pts = rate, i * samples
        frame.time_base = fractions.Fraction(1, rate)
        out.append(frame)
    return out


def decoded(packets: list[av.Packet]) -> np.ndarray:
    decoder = av.CodecContext.create("libopus", "r")
    frames = [f for p in packets for f in decoder.decode(p)]
    return np.concatenate([f.to_ndarray()[0] for f in frames]).astype(float)


def loudest_hz(samples: np.ndarray, channels: int) -> float:
    mono = samples[::channels][OPUS_RATE // 10 :]  # past the decoder's start-up
    spectrum = np.abs(np.fft.rfft(mono))
    return np.argmax(spectrum) * OPUS_RATE / len(mono)


def test_48khz_mono_20ms_frames_become_one_packet_each_with_counted_timestamps():
    encoder = OpusEncoder()
    packets = [p for f in tone(OPUS_RATE, "mono", OPUS_SAMPLES, 100) for p in encoder.encode(f)]
    assert len(packets) == 100
    assert [p.pts for p in packets] == [i * OPUS_SAMPLES for i in range(100)]
    kbit_per_s = sum(p.size for p in packets) * 8 / 2 / 1000
    assert 20 < kbit_per_s < 60  # speech rate, not aiortc's 96 kbit/s stereo
    assert abs(loudest_hz(decoded(packets), 2) - 440) < 5  # libopus decodes to stereo


def test_a_microphone_at_44_1khz_stereo_in_odd_frames_is_resampled():
    encoder = OpusEncoder()
    frames = tone(44100, "stereo", 1024, 100, hz=1000)
    packets = [p for f in frames for p in encoder.encode(f)]
    seconds = 100 * 1024 / 44100
    assert abs(len(packets) - seconds * 50) <= 2  # 20 ms packets, whatever came in
    assert [p.pts for p in packets] == [i * OPUS_SAMPLES for i in range(len(packets))]
    assert abs(loudest_hz(decoded(packets), 2) - 1000) < 5


def test_the_video_track_follows_the_browsers_estimate_below_aiortcs_h264_floor():
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from aiortc import RTCPeerConnection
    from aiortc.rtp import RTCP_PSFB_APP, RtcpPsfbPacket, pack_remb_fci

    from appliance.devices.camera.synthetic import SyntheticCamera
    from appliance.media.encoded import MAX_BITRATE, MIN_BITRATE, EncodedVideo, SoftwareEncoder

    async def estimates() -> list[int]:
        pc = RTCPeerConnection()
        video = EncodedVideo(SyntheticCamera(320, 240, 30), SoftwareEncoder("h264", 30))
        transceiver = pc.addTransceiver(video, direction="sendonly")
        video.attach(transceiver.sender, transceiver)
        ssrc = transceiver.sender._ssrc
        seen = []
        for bitrate, ssrcs in (
            (300_000, [ssrc]),
            (900_000, [ssrc + 1]),
            (20_000, [ssrc]),
            (9_000_000, [ssrc]),
        ):
            remb = RtcpPsfbPacket(
                fmt=RTCP_PSFB_APP, ssrc=1, media_ssrc=0, fci=pack_remb_fci(bitrate, ssrcs)
            )
            await transceiver.sender._handle_rtcp_packet(remb)  # as aiortc routes RTCP
            seen.append(video.bitrate)
        await pc.close()
        return seen

    # 300 kbit/s is followed (aiortc's H.264 packetizer would say 500); another stream's
    # estimate is not ours; the encoder's own limits hold.
    with ThreadPoolExecutor(1) as pool:  # a loop of its own (Playwright may hold this one's)
        seen = pool.submit(asyncio.run, estimates()).result(10)
    assert seen == [300_000, 300_000, MIN_BITRATE, MAX_BITRATE]


def test_the_video_track_cuts_its_bitrate_on_heavy_loss_and_resends_within_a_budget():
    """Through aiortc's sender as it routes RTCP: a receiver report with half the video lost
    lowers the bitrate below the browser's estimate; a packet asked for twice within a round
    trip goes out once."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from aiortc import RTCPeerConnection
    from aiortc.rtp import (
        RTCP_PSFB_APP,
        RTCP_RTPFB_NACK,
        RtcpPsfbPacket,
        RtcpReceiverInfo,
        RtcpRrPacket,
        RtcpRtpfbPacket,
        pack_remb_fci,
    )

    from appliance.devices.camera.synthetic import SyntheticCamera
    from appliance.media.encoded import EncodedVideo, SoftwareEncoder

    async def follow() -> dict[str, object]:
        pc = RTCPeerConnection()
        video = EncodedVideo(SyntheticCamera(320, 240, 30), SoftwareEncoder("h264", 30))
        transceiver = pc.addTransceiver(video, direction="sendonly")
        video.attach(transceiver.sender, transceiver)
        sender, ssrc = transceiver.sender, transceiver.sender._ssrc

        def remb(bitrate: int) -> RtcpPsfbPacket:
            fci = pack_remb_fci(bitrate, [ssrc])
            return RtcpPsfbPacket(fmt=RTCP_PSFB_APP, ssrc=1, media_ssrc=0, fci=fci)

        def report(highest: int, lost: int, of: int = ssrc) -> RtcpRrPacket:
            info = RtcpReceiverInfo(
                ssrc=of, fraction_lost=0, packets_lost=lost,
                highest_sequence=highest, jitter=0, lsr=0, dlsr=0,
            )  # fmt: skip
            return RtcpRrPacket(ssrc=1, reports=[info])

        seen = {}
        await sender._handle_rtcp_packet(remb(400_000))
        seen["estimate"] = video.bitrate
        for highest, lost in ((100, 0), (140, 20)):
            await sender._handle_rtcp_packet(report(highest, lost, of=ssrc + 1))  # another's
        seen["others_loss"] = video.bitrate
        for highest, lost in ((100, 0), (140, 20)):  # half of ours lost over 40 packets
            await sender._handle_rtcp_packet(report(highest, lost))
        seen["own_loss"] = video.bitrate
        await sender._handle_rtcp_packet(remb(380_000))  # the estimate lags behind
        seen["lagging_estimate"] = video.bitrate
        nack = RtcpRtpfbPacket(fmt=RTCP_RTPFB_NACK, ssrc=1, media_ssrc=ssrc, lost=[5])
        await sender._handle_rtcp_packet(nack)
        await sender._handle_rtcp_packet(nack)
        seen["resends"] = (video.resends.allowed, video.resends.refused)
        await pc.close()
        return seen

    with ThreadPoolExecutor(1) as pool:  # a loop of its own (Playwright may hold this one's)
        seen = pool.submit(asyncio.run, follow()).result(10)
    assert seen["estimate"] == seen["others_loss"] == 400_000
    assert seen["own_loss"] == 300_000
    assert 300_000 <= seen["lagging_estimate"] < 301_000  # the ceiling grows 5 % per 100 ms
    assert seen["resends"] == (1, 1)


def test_h264_follows_a_new_bitrate_in_place_and_rebuilds_only_past_its_ceiling():
    """libx264 lowers and raises its rate without a keyframe (a keyframe on a capped link
    is a burst the link drops); past the ceiling it is built anew, on a keyframe."""
    from appliance.devices.camera.synthetic import SyntheticCamera
    from appliance.media.encoded import H264_HEADROOM, SoftwareEncoder
    from tests.support.own_loop import run

    camera = SyntheticCamera(640, 480, 30, grain=8)  # noise: the rate is what the encoder allows
    camera._began = float("-inf")  # as fast as encoded, not paced at 30 fps
    encoder = SoftwareEncoder("h264", 30)
    plan = [500_000] * 90 + [250_000] * 90 + [500_000 * H264_HEADROOM] * 90 + [1_500_000] * 90

    async def encode() -> list[tuple[int, bool]]:
        out = []
        for i, bitrate in enumerate(plan):
            packets = encoder.encode(await camera.recv(), i == 0, bitrate)
            out.append((sum(p.size for p in packets), any(p.is_keyframe for p in packets)))
        return out

    frames = run(encode())

    def kbit(start: int) -> float:  # the last two of each three seconds: past the change
        return sum(size for size, _ in frames[start + 30 : start + 90]) * 8 / 2 / 1000

    keyframes = [i for i, (_, key) in enumerate(frames) if key]
    assert 450 < kbit(0) < 550
    assert 200 < kbit(90) < 300
    assert 900 < kbit(180) < 1100
    assert 1350 < kbit(270) < 1650
    assert keyframes == [0, 270]  # the first frame, and past the ceiling of 1 Mbit/s
