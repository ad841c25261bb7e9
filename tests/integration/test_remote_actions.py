"""Remote actions with real parts: a served hub, the real appliance daemon (synthetic devices)
and `buergeramt devices action|settings|actions`: identify reaches the kiosk, settings are
stored and kept across a restart, a restart waits for the call to end unless forced, the
result comes back to the hub, an offline appliance gets its action on reconnect, and bad
settings are refused with one line and nothing stored."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from appliance.actions import settings_path
from appliance.supervisor import RESTART_EXIT_CODE, SUPERVISED, read_marker
from hub.operations.accounts import add_device
from hub.operations.remote import actions_of, offer_update
from hub.store import Store
from tests.support.appliance_runner import RunningAppliance
from tests.support.environment import MONDAY_EARLY
from tests.support.waiting import wait_until
from tests.support.wheels import build_wheel


def devices(store: Store, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BUERGERAMT_DATA_DIR": str(tmp_path), "BUERGERAMT_DATABASE_URL": store.url}
    env.pop("BUERGERAMT_CONFIG_FILE", None)
    return subprocess.run(
        [sys.executable, "-c", "from hub.cli import main; main()", "devices", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def ask(store: Store, tmp_path: Path, *args: str) -> None:
    done = devices(store, tmp_path, *args)
    assert done.returncode == 0, done.stderr


def settled(store: Store, device_id: int, state: str = "done"):
    """The device's newest action once it reached `state`."""
    return wait_until(
        lambda: next((a for a in actions_of(store, device_id)[:1] if a.state == state), None),
        15,
        f"the newest action {state}",
    )


@pytest.fixture
def one_device(store: Store, serve_hub, tmp_path: Path):
    device, credential = add_device(store, 1, "Pi Schalter 1", MONDAY_EARLY)
    hub = serve_hub(store.url, presence_seconds="2")
    data = tmp_path / "appliance"
    data.mkdir()

    def appliance(**settings) -> RunningAppliance:
        return RunningAppliance(
            hub_url=hub.url, device_credential=credential, data_dir=data, **settings
        )

    return device.id, appliance, data


def test_identify_reaches_the_kiosk_and_its_result_the_hub(store, tmp_path, one_device):
    device_id, appliance, _ = one_device
    running = appliance(kiosk=True).start()
    try:
        ask(store, tmp_path, "action", str(device_id), "identify")
        assert running.kiosk is not None
        wait_until(lambda: running.kiosk.state()["identify"], 10, "the kiosk flashing")
        action = settled(store, device_id)
        assert action.kind == "identify" and action.result.startswith("identifying")
        listed = devices(store, tmp_path, "actions", str(device_id)).stdout
        assert "identify" in listed and "[done]" in listed
    finally:
        running.stop()


def test_an_offline_appliance_gets_its_action_on_reconnect(store, tmp_path, one_device):
    device_id, appliance, _ = one_device
    ask(store, tmp_path, "action", str(device_id), "identify")
    assert actions_of(store, device_id)[0].state == "requested"
    running = appliance().start()
    try:
        settled(store, device_id)
        assert running.counter.state().identify
    finally:
        running.stop()


def test_settings_are_stored_applied_and_kept_across_a_restart(store, tmp_path, one_device):
    device_id, appliance, data = one_device
    running = appliance().start()
    try:
        ask(store, tmp_path, "settings", str(device_id), "counter_label=Schalter Süd")
        assert "applied counter_label" in settled(store, device_id).result
        state = running.counter.state()
        assert state.counter is not None and state.counter.name == "Schalter Süd"
        assert running.appliance is not None and running.appliance.exit_code is None

        # Read at start-up: stored, then the daemon exits for systemd to start it again.
        ask(store, tmp_path, "settings", str(device_id), "width=1280", "height=720")
        assert "restarting" in settled(store, device_id).result
        wait_until(lambda: running.appliance.exit_code, 10, "the daemon exiting")
        assert running.appliance.exit_code == RESTART_EXIT_CODE
    finally:
        running.stop()
    stored = json.loads(settings_path(data).read_text())
    assert stored == {"counter_label": "Schalter Süd", "width": 1280, "height": 720}
    again = appliance().start()  # the environment still says 640×480
    try:
        assert again.appliance is not None
        assert (again.appliance.settings.width, again.appliance.settings.height) == (1280, 720)
        state = again.counter.state()
        assert state.counter is not None and state.counter.name == "Schalter Süd"
    finally:
        again.stop()


