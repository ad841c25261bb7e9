"""Remote actions on this machine (the core's `Performer`): restart the daemon (exit with
RESTART_EXIT_CODE after STOPPING=1; the supervisor, or the unit's Restart=on-failure, starts it
again), reboot (the configured command), settings pushed from the hub (kept in
`<data_dir>/settings.json`, read above the environment at the next start; the counter's label
applies at once), an update (appliance/updates.py) and the daemon's last log lines."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shlex
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from appliance.config import ApplianceSettings
from appliance.core.ports import Performed
from appliance.supervisor import RESTART_EXIT_CODE
from appliance.updates import Updates
from protocol.appliance import MAX_LOG_LINES, RESTART_SETTINGS, Action, PushedSettings

log = logging.getLogger("appliance.actions")

SETTINGS_FILE = "settings.json"
REBOOT_TIMEOUT_S = 60


def settings_path(data_dir: Path) -> Path:
    """Where settings pushed from the hub are kept."""
    return data_dir / SETTINGS_FILE


def pushed(data_dir: Path) -> dict[str, Any]:
    """The settings the hub pushed ({} when none, or the file is unreadable: logged)."""
    path = settings_path(data_dir)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return PushedSettings.model_validate(data).given()
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.error("ignored %s: %s", path, exc)
        return {}


def with_pushed(settings: ApplianceSettings) -> ApplianceSettings:
    """The environment's settings with the hub's pushed ones above them."""
    values = pushed(settings.data_dir)
    values.pop("counter_label", None)  # the core's, not a daemon setting
    if not values:
        return settings
    return settings.model_copy(update=values)


def store(data_dir: Path, update: PushedSettings) -> dict[str, Any]:
    """Merge `update` into the settings file (written whole, then renamed: never half)."""
    values = {**pushed(data_dir), **update.given()}
    path = settings_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_suffix(".part")
    part.write_text(json.dumps(values, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(part, path)
    return values


class MachineActions:
    """Restart, reboot, settings, updates and log lines for the daemon (appliance/daemon.py)."""

    def __init__(
        self,
        settings: ApplianceSettings,
        exit_daemon: Callable[[int, str], Awaitable[None]],
        set_label: Callable[[str | None], None],
        updates: Updates,
        log_lines: Callable[[int], list[str]],
    ) -> None:
        self.settings = settings
        self.exit_daemon = exit_daemon
        self.set_label = set_label
        self.updates = updates
        self.log_lines = log_lines

    async def perform(self, action: Action) -> Performed:
        """Do what IT asked; a restart happens after the hub has the answer."""
        if action.kind == "restart":
            return Performed("done", f"restarting (exit code {RESTART_EXIT_CODE})", self._restart)
        if action.kind == "reboot":
            return await self._reboot()
        if action.kind == "settings" and action.settings is not None:
            return self._settings(action.settings)
        if action.kind == "update" and action.version is not None:
            return await self.updates.perform(action.id, action.version)
        if action.kind == "logs":
            lines = self.log_lines(action.lines or MAX_LOG_LINES)
            return Performed("done", f"{len(lines)} lines", log=lines)
        return Performed("failed", f"unknown action {action.kind}")

    async def _restart(self) -> None:
        await self.exit_daemon(RESTART_EXIT_CODE, "restart asked by IT")

    async def _reboot(self) -> Performed:
        command = shlex.split(self.settings.reboot_command)
        process = await asyncio.create_subprocess_exec(
            *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
        )
        try:
            output, _ = await asyncio.wait_for(process.communicate(), REBOOT_TIMEOUT_S)
        except TimeoutError:
            process.kill()
            return Performed("failed", f"{command[0]} did not finish in {REBOOT_TIMEOUT_S} s")
        text = output.decode(errors="replace").strip().splitlines()
        if process.returncode != 0:
            last = text[-1] if text else ""
            return Performed("failed", f"{command[0]} exited with {process.returncode}: {last}")
        return Performed("done", f"rebooting ({command[0]})")

    def _settings(self, update: PushedSettings) -> Performed:
        values = store(self.settings.data_dir, update)
        given = update.given()
        if "counter_label" in given:
            self.set_label(values.get("counter_label"))
        names = ", ".join(sorted(given))
        if given.keys() & RESTART_SETTINGS:
            return Performed("done", f"stored {names}; restarting to apply", self._restart)
        return Performed("done", f"stored and applied {names}")
