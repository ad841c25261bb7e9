"""Updates IT offers from the hub (docs/operations.md, "Updates"): install version N+1 from the
hub's wheels (hash-checked) into its own virtualenv beside N, switch `<install_root>/current`
to it in one rename and restart; the supervisor (appliance/supervisor.py) starts N+1, which
commits once it is connected and its devices deliver, or is rolled back to N by the supervisor.
Whichever version runs afterwards tells the hub how it went."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from appliance import supervisor
from appliance.config import ApplianceSettings
from appliance.core.ports import Performed
from appliance.supervisor import (
    CURRENT,
    RESTART_EXIT_CODE,
    ROLLBACK_EXIT_CODE,
    SUPERVISED,
    clear_marker,
    point_current,
    read_marker,
    trying,
    write_marker,
)
from appliance.version import software_version
from protocol.appliance import ActionState

if TYPE_CHECKING:
    from appliance.devices import Devices

log = logging.getLogger("appliance.updates")

INSTALL_TIMEOUT_S = 900.0  # a Pi 4 on a slow school network installs a release in ~2 min
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")  # the first boot put the hub's CA there
ONLINE_POLL_S = 0.5
Report = Callable[[int, ActionState, str], Awaitable[None]]


class UpdateFailed(Exception):
    """An update could not be installed; the message is one line for IT."""


class Updates:
    """Installs and switches versions; settles an update after the restart."""

    def __init__(
        self, settings: ApplianceSettings, exit_daemon: Callable[[int, str], Awaitable[None]]
    ) -> None:
        self.settings = settings
        self.root = settings.install_root
        self.exit_daemon = exit_daemon
        self.installing: str | None = None

    def cannot(self) -> str | None:
        """Why this daemon cannot update itself (None: it can)."""
        if os.environ.get(SUPERVISED) != "1":
            return "not started by the supervisor (appliance/supervisor.py): no rollback"
        if not (self.root / CURRENT).is_symlink():
            return f"{self.root / CURRENT} is not a symlink: not installed by the first boot"
        return None

    async def perform(self, action: int, version: str) -> Performed:
        """Install `version`; once the hub has the answer, switch to it and restart."""
        own = software_version()
        if version == own:
            return Performed("done", f"already runs {own}")
        reason = self.cannot()
        if reason is not None:
            return Performed("failed", reason)
        if self.installing is not None or trying(read_marker(self.root)):
            return Performed("failed", f"an update to {self.installing or 'another'} is under way")
        self.installing = version
        venv = self.root / "venvs" / version
        try:
            await self._install(version, venv)
        except UpdateFailed as exc:
            log.error("update to %s failed: %s", version, exc)
            return Performed("failed", str(exc))
        finally:
            self.installing = None
        return Performed(
            "running",
            f"installed {version}; restarting into it",
            partial(self._switch, action, version),
        )

    async def _switch(self, action: int, version: str) -> None:
        """Mark the trial, point `current` at the new version, and restart into it."""
        write_marker(
            self.root,
            {
                "action": action,
                "state": "trying",
                "from_version": software_version(),
                "from_path": str((self.root / CURRENT).resolve()),
                "to_version": version,
                "to_path": str(self.root / "venvs" / version),
                "check_s": self.settings.update_check_seconds,
                "starts": 0,
            },
        )
        point_current(self.root, self.root / "venvs" / version)
        log.warning("switched to %s; restarting into it", version)
        await self.exit_daemon(RESTART_EXIT_CODE, f"switching to {version}")

    async def _install(self, version: str, venv: Path) -> None:
        if (venv / ".installed").exists():
            return  # installed by an earlier attempt (or the first boot)
        shutil.rmtree(venv, ignore_errors=True)  # half an earlier attempt
        venv.parent.mkdir(parents=True, exist_ok=True)
        # System site packages: picamera2 comes from Debian (python3-picamera2), not from pip.
        await _run([self.settings.update_python, "-m", "venv", "--system-site-packages", venv])
        hub = self.settings.hub_url
        pip: list[str | Path] = [
            venv / "bin" / "pip", "install", "--quiet", "--no-cache-dir",
            "--disable-pip-version-check", "--index-url", f"{hub}/appliance/simple/",
            "--require-hashes", "--only-binary", ":all:",
            "--requirement", f"{hub}/appliance/requirements.txt?version={version}",
        ]  # fmt: skip
        if CA_BUNDLE.exists():
            pip += ["--cert", CA_BUNDLE]
        await _run(pip)
        if not (venv / "bin" / "buergeramt").exists():
            raise UpdateFailed(f"{version} installed no `buergeramt` command")
        (venv / ".installed").touch()

    async def settle(self, online: Callable[[], bool], devices: Devices, report: Report) -> None:
        """After a start: commit a new version that passes its self-check (or ask the
        supervisor to roll it back), or report a rollback that brought this version back."""
        marker = read_marker(self.root)
        if marker is None:
            return
        own = software_version()
        action, state = int(marker.get("action", 0)), marker.get("state")
        to, back = marker.get("to_version"), marker.get("from_version")
        if state == "trying" and to == own:
            while not online():
                await asyncio.sleep(ONLINE_POLL_S)
            from appliance.devices.health import self_check

            problems = await self_check(devices)
            if problems:
                marker["reason"] = "self-check failed: " + "; ".join(problems)
                write_marker(self.root, marker)
                log.error("version %s: %s", own, marker["reason"])
                await self.exit_daemon(ROLLBACK_EXIT_CODE, marker["reason"])
                return
            clear_marker(self.root)
            self._adopt_supervisor()
            self._prune({own, str(back)})
            log.info("update from %s to %s committed", back, own)
            await report(action, "done", f"{own} runs: connected, self-check passed")
        elif state == "rolled_back" and back == own:
            while not online():
                await asyncio.sleep(ONLINE_POLL_S)
            clear_marker(self.root)
            why = marker.get("reason", "unknown")
            await report(action, "failed", f"{to} rolled back to {own}: {why}")
        else:
            log.warning("set aside an update marker (%s to %s) in version %s", state, to, own)
            clear_marker(self.root)

    def _adopt_supervisor(self) -> None:
        """A version that committed brings its own supervisor (copied whole, then renamed)."""
        target = self.root / "supervisor.py"
        part = target.with_suffix(".part")
        shutil.copyfile(supervisor.__file__, part)
        os.replace(part, target)

    def _prune(self, keep: set[str]) -> None:
        """Keep the running version and the one before (to roll back to), drop the rest."""
        for venv in (self.root / "venvs").iterdir():
            if venv.is_dir() and venv.name not in keep:
                shutil.rmtree(venv, ignore_errors=True)
                log.info("removed the old version %s", venv.name)


async def _run(command: list[str | Path], timeout: float = INSTALL_TIMEOUT_S) -> None:
    """Run a step of the installation; UpdateFailed with its last line when it fails."""
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    name = Path(command[0]).name
    try:
        output, _ = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise UpdateFailed(f"{name} did not finish in {timeout:.0f} s") from None
    if process.returncode != 0:
        lines = output.decode(errors="replace").strip().splitlines()
        last = lines[-1] if lines else ""
        raise UpdateFailed(f"{name} exited with {process.returncode}: {last}"[:200])