@pytest.mark.parametrize(
    ("pair", "said"),
    [
        ("volume=3", "unknown setting 'volume'"),
        ("width=99999", "width: Input should be less than or equal to 1920"),
        ("width=wide", "width: 'wide' is not a whole number"),
        ("speaker_device=hw;reboot", "speaker_device: String should match pattern"),
        ("scanner=laser", "scanner: Input should be"),
    ],
)
def test_bad_settings_are_refused_in_one_line_and_nothing_stored(
    store, tmp_path, one_device, pair, said
):
    device_id, _, _ = one_device
    done = devices(store, tmp_path, "settings", str(device_id), pair)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and said in lines[0], done.stderr
    assert actions_of(store, device_id) == []


class HeldCall:
    """A call's place in the core's table (no media): what `restart` must not break."""

    appointment = "0f7c2d0e-5b7a-4c44-9d8e-2d6b0b0a1c11"

    async def close(self) -> None:
        """Nothing to hang up."""


def test_a_restart_waits_for_the_call_to_end_unless_forced(store, tmp_path, one_device):
    device_id, appliance, _ = one_device
    running = appliance(reboot_command="true").start()
    assert running.appliance is not None
    try:
        running.counter.calls[HeldCall.appointment] = HeldCall()  # type: ignore[assignment]
        ask(store, tmp_path, "action", str(device_id), "restart")
        waiting = settled(store, device_id, "waiting")
        assert waiting.result == "waits for the call to end"
        assert running.appliance.exit_code is None

        ask(store, tmp_path, "action", str(device_id), "reboot")  # waits behind it
        settled(store, device_id, "waiting")

        async def call_ends() -> None:
            running.counter.calls.pop(HeldCall.appointment)
            running.counter._forget(HeldCall.appointment)

        running.run(call_ends())
        wait_until(lambda: running.appliance.exit_code, 10, "the restart after the call")
        assert running.appliance.exit_code == RESTART_EXIT_CODE
        wait_until(
            lambda: [a.state for a in actions_of(store, device_id)] == ["done", "done"],
            10,
            "both done",
        )
    finally:
        running.stop()


def test_a_forced_restart_runs_during_the_call(store, tmp_path, one_device):
    device_id, appliance, _ = one_device
    running = appliance().start()
    assert running.appliance is not None
    try:
        running.counter.calls[HeldCall.appointment] = HeldCall()  # type: ignore[assignment]
        ask(store, tmp_path, "action", str(device_id), "restart", "--force")
        assert settled(store, device_id).result == f"restarting (exit code {RESTART_EXIT_CODE})"
        assert running.appliance.exit_code == RESTART_EXIT_CODE
        assert actions_of(store, device_id)[0].force
    finally:
        running.counter.calls.clear()
        running.stop()


def test_a_failing_reboot_command_is_reported(store, tmp_path, one_device):
    device_id, appliance, _ = one_device
    running = appliance(reboot_command="sh -c 'echo no permission >&2; exit 3'").start()
    try:
        ask(store, tmp_path, "action", str(device_id), "reboot")
        action = settled(store, device_id, "failed")
        assert action.result == "sh exited with 3: no permission"
    finally:
        running.stop()


def test_the_last_log_lines_come_back_on_request(store, tmp_path, one_device, caplog):
    caplog.set_level(logging.INFO)
    device_id, appliance, _ = one_device
    running = appliance().start()
    try:
        ask(store, tmp_path, "action", str(device_id), "identify")
        identified = settled(store, device_id)
        done = devices(store, tmp_path, "logs", str(device_id), "--lines", "5")
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        assert 1 <= len(lines) <= 5
        assert any(f"remote identify ({identified.id}): done" in line for line in lines), lines
        logs = actions_of(store, device_id)[0]
        assert (logs.kind, logs.state, logs.arguments) == ("logs", "done", {"lines": 5})
        assert logs.output is not None and logs.output.splitlines() == lines
    finally:
        running.stop()


