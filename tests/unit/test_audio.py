"""Microphone and speaker through ALSA, the real library: devices defined in an ALSA
configuration of the test's own (the `file` plugin reads a recording as the microphone and
writes what the speaker plays to a file), since this machine has no sound card."""

from __future__ import annotations

import asyncio
import fractions
import time
from concurrent.futures import ThreadPoolExecutor

import av
import numpy as np
import pytest

from appliance.config import ApplianceSettings
from appliance.devices.audio import ALSA_CONFIG, AudioDeviceMissing, open_microphone, open_speaker

pytestmark = pytest.mark.skipif(
    not ALSA_CONFIG.exists(), reason=f"no ALSA configuration at {ALSA_CONFIG} (apt: alsa-utils)"
)


@pytest.fixture
def alsa(tmp_path, monkeypatch):
    """An ALSA device `recording` that captures a 3 s 440 Hz tone from a file."""
    recording = tmp_path / "tone.raw"
    t = np.arange(3 * 48000) / 48000
    (8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16).tofile(recording)
    config = tmp_path / "asound.conf"
    config.write_text(
        f'pcm.recording {{ type file slave.pcm null file "/dev/null" '
        f'infile "{recording}" format raw }}\n'
    )
    monkeypatch.setenv("ALSA_CONFIG_PATH", f"{ALSA_CONFIG}:{config}")
    return tmp_path


def loudest_hz(samples: np.ndarray, rate: int = 48000) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(float)))
    return np.argmax(spectrum) * rate / len(samples)


def test_an_alsa_microphone_delivers_what_the_device_records(alsa):
    async def take() -> list[av.AudioFrame]:
        microphone = open_microphone(ApplianceSettings(audio="alsa", audio_device="recording"))
        try:
            return [await microphone.recv() for _ in range(50)]
        finally:
            microphone.stop()

    with ThreadPoolExecutor(1) as pool:  # a loop of its own (Playwright may hold this one's)
        frames = pool.submit(asyncio.run, take()).result(20)
    assert {f.sample_rate for f in frames} == {48000}
    left = np.concatenate([f.to_ndarray()[0][:: len(f.layout.channels)] for f in frames])
    assert len(left) == 50 * frames[0].samples
    assert abs(loudest_hz(left) - 440) < 5
    assert 4000 < np.abs(left).max() < 9000  # the recording's level, not silence


@pytest.mark.parametrize("kind", ["alsa", "pulse"])
def test_a_missing_microphone_is_named_at_start(alsa, kind):
    device = "nosuchmic" if kind == "alsa" else "default"  # no PulseAudio here
    with pytest.raises(AudioDeviceMissing, match="no microphone at ALSA device"):
        open_microphone(ApplianceSettings(audio=kind, audio_device=device))


def test_a_missing_speaker_is_named_at_start(alsa):
    with pytest.raises(AudioDeviceMissing, match=r"'hw:9,0'.*aplay -L"):
        open_speaker(ApplianceSettings(speaker="alsa", speaker_device="hw:9,0"))
    assert open_speaker(ApplianceSettings(speaker="kiosk")) is None  # the screen plays it


def test_the_speaker_plays_a_call_s_frames_and_the_next_call_s_too(alsa):
    played = alsa / "played.raw"
    speaker = open_speaker(ApplianceSettings(speaker="alsa", speaker_device=f"file:'{played}',raw"))
    # Two calls: Opus decoders' stereo at 48 kHz, then a mono 16 kHz source whose
    # timestamps start again at zero.
    for layout, rate, hz in (("stereo", 48000, 440), ("mono", 16000, 1000)):
        samples = rate // 50
        for i in range(50):
            t = (np.arange(samples) + i * samples) / rate
            wave = (8000 * np.sin(2 * np.pi * hz * t)).astype(np.int16)
            channels = 2 if layout == "stereo" else 1
            frame = av.AudioFrame.from_ndarray(
                np.repeat(wave, channels).reshape(1, -1), format="s16", layout=layout
            )
            frame.sample_rate, frame.pts = rate, i * samples
            frame.time_base = fractions.Fraction(1, rate)
            speaker.play(frame)
            time.sleep(0.002)  # as a call delivers them: one at a time
    speaker.close()
    left = np.fromfile(played, np.int16).reshape(-1, 2)[:, 0]
    assert abs(len(left) - 2 * 48000) <= 960  # one second each, at the speaker's 48 kHz
    assert abs(loudest_hz(left[:48000]) - 440) < 5
    assert abs(loudest_hz(left[-40000:]) - 1000) < 5
    assert speaker.dropped == 0
