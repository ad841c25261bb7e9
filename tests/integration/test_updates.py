"""Updates end to end (docs/operations.md, "Updates"): the appliance installed by the first-boot
installer as version N, run by its supervisor as the unit runs it, against a served hub whose
wheel folder holds real wheels of this project. N → N+1 succeeds; a broken N+2 (its camera
delivers nothing, so its self-check fails) is rolled back to N+1 by itself; the hub shows the
outcome per device.

The appliance's dependencies (aiortc, PyAV, …) come from the test's own virtualenv through
PYTHONPATH instead of the hub's folder: pip finds them installed, so each version's virtualenv
holds only the appliance itself and the test runs in seconds, not minutes."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from hub.operations.accounts import add_device
from hub.operations.fleet import FleetEntry, fleet
from hub.operations.remote import RemoteAction, action_by_id, offer_update
from hub.store import Store
from tests.install.packaging import copy_sources, need_package_index
from tests.support.environment import BERLIN
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]

ROOT = Path(__file__).resolve().parents[2]
INSTALLER = ROOT / "provisioning" / "firstboot" / "buergeramt-firstboot"
NOW = datetime(2026, 12, 2, 20, 0, tzinfo=BERLIN)  # a Wednesday evening: the counter is closed
SYNTHETIC_CAMERA = "appliance/devices/camera/synthetic.py"
# The regression a broken release brings: the camera's recv() never returns a picture.
BROKEN_RECV = """    async def recv(self) -> av.VideoFrame:
        import asyncio

        await asyncio.Event().wait()
        raise AssertionError

"""
STALE = timedelta(days=1)  # the tests read the state, not how long ago it was seen


def build(workdir: Path, version: str, broken_camera: bool = False) -> Path:
    """A real wheel of this project at `version` (optionally with a camera that never delivers)."""
    sources = copy_sources(workdir / f"src-{version}")
    project = sources / "pyproject.toml"
    text = project.read_text()
    assert 'version = "0.1.0"' in text
    project.write_text(text.replace('version = "0.1.0"', f'version = "{version}"', 1))
    if broken_camera:
        camera = sources / SYNTHETIC_CAMERA
        code = camera.read_text()
        marker = "    async def recv(self) -> av.VideoFrame:\n"
        assert marker in code
        camera.write_text(code.replace(marker, BROKEN_RECV + marker.replace("recv", "_was"), 1))
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", workdir / "dist", sources],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    (wheel,) = (workdir / "dist").glob(f"buergeramt_virtuell-{version}-*.whl")
    return wheel


def dependencies_folder(target: Path) -> Path:
    """The test virtualenv's packages without this project (symlinks): what PYTHONPATH adds."""
    site = Path(sysconfig.get_paths()["purelib"])
    target.mkdir()
    for entry in site.iterdir():
        name = entry.name.lower()
        if "buergeramt" in name or name.endswith(".pth") or name == "__pycache__":
            continue
        (target / entry.name).symlink_to(entry)
    return target


class Installed:
    """An appliance as the first boot leaves it, run by its supervisor."""

    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.base = root / "opt" / "buergeramt"
        self.env = env
        self.process: subprocess.Popen[str] | None = None
        self.log = root / "supervisor.log"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["python3", "-I", self.base / "supervisor.py", self.base],
            env=self.env, cwd=self.base.parent, stdout=self.log.open("w"),
            stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(30)

    def current(self) -> str:
        return (self.base / "current").resolve().name

    def output(self) -> str:
        return self.log.read_text()[-4000:]


