"""The supervisor (appliance/supervisor.py) as the unit runs it: `python3 -I supervisor.py
<root>`, starting `<root>/current/bin/buergeramt appliance`. The versions here are small shell
scripts standing in for the daemon (the real daemon's update is tests/integration/
test_updates.py); each logs its runs, so the tests see what ran in which order."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

SUPERVISOR = Path(__file__).resolve().parents[2] / "appliance" / "supervisor.py"


def version(root: Path, name: str, script: str) -> Path:
    """A version whose daemon runs `script` (sh) after logging its run to <root>/runs."""
    venv = root / "venvs" / name
    (venv / "bin").mkdir(parents=True)
    daemon = venv / "bin" / "buergeramt"
    daemon.write_text(
        f'#!/bin/sh\necho "{name} $BUERGERAMT_SUPERVISED" >> "{root}/runs"\n{script}\n'
    )
    daemon.chmod(0o755)
    return venv


def point(root: Path, venv: Path) -> None:
    (root / "current").unlink(missing_ok=True)
    (root / "current").symlink_to(venv)


def trial(root: Path, old: Path, new: Path, check_s: float = 60) -> None:
    """What an update leaves before its restart: the marker and `current` → the new version."""
    marker = {
        "action": 7,
        "state": "trying",
        "from_version": old.name,
        "from_path": str(old),
        "to_version": new.name,
        "to_path": str(new),
        "check_s": check_s,
        "starts": 0,
    }
    (root / "update.json").write_text(json.dumps(marker))
    point(root, new)


def supervise(root: Path, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["python3", "-I", SUPERVISOR, root],
        capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


def runs(root: Path) -> list[str]:
    return (root / "runs").read_text().split("\n")[:-1]


def marker(root: Path) -> dict:
    return json.loads((root / "update.json").read_text())


def test_a_restart_asked_for_starts_the_daemon_again_and_a_stop_ends_the_supervisor(tmp_path):
    old = version(
        tmp_path, "1.0", f'[ -f "{tmp_path}/again" ] && exit 3\ntouch "{tmp_path}/again"\nexit 75'
    )
    point(tmp_path, old)
    done = supervise(tmp_path)
    assert done.returncode == 3  # a daemon's own failure goes to systemd (Restart=on-failure)
    assert runs(tmp_path) == ["1.0 1", "1.0 1"]  # the daemon knows it is supervised


def test_a_failed_self_check_rolls_back_at_once(tmp_path):
    old = version(tmp_path, "1.0", "exit 0")
    new = version(tmp_path, "1.1", "exit 76")
    trial(tmp_path, old, new)
    done = supervise(tmp_path)
    assert done.returncode == 0
    assert runs(tmp_path) == ["1.1 1", "1.0 1"]
    assert (tmp_path / "current").resolve() == old
    settled = marker(tmp_path)  # for 1.0 to report to the hub
    assert settled["state"] == "rolled_back"
    assert settled["reason"] == "the new version's self-check failed"
    assert "rolled back from 1.1 to 1.0" in done.stderr


def test_the_reason_the_new_version_wrote_is_kept(tmp_path):
    old = version(tmp_path, "1.0", "exit 0")
    new = version(
        tmp_path,
        "1.1",
        'python3 -c "import json,sys; p=sys.argv[1]; m=json.load(open(p)); '
        "m['reason']='self-check failed: the camera delivered nothing in 5 s'; "
        f"json.dump(m, open(p, 'w'))\" {tmp_path}/update.json\nexit 76",
    )
    trial(tmp_path, old, new)
    assert supervise(tmp_path).returncode == 0
    assert marker(tmp_path)["reason"] == "self-check failed: the camera delivered nothing in 5 s"


def test_a_new_version_that_hangs_is_stopped_and_rolled_back_after_its_time(tmp_path):
    old = version(tmp_path, "1.0", "exit 0")
    new = version(tmp_path, "1.1", "exec sleep 60")  # connects never, ignores nothing
    trial(tmp_path, old, new, check_s=1.5)
    began = time.monotonic()
    done = supervise(tmp_path)
    took = time.monotonic() - began
    assert done.returncode == 0
    assert runs(tmp_path) == ["1.1 1", "1.0 1"]
    assert 1.5 <= took < 10, took
    assert marker(tmp_path)["reason"] == (
        "the new version did not connect and pass its self-check within 2 s"
    )
    assert (tmp_path / "current").resolve() == old


def test_a_new_version_that_keeps_crashing_is_rolled_back_after_three_starts(tmp_path):
    old = version(tmp_path, "1.0", "exit 0")
    new = version(tmp_path, "1.1", "exit 1")
    trial(tmp_path, old, new)
    assert supervise(tmp_path).returncode == 0
    assert runs(tmp_path) == ["1.1 1"] * 3 + ["1.0 1"]
    assert marker(tmp_path)["reason"] == "the new version stopped 3 times before it ran"


def test_a_committed_version_stays(tmp_path):
    old = version(tmp_path, "1.0", "exit 0")
    new = version(tmp_path, "1.1", f'rm "{tmp_path}/update.json"\nexit 0')  # its commit
    trial(tmp_path, old, new)
    assert supervise(tmp_path).returncode == 0
    assert runs(tmp_path) == ["1.1 1"]
    assert (tmp_path / "current").resolve() == new
    assert not (tmp_path / "update.json").exists()


def test_sigterm_stops_the_daemon_and_the_supervisor(tmp_path):
    old = version(
        tmp_path, "1.0", f'trap "echo stopped >> {tmp_path}/runs; exit 0" TERM\nsleep 60 & wait'
    )
    point(tmp_path, old)
    process = subprocess.Popen(["python3", "-I", SUPERVISOR, tmp_path])
    deadline = time.monotonic() + 10
    while not (tmp_path / "runs").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    assert process.wait(20) == 0
    assert runs(tmp_path) == ["1.0 1", "stopped"]


@pytest.mark.parametrize("content", ["{not json", "[]"])
def test_an_unreadable_marker_is_set_aside_and_the_current_version_runs(tmp_path, content):
    old = version(tmp_path, "1.0", "exit 0")
    point(tmp_path, old)
    (tmp_path / "update.json").write_text(content)
    assert supervise(tmp_path).returncode == 0
    assert runs(tmp_path) == ["1.0 1"]
    if content.startswith("{"):
        assert (tmp_path / "update.unreadable").read_text() == content


def test_wrong_arguments_are_refused_in_one_line(tmp_path):
    done = supervise(tmp_path / "missing")
    assert done.returncode == 1
    assert done.stderr.strip() == "usage: supervisor.py <install root, e.g. /opt/buergeramt>"
    assert os.listdir(tmp_path) == []
