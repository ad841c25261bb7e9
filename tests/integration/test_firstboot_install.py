"""The first-boot installer's appliance step (provisioning/firstboot/buergeramt-firstboot) against
a served hub: a versioned virtualenv from the hub's wheels with --require-hashes, then
/opt/buergeramt/current switched to it. The whole first boot in a fresh Debian root (debootstrap)
is tests/firstboot (`make test-firstboot`; README, Development)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.wheels import build_wheel

ROOT = Path(__file__).resolve().parents[2]
INSTALLER = ROOT / "provisioning" / "firstboot" / "buergeramt-firstboot"
SUPERVISOR = (ROOT / "appliance" / "supervisor.py").read_text()
# What the installer copies out of the appliance it installed (the rest does not matter here).
APPLIANCE_FILES = {"appliance/__init__.py": "", "appliance/supervisor.py": SUPERVISOR}

pytestmark = pytest.mark.slow


def install(hub_url: str, root: Path) -> subprocess.CompletedProcess[str]:
    conf = root / "firstboot.conf"
    conf.write_text(f"HUB_URL='{hub_url}'\nHUB_PIN=''\nHOSTNAME_PREFIX='t'\nKIOSK_USER='kiosk'\n")
    env = {
        **os.environ,
        "BUERGERAMT_FIRSTBOOT_CONF": str(conf),
        "BUERGERAMT_FIRSTBOOT_ROOT": str(root),
    }
    return subprocess.run(
        ["bash", INSTALLER, "--install-appliance-only"],
        env=env, capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip


def test_installs_a_version_and_switches_to_it(serve_hub, sqlite_store, tmp_path: Path):
    wheels = tmp_path / "wheels"
    build_wheel(
        wheels, "buergeramt-virtuell", "0.2.0", requires=("tiny-dep>=1",), extra=APPLIANCE_FILES
    )
    build_wheel(wheels, "tiny-dep", "1.0")
    hub = serve_hub(sqlite_store.url, wheel_dir=str(wheels))
    root = tmp_path / "root"
    root.mkdir()

    first = install(hub.url, root)
    assert first.returncode == 0, first.stdout + first.stderr
    current = root / "opt/buergeramt/current"
    assert current.is_symlink()
    assert current.resolve() == (root / "opt/buergeramt/venvs/0.2.0").resolve()
    imported = subprocess.run(
        [current / "bin/python", "-c", "import buergeramt_virtuell_module as m, tiny_dep_module; "
         "print(m.VERSION)"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert imported.stdout.strip() == "0.2.0"
    config = (root / "opt/buergeramt/venvs/0.2.0/pyvenv.cfg").read_text()
    assert "include-system-site-packages = true" in config  # picamera2 from Debian
    # The supervisor the unit runs lies outside the versions, copied from the first one.
    assert (root / "opt/buergeramt/supervisor.py").read_text() == SUPERVISOR

    # The next version: a new virtualenv beside the old one (to roll back to), then the switch.
    build_wheel(
        wheels, "buergeramt-virtuell", "0.3.0", requires=("tiny-dep>=1",), extra=APPLIANCE_FILES
    )
    second = install(hub.url, root)
    assert second.returncode == 0, second.stdout + second.stderr
    assert current.resolve() == (root / "opt/buergeramt/venvs/0.3.0").resolve()
    assert (root / "opt/buergeramt/venvs/0.2.0/.installed").exists()


def test_a_tampered_wheel_is_not_installed(serve_hub, sqlite_store, tmp_path: Path):
    """The hub's hashes are checked by pip: a file changed after the index was read fails."""
    wheels = tmp_path / "wheels"
    build_wheel(wheels, "buergeramt-virtuell", "0.2.0")
    hub = serve_hub(sqlite_store.url, wheel_dir=str(wheels))
    requirements = subprocess.run(
        ["curl", "--silent", "--fail", f"{hub.url}/appliance/requirements.txt"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    build_wheel(wheels, "buergeramt-virtuell", "0.2.0", requires=("evil>=1",))  # same name
    result = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-cache-dir", "--no-deps",
         "--index-url", f"{hub.url}/appliance/simple/", "--require-hashes",
         "-r", "/dev/stdin", "-d", tmp_path / "got"],
        input=requirements, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert result.returncode != 0
    assert "THESE PACKAGES DO NOT MATCH THE HASHES" in result.stderr