@pytest.fixture
def installed(store: Store, serve_hub, tmp_path: Path) -> Iterator[tuple[Installed, int, Path]]:
    """Version 1.0.0 installed by the first-boot installer from the hub's folder."""
    need_package_index()  # the wheels' isolated builds fetch setuptools and Babel
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    shutil.copy(build(tmp_path / "build", "1.0.0"), wheels)
    device, credential = add_device(store, 1, "Pi Schalter 1", NOW)
    hub = serve_hub(store.url, wheel_dir=str(wheels), clock_start=NOW.isoformat())
    root = tmp_path / "root"
    root.mkdir()
    env = {
        **os.environ,
        "PYTHONPATH": str(dependencies_folder(tmp_path / "deps")),
        "BUERGERAMT_FIRSTBOOT_ROOT": str(root),
        "BUERGERAMT_FIRSTBOOT_CONF": str(root / "firstboot.conf"),
        "BUERGERAMT_APPLIANCE_HUB_URL": hub.url,
        "BUERGERAMT_APPLIANCE_DEVICE_CREDENTIAL": credential,
        "BUERGERAMT_APPLIANCE_KIOSK": "false",
        "BUERGERAMT_APPLIANCE_DATA_DIR": str(root / "data"),
        "BUERGERAMT_APPLIANCE_INSTALL_ROOT": str(root / "opt" / "buergeramt"),
        "BUERGERAMT_APPLIANCE_HEARTBEAT_SECONDS": "10",
        "BUERGERAMT_APPLIANCE_UPDATE_CHECK_SECONDS": "60",
    }
    env.pop("VIRTUAL_ENV", None)
    (root / "firstboot.conf").write_text(
        f"HUB_URL='{hub.url}'\nHUB_PIN=''\nHOSTNAME_PREFIX='t'\nKIOSK_USER='kiosk'\n"
    )
    first = subprocess.run(
        ["bash", INSTALLER, "--install-appliance-only"],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert first.returncode == 0, first.stdout + first.stderr
    appliance = Installed(root, env)
    appliance.start()
    try:
        yield appliance, device.id, wheels
    finally:
        appliance.stop()


def entry_of(store: Store, device_id: int) -> FleetEntry:
    return next(e for e in fleet(store, NOW, STALE) if e.id == device_id)


def beat_version(store: Store, device_id: int) -> str | None:
    """The version the device's last heartbeat named while it is connected."""
    entry = entry_of(store, device_id)
    return entry.version if entry.state != "offline" else None


def settled(store: Store, key: int, timeout: float, appliance: Installed) -> RemoteAction:
    def done() -> bool:
        action = action_by_id(store, key)
        return action is not None and action.state in ("done", "failed")

    wait_until(done, timeout, f"update action {key} settled\n{appliance.output()}")
    action = action_by_id(store, key)
    assert action is not None
    return action


def test_an_update_installs_switches_and_a_broken_one_rolls_back_by_itself(
    installed, store: Store, tmp_path: Path
):
    appliance, device_id, wheels = installed
    wait_until(
        lambda: beat_version(store, device_id) == "1.0.0", 60, f"1.0.0 online\n{appliance.output()}"
    )
    assert appliance.current() == "1.0.0"

    # N → N+1: installed beside N, switched, restarted, committed after its self-check.
    shutil.copy(build(tmp_path / "build", "1.0.1"), wheels)
    (action,) = offer_update(
        store, "1.0.1", ["1.0.0", "1.0.1"], requested_by="test", now=NOW, devices=[device_id]
    )
    done = settled(store, action.id, 180, appliance)
    assert (done.state, done.result) == ("done", "1.0.1 runs: connected, self-check passed")
    assert appliance.current() == "1.0.1"
    assert not (appliance.base / "update.json").exists()
    assert (appliance.base / "venvs" / "1.0.0" / ".installed").exists()  # kept to go back to
    wait_until(lambda: beat_version(store, device_id) == "1.0.1", 30, "1.0.1's heartbeat")
    assert entry_of(store, device_id).update == ("1.0.1", "done", done.result)

    # A broken N+2: its camera delivers nothing, its self-check fails, the supervisor goes back.
    shutil.copy(build(tmp_path / "build", "1.0.2", broken_camera=True), wheels)
    (broken,) = offer_update(
        store, "1.0.2", ["1.0.1", "1.0.2"], requested_by="test", now=NOW, devices=[device_id]
    )
    failed = settled(store, broken.id, 180, appliance)
    assert failed.state == "failed"
    assert failed.result.startswith("1.0.2 rolled back to 1.0.1: self-check failed: the camera"), (
        failed.result
    )
    assert appliance.current() == "1.0.1"
    assert not (appliance.base / "update.json").exists()
    wait_until(lambda: beat_version(store, device_id) == "1.0.1", 30, "1.0.1 back online")
    assert appliance.process is not None and appliance.process.poll() is None
    assert "rolled back from 1.0.2 to 1.0.1" in appliance.output()
    assert entry_of(store, device_id).update == ("1.0.2", "failed", failed.result)
