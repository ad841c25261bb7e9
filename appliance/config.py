"""Appliance settings from BUERGERAMT_APPLIANCE_* environment variables."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ApplianceSettings(BaseSettings):
    """What one counter appliance needs to know."""

    model_config = SettingsConfigDict(env_prefix="BUERGERAMT_APPLIANCE_", extra="forbid")

    hub_url: str = "http://127.0.0.1:5000"
    device_credential: str = ""
    camera: Literal["synthetic", "opencv", "picamera2"] = "synthetic"
    camera_device: int = Field(0, ge=0, le=64)  # OpenCV: /dev/videoN
    width: int = Field(640, ge=160, le=1920)
    height: int = Field(480, ge=120, le=1080)
    fps: int = Field(30, ge=1, le=60)
    # Who encodes the camera: the appliance itself, handing aiortc finished packets (H.264
    # ultrafast, the cheapest here and what phones decode in hardware, VP8 when the browser
    # offers no H.264; or VP8 without denoiser), or aiortc (VP8 at its own settings; the
    # benchmark's baseline). See bench/call.py.
    video_encoder: Literal["vp8", "h264", "aiortc"] = "h264"
    audio: Literal["synthetic", "alsa", "pulse", "none"] = "synthetic"
    # Who encodes the microphone: the appliance (mono Opus for speech, 32 kbit/s, in the event
    # loop) or aiortc (stereo Opus at 96 kbit/s in a worker thread; the benchmark's baseline).
    audio_encoder: Literal["opus", "aiortc"] = "opus"
    # "relay": only TURN candidates (tests of the TURN path; networks that allow nothing else).
    ice_transport_policy: Literal["all", "relay"] = "all"
    audio_device: str = "default"
    # Where the citizen's voice plays: through the clerk's screen (Chromium on the counter; the
    # default), or by the daemon itself through ALSA ("pulse": PulseAudio or PipeWire).
    speaker: Literal["kiosk", "alsa", "pulse", "none"] = "kiosk"
    speaker_device: str = "default"
    # Demo and tests: sign this clerk in by itself and admit whoever waits, first come first.
    clerk_username: str | None = None
    clerk_password: str | None = None
    auto_admit: bool = False
    # The clerk's touch screen (appliance/kiosk), on 127.0.0.1 only; port 0 picks a free one.
    kiosk: bool = True
    kiosk_port: int = Field(8470, ge=0, le=65535)
    kiosk_idle_lock_seconds: int = Field(300, ge=15, le=86400)
    kiosk_sign_out_minutes: int = Field(60, ge=1, le=24 * 60)

    @field_validator("hub_url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("hub_url must start with http:// or https://")
        return value.rstrip("/")