def test_logs_of_an_offline_appliance_do_not_come_and_the_command_says_so(
    store, tmp_path, one_device
):
    device_id, _, _ = one_device
    done = devices(store, tmp_path, "logs", str(device_id), "--wait", "0.5")
    assert done.returncode == 1
    assert "no answer yet (requested)" in done.stderr
    bad = devices(store, tmp_path, "logs", str(device_id), "--lines", "501")
    assert bad.returncode == 2 and "501 is not in the range 1<=x<=500" in bad.stderr


TINY_SCRIPT = "[console_scripts]\nbuergeramt = buergeramt_virtuell_module:main\n"


def test_an_update_waits_for_the_call_then_installs_and_switches(
    store, serve_hub, tmp_path, monkeypatch
):
    """The daemon's side of an update, in-process: it waits for the call like a restart, then
    installs from the hub's folder and switches (the restart into it and the self-check are
    tests/integration/test_updates.py's)."""
    device, credential = add_device(store, 1, "Pi Schalter 1", MONDAY_EARLY)
    wheels = tmp_path / "wheels"
    build_wheel(wheels, "buergeramt-virtuell", "9.0.0", entry_points=TINY_SCRIPT)
    hub = serve_hub(store.url, wheel_dir=str(wheels))
    base = tmp_path / "opt"
    running_version = base / "venvs" / "0.1.0"
    running_version.mkdir(parents=True)
    (base / "current").symlink_to(running_version)
    monkeypatch.setenv(SUPERVISED, "1")  # as the supervisor starts it
    running = RunningAppliance(
        hub_url=hub.url, device_credential=credential, data_dir=tmp_path / "data", install_root=base
    ).start()
    assert running.appliance is not None
    try:
        running.counter.calls[HeldCall.appointment] = HeldCall()  # type: ignore[assignment]
        (action,) = offer_update(
            store, "9.0.0", ["9.0.0"], requested_by="test", now=MONDAY_EARLY,
            devices=[device.id], when="now",
        )  # fmt: skip
        assert settled(store, device.id, "waiting").result == "waits for the call to end"
        assert not (base / "venvs" / "9.0.0").exists()

        async def call_ends() -> None:
            running.counter.calls.pop(HeldCall.appointment)
            running.counter._forget(HeldCall.appointment)

        running.run(call_ends())
        wait_until(lambda: running.appliance.exit_code, 60, "the switch after the call")
        assert running.appliance.exit_code == RESTART_EXIT_CODE
        update = settled(store, device.id, "running")
        assert update.result == "installed 9.0.0; restarting into it"
        assert (base / "current").resolve() == base / "venvs" / "9.0.0"
        assert (base / "venvs" / "9.0.0" / "bin" / "buergeramt").exists()
        trial = read_marker(base)
        assert trial is not None
        assert (trial["action"], trial["state"], trial["to_version"]) == (
            action.id,
            "trying",
            "9.0.0",
        )
        assert trial["from_path"] == str(running_version)
    finally:
        running.counter.calls.clear()
        running.stop()


def test_an_update_to_a_version_the_hub_does_not_hold_fails_and_nothing_switches(
    store, serve_hub, tmp_path, monkeypatch
):
    device, credential = add_device(store, 1, "Pi Schalter 1", MONDAY_EARLY)
    wheels = tmp_path / "wheels"
    build_wheel(wheels, "buergeramt-virtuell", "9.0.0", entry_points=TINY_SCRIPT)
    hub = serve_hub(store.url, wheel_dir=str(wheels))
    base = tmp_path / "opt"
    (base / "venvs" / "0.1.0").mkdir(parents=True)
    (base / "current").symlink_to(base / "venvs" / "0.1.0")
    monkeypatch.setenv(SUPERVISED, "1")
    running = RunningAppliance(
        hub_url=hub.url, device_credential=credential, data_dir=tmp_path / "data", install_root=base
    ).start()
    try:
        # Offered while the folder held it, gone (the operator cleaned up) when it is installed.
        offer_update(
            store, "9.0.1", ["9.0.1"], requested_by="test", now=MONDAY_EARLY,
            devices=[device.id], when="now",
        )  # fmt: skip
        failed = settled(store, device.id, "failed")
        assert failed.result.startswith("pip exited with 1"), failed.result
        assert (base / "current").resolve() == base / "venvs" / "0.1.0"
        assert read_marker(base) is None
        assert running.appliance is not None and running.appliance.exit_code is None
    finally:
        running.stop()


