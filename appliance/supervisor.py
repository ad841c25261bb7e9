"""The appliance's supervisor: the unit's main process, which runs the daemon of the version
`<root>/current` points to and rolls an update back by itself (docs/operations.md, "Updates").

An update (appliance/updates.py) installs version N+1 beside N, writes `<root>/update.json`
("trying"), points `current` at N+1 and exits with RESTART_EXIT_CODE. The supervisor starts N+1,
which commits the update once it is connected and its self-check passed. If instead N+1 exits
with ROLLBACK_EXIT_CODE (its self-check failed), crashes MAX_STARTS times, or has not committed
`check_s` seconds after the supervisor first saw the trial, `current` goes back to N and N runs
again; N tells the hub why.

This file is the fixed point of a switch between versions, so it imports nothing but the
standard library: the first boot copies it to `<root>/supervisor.py`, and a version replaces
that copy only after it committed. Run as `python3 -I <root>/supervisor.py <root>`.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

MARKER = "update.json"
CURRENT = "current"
RESTART_EXIT_CODE = 75  # the daemon asks to be started again (IT's restart, an update's switch)
ROLLBACK_EXIT_CODE = 76  # the new version's self-check failed: go back now
MAX_STARTS = 3  # a new version that exits this often before committing is rolled back
POLL_S = 0.5
STOP_S = 15.0  # a daemon that ignores SIGTERM this long is killed
SUPERVISED = "BUERGERAMT_SUPERVISED"  # tells the daemon that updates can roll back

log = logging.getLogger("appliance.supervisor")


def read_marker(root: Path) -> dict[str, Any] | None:
    """The update under way (None: none, or the file is unreadable: then it is set aside)."""
    path = root / MARKER
    try:
        marker = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.error("set aside the unreadable %s: %s", path, exc)
        path.replace(path.with_suffix(".unreadable"))
        return None
    return marker if isinstance(marker, dict) else None


def write_marker(root: Path, marker: dict[str, Any]) -> None:
    """Write the marker whole, then rename it into place: never half a marker."""
    path = root / MARKER
    part = path.with_suffix(".part")
    part.write_text(json.dumps(marker, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(part, path)


def clear_marker(root: Path) -> None:
    """The update is settled."""
    (root / MARKER).unlink(missing_ok=True)


def point_current(root: Path, target: Path) -> None:
    """`<root>/current` → target in one rename: it always names a whole version."""
    link = root / ".current.new"
    link.unlink(missing_ok=True)
    link.symlink_to(target)
    os.replace(link, root / CURRENT)


def trying(marker: dict[str, Any] | None) -> bool:
    """Whether a new version is on trial."""
    return marker is not None and marker.get("state") == "trying"


def roll_back(root: Path, marker: dict[str, Any], reason: str) -> None:
    """Back to the version the update started from; the marker keeps why for it to report."""
    point_current(root, Path(marker["from_path"]))
    marker["state"] = "rolled_back"
    marker["reason"] = marker.get("reason") or reason
    write_marker(root, marker)
    log.warning(
        "rolled back from %s to %s: %s",
        marker.get("to_version"),
        marker.get("from_version"),
        marker["reason"],
    )


class Supervisor:
    """Runs the current version's daemon again and again, and watches an update's trial."""

    def __init__(
        self,
        root: Path,
        command: list[str] | None = None,
        clock: Any = time.monotonic,
    ) -> None:
        self.root = root
        self.command = command or [str(root / CURRENT / "bin" / "buergeramt"), "appliance"]
        self.clock = clock
        self.child: subprocess.Popen[bytes] | None = None
        self.stopping = False
        self._trial: tuple[str, float] | None = None  # (to_version, deadline) seen by this process

    def run(self) -> int:
        """Until the daemon stops for good (its exit code) or the supervisor is told to stop."""
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._stop)
        while True:
            self._before_start()
            code = self._run_child()
            if self.stopping:
                return 0
            marker = read_marker(self.root)
            if trying(marker) and marker is not None:
                if code == ROLLBACK_EXIT_CODE:
                    roll_back(self.root, marker, "the new version's self-check failed")
                continue  # a trial goes on until it commits, its deadline, or MAX_STARTS
            if code == RESTART_EXIT_CODE:
                continue
            return code

    def _before_start(self) -> None:
        """Count the trial's starts; roll back when it used them all or its time."""
        marker = read_marker(self.root)
        if not trying(marker) or marker is None:
            self._trial = None
            return
        deadline = self._deadline(marker)
        starts = int(marker.get("starts", 0))
        if self.clock() >= deadline:
            roll_back(self.root, marker, self._too_slow(marker))
        elif starts >= MAX_STARTS:
            roll_back(self.root, marker, f"the new version stopped {starts} times before it ran")
        else:
            marker["starts"] = starts + 1
            write_marker(self.root, marker)

    def _deadline(self, marker: dict[str, Any]) -> float:
        """When this trial runs out, on this process's monotonic clock (a Pi without a
        real-time clock may jump its wall clock at boot)."""
        version = str(marker.get("to_version"))
        if self._trial is None or self._trial[0] != version:
            self._trial = (version, self.clock() + float(marker.get("check_s", 120)))
        return self._trial[1]

    @staticmethod
    def _too_slow(marker: dict[str, Any]) -> str:
        seconds = float(marker.get("check_s", 120))
        return f"the new version did not connect and pass its self-check within {seconds:.0f} s"

    def _run_child(self) -> int:
        env = {**os.environ, SUPERVISED: "1"}
        self.child = subprocess.Popen(self.command, env=env)
        try:
            while True:
                code = self.child.poll()
                if code is not None:
                    return code
                if self.stopping:
                    return self._end_child()
                marker = read_marker(self.root)
                late = trying(marker) and self.clock() >= self._deadline(marker or {})
                if late and marker is not None:
                    self._end_child()
                    roll_back(self.root, marker, self._too_slow(marker))
                    return RESTART_EXIT_CODE
                time.sleep(POLL_S)
        finally:
            self.child = None

    def _end_child(self) -> int:
        """SIGTERM, then SIGKILL after STOP_S: the daemon's exit code."""
        assert self.child is not None
        self.child.terminate()
        try:
            return self.child.wait(STOP_S)
        except subprocess.TimeoutExpired:
            self.child.kill()
            return self.child.wait()

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        self.stopping = True


def main(argv: list[str] | None = None) -> None:
    """`python3 -I supervisor.py <root>`: the unit's ExecStart."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or not Path(args[0]).is_dir():
        sys.exit("usage: supervisor.py <install root, e.g. /opt/buergeramt>")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
    sys.exit(Supervisor(Path(args[0])).run())


if __name__ == "__main__":
    main()
