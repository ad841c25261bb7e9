"""Camera backends: the synthetic picture, and clear errors for cameras that are not there."""

import asyncio
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from appliance.config import ApplianceSettings
from appliance.devices.audio.synthetic import RATE, SAMPLES, ToneSource
from appliance.devices.camera import CameraMissing, open_camera


def frames(track, n):
    """The track's next n frames, read on an event loop of their own (in a thread: a Playwright
    session may hold this thread's loop)."""

    async def take():
        return [await track.recv() for _ in range(n)]

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, take()).result(10)


def test_the_synthetic_camera_draws_its_quadrants_and_moves():
    camera = open_camera(ApplianceSettings(camera="synthetic", width=320, height=240, fps=60))
    first, second = frames(camera, 2)
    assert (first.width, first.height, first.format.name) == (320, 240, "yuv420p")
    rgb = first.to_ndarray(format="rgb24")
    assert tuple(rgb[60, 80]) == pytest.approx((255, 0, 0), abs=12)  # top left red
    assert tuple(rgb[60, 240]) == pytest.approx((0, 200, 0), abs=12)  # top right green
    assert tuple(rgb[180, 80]) == pytest.approx((0, 0, 255), abs=12)  # bottom left blue
    assert min(rgb[180, 240]) > 240  # bottom right white
    assert second.pts > first.pts
    assert not np.array_equal(rgb, second.to_ndarray(format="rgb24"))  # the bar moved


@pytest.mark.parametrize(("width", "height"), [(162, 120), (1278, 718)])
def test_the_picture_is_right_where_the_frame_pads_its_rows(width, height):
    # 162 px rows are stored 176 bytes wide; 718 rows give odd chroma heights.
    camera = open_camera(ApplianceSettings(camera="synthetic", width=width, height=height))
    frame = frames(camera, 1)[0]
    assert frame.planes[0].line_size > width
    rgb = frame.to_ndarray(format="rgb24")
    h, w = height // 4, width // 4
    assert tuple(rgb[h, w]) == pytest.approx((255, 0, 0), abs=12)
    assert tuple(rgb[h, 3 * w]) == pytest.approx((0, 200, 0), abs=12)
    assert tuple(rgb[3 * h, w]) == pytest.approx((0, 0, 255), abs=12)
    assert min(rgb[3 * h, 3 * w - 20]) > 240


def test_an_absent_usb_camera_is_named():
    settings = ApplianceSettings(camera="opencv", camera_device=63)
    with pytest.raises(CameraMissing, match="/dev/video63"):
        open_camera(settings)


def test_picamera2_outside_raspberry_pi_os_says_what_to_install():
    with pytest.raises(CameraMissing, match="python3-picamera2"):
        open_camera(ApplianceSettings(camera="picamera2"))


def test_the_tone_is_48khz_mono_in_20ms_frames():
    a, b = frames(ToneSource(), 2)
    samples = a.to_ndarray()
    assert (a.sample_rate, samples.shape) == (RATE, (1, SAMPLES))
    assert b.pts == SAMPLES
    assert 0.1 * 32767 < np.abs(samples).max() < 0.3 * 32767


@pytest.mark.parametrize(
    ("field", "value"),
    [("camera", "webcam"), ("width", 10), ("fps", 0), ("hub_url", "ftp://x"), ("audio", "x")],
)
def test_bad_appliance_settings_are_refused(field, value):
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=field):
        ApplianceSettings(**{field: value})


def test_camera_off_and_mute_send_black_and_silence_in_the_same_rhythm():
    from appliance.media.switch import Sending, Switched

    sending = Sending()
    camera = open_camera(ApplianceSettings(camera="synthetic", width=320, height=240, fps=60))
    tone = ToneSource()
    video, audio = Switched(camera, sending), Switched(tone, sending)
    on_video, on_audio = frames(video, 1)[0], frames(audio, 1)[0]
    assert on_video.to_ndarray(format="rgb24").max() == 255
    assert np.abs(on_audio.to_ndarray()).max() > 1000
    sending.camera = sending.microphone = False
    off_video, off_audio = frames(video, 1)[0], frames(audio, 1)[0]
    assert (off_video.width, off_video.height) == (320, 240)
    assert off_video.pts > on_video.pts and off_audio.pts > on_audio.pts  # timing continues
    assert off_video.to_ndarray(format="rgb24").max() <= 2  # black
    assert np.abs(off_audio.to_ndarray()).max() == 0  # silence
    assert (off_audio.samples, off_audio.sample_rate) == (SAMPLES, RATE)


def test_the_feed_keeps_the_newest_frame_for_each_screen_and_converts_only_for_readers():
    from appliance.media.feed import HEADER, Feed, Kind, Stream

    async def scenario():
        feed = Feed()
        camera = open_camera(ApplianceSettings(camera="synthetic", width=320, height=240))
        first, second = await camera.recv(), await camera.recv()
        feed.video(Stream.CITIZEN, first)  # nobody reads: nothing kept
        reader = feed.open()
        feed.video(Stream.CITIZEN, first)
        feed.video(Stream.CITIZEN, second)
        feed.audio(await ToneSource().recv())
        video, audio = await reader.take_video(), await reader.take_audio()
        feed.close(reader)
        return video, audio, second

    with ThreadPoolExecutor(1) as pool:
        video, audio, second = pool.submit(asyncio.run, scenario()).result(10)
    assert len(video) == 1  # only the newest of the two
    magic, kind, stream, width, height, sequence, _ = HEADER.unpack_from(video[0])
    assert (magic, kind, stream, width, height) == (b"BV", Kind.VIDEO, Stream.CITIZEN, 320, 240)
    assert video[0][HEADER.size :] == second.to_ndarray().tobytes()
    _, kind, _, rate, channels, later, _ = HEADER.unpack_from(audio[0])
    assert (kind, rate) == (Kind.AUDIO, RATE) and later > sequence
    assert len(audio[0]) - HEADER.size == SAMPLES * channels * 2


def test_the_tone_runs_on_seamlessly_past_its_one_second_table():
    tone = ToneSource()
    tone._start = -1e9  # a clock long past: frames come at once, no waiting
    samples = np.concatenate([f.to_ndarray()[0] for f in frames(tone, 2 * RATE // SAMPLES)])
    wrap = RATE  # where the table starts again
    steps = np.abs(np.diff(samples.astype(np.int32)))
    assert steps[wrap - 2 : wrap + 2].max() <= steps[: wrap - 2].max() + 1  # no jump at the wrap
    spectrum = np.abs(np.fft.rfft(samples[:RATE]))
    assert np.argmax(spectrum) == 440  # 1 Hz bins over one second