def test_a_restart_waits_for_a_real_admitted_call_until_the_citizen_hangs_up(
    sqlite_store, serve_hub, tmp_path
):
    """As the stand-in test above, with a citizen admitted through the hub: the call the core
    holds is the hub's, and its end comes from the citizen's hang-up."""
    from tests.support.environment import berlin
    from tests.support.realtime_clients import PASSWORD, citizen, make_desk

    desk = make_desk(sqlite_store, MONDAY_EARLY)
    booking = desk.book(berlin(2026, 3, 2, 9, 0))
    device_id = desk.device_ids[booking.counter]
    hub = serve_hub(
        sqlite_store.url,
        clock_start=berlin(2026, 3, 2, 8, 50).isoformat(),
        join_before_minutes="60",
    )
    running = RunningAppliance(
        hub_url=hub.url,
        device_credential=desk.credentials[booking.counter],
        clerk_username="clerk",
        clerk_password=PASSWORD,
        auto_admit=True,
    ).start()
    party = citizen(hub.url, booking.join_token).connect()
    try:
        party.next("status", timeout=15, state="admitted")
        running.wait_for(lambda: bool(running.counter.calls))
        ask(sqlite_store, tmp_path, "action", str(device_id), "restart")
        assert settled(sqlite_store, device_id, "waiting").result == "waits for the call to end"
        assert running.appliance is not None and running.appliance.exit_code is None
        assert party.call("hangup", {})["ok"]
        wait_until(lambda: running.appliance.exit_code, 15, "the restart after the hang-up")
        assert running.appliance.exit_code == RESTART_EXIT_CODE
        assert settled(sqlite_store, device_id).kind == "restart"
    finally:
        party.close()
        running.stop()


def test_an_updates_result_said_while_the_hub_was_down_reaches_it_on_reconnect(
    store, serve_hub, tmp_path
):
    """The new version settles the update (`done`) just as the hub goes away: the answer is
    kept and sent once the appliance is connected again. The hub does not send a `running`
    update again, so without that the action would stay `running` for good."""
    from hub.operations.remote import record_result
    from protocol.appliance import ActionResult

    device, credential = add_device(store, 1, "Pi Schalter 1", MONDAY_EARLY)
    wheels = tmp_path / "wheels"
    build_wheel(wheels, "buergeramt-virtuell", "9.0.0", entry_points=TINY_SCRIPT)
    hub = serve_hub(store.url, wheel_dir=str(wheels))
    (action,) = offer_update(
        store, "9.0.0", ["9.0.0"], requested_by="test", now=MONDAY_EARLY,
        devices=[device.id], when="now",
    )  # fmt: skip
    # As the old version left it: installed, switching.
    running_now = ActionResult(id=action.id, state="running", result="installed 9.0.0")
    assert record_result(store, device.id, running_now, MONDAY_EARLY)
    running = RunningAppliance(
        hub_url=hub.url, device_credential=credential, data_dir=tmp_path / "data"
    ).start()
    try:
        wait_until(lambda: running.counter.hello.is_set(), 20, "the first hello")
        hub.kill()
        wait_until(lambda: running.counter.link == "offline", 20, "the appliance sees it")
        running.counter.hello.clear()
        said = "9.0.0 runs: connected, self-check passed"
        running.run(running.counter.remote.report(action.id, "done", said))
        assert action.id in running.counter.remote.unsent
        assert actions_of(store, device.id)[0].state == "running"
        hub.launch()
        update = settled(store, device.id, "done")
        assert update.id == action.id and update.result == said
        assert running.counter.remote.unsent == {}
    finally:
        running.stop()
