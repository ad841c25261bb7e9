"""Appliance settings from BUERGERAMT_APPLIANCE_* environment variables."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ApplianceSettings(BaseSettings):
    """What one counter appliance needs to know."""

    model_config = SettingsConfigDict(env_prefix="BUERGERAMT_APPLIANCE_", extra="forbid")

    hub_url: str = "http://127.0.0.1:5000"
    # How the appliance signs in at the hub (docs/operations.md, "The appliance's key and
    # enrolment"): an enrolment token from IT's card (`buergeramt enrol tokens create`) makes
    # the appliance enrol its own key, kept in key_dir; a key enrolled before needs no token.
    # device_credential: the long-lived credential of `buergeramt devices add` (older setups).
    device_credential: str = ""
    enrolment_token: str = Field("", max_length=128)
    key_dir: Path = Path("/var/lib/buergeramt/keys")
    camera: Literal["synthetic", "opencv", "picamera2"] = "synthetic"
    camera_device: int = Field(0, ge=0, le=64)  # OpenCV: /dev/videoN
    width: int = Field(640, ge=160, le=1920)
    height: int = Field(480, ge=120, le=1080)
    fps: int = Field(30, ge=1, le=60)
    camera_grain: int = Field(0, ge=0, le=64)  # synthetic camera: sensor noise (luma steps)
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
    # The counter's scanner (appliance/devices/scanner; docs/operations.md, "The scanner"):
    # none, a SANE scanner through `scanimage`, a camera as document camera, or a synthetic
    # photographed page (demo, tests).
    scanner: Literal["none", "sane", "camera", "synthetic"] = "none"
    # SANE's name of the scanner as `scanimage -L` shows it (`test`: SANE's own test device);
    # empty: the first scanimage finds.
    scanner_device: str = ""
    scanner_resolution: int = Field(300, ge=50, le=1200)  # dpi, SANE scanners
    # What pages become: colour, greyscale, or text binarised to black and white.
    scanner_mode: Literal["color", "gray", "text"] = "gray"
    # More scanimage arguments, e.g. "-x 210 -y 297" for an A4 area.
    scanner_options: str = ""
    # Which camera takes the document camera's stills: the call's camera (through the relay),
    # a USB camera (OpenCV, /dev/video<document_camera_device>) or a Pi camera (picamera2,
    # camera number document_camera_device).
    document_camera: Literal["call", "opencv", "picamera2"] = "call"
    document_camera_device: int = Field(1, ge=0, le=64)
    # Folders whose PDFs and images the clerk may hand to the citizen as they are (where the
    # municipal software prints to; a USB stick's mount point), as a JSON list:
    # BUERGERAMT_APPLIANCE_DOCUMENT_FOLDERS='["/srv/druck", "/media/usb"]'.
    document_folders: tuple[Path, ...] = ()
    # Demo and tests: sign this clerk in by itself and admit whoever waits, first come first.
    clerk_username: str | None = None
    clerk_password: str | None = None
    auto_admit: bool = False
    # The clerk's touch screen (appliance/kiosk), on 127.0.0.1 only; port 0 picks a free one.
    kiosk: bool = True
    kiosk_port: int = Field(8470, ge=0, le=65535)
    kiosk_idle_lock_seconds: int = Field(300, ge=15, le=86400)
    kiosk_sign_out_minutes: int = Field(60, ge=1, le=24 * 60)
    # How often the appliance reports its health to the hub (IT's fleet view), and the
    # directory whose file system's free space it reports.
    heartbeat_seconds: float = Field(15.0, ge=10, le=30)
    data_dir: Path = Path("/var/lib/buergeramt")
    # What IT's remote `reboot` runs (docs/operations.md, "Remote actions"); tests set a
    # harmless command. Settings pushed from the hub live in <data_dir>/settings.json.
    reboot_command: str = "systemctl reboot"
    # Updates (docs/operations.md, "Updates"): versions live in <install_root>/venvs/<version>,
    # <install_root>/current names the running one; a new version that is not connected with a
    # passing self-check after update_check_seconds is rolled back. update_python makes the
    # new virtualenvs (Debian's python3, with python3-picamera2 among its packages).
    install_root: Path = Path("/opt/buergeramt")
    update_check_seconds: float = Field(120.0, ge=10, le=3600)
    update_python: str = "python3"

    @field_validator("scanner_options", "reboot_command")
    @classmethod
    def _arguments(cls, value: str) -> str:
        shlex.split(value)  # unbalanced quotes are refused here, not at the first scan
        return value

    @field_validator("hub_url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("hub_url must start with http:// or https://")
        return value.rstrip("/")
