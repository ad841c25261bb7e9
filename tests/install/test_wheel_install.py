"""The documented install, for real: the wheel built from this tree, installed with pip 23 into a
fresh venv (non-editable), then `buergeramt db upgrade`, `users add`, `devices add`, `hub` and
`appliance` run from a folder outside the checkout, as docs/operations.md says.

Issue 13: the appliance died on a missing aiohttp, and the installed hub spoke English
(catalogues were never compiled into the package).
"""

from __future__ import annotations

import email
import email.policy
import os
import signal
import subprocess
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.install.packaging import (
    build_wheel,
    clean_environment,
    install,
    need_package_index,
)
from tests.support.environment import berlin, free_port

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

CATALOGUES = {
    "hub/translations/de/LC_MESSAGES/messages.mo",
    "hub/translations/en/LC_MESSAGES/messages.mo",
    "appliance/kiosk/translations/de/LC_MESSAGES/messages.mo",
}


# What `buergeramt provision card` reads from the installed package (provisioning/card.py).
PROVISIONING = {
    "provisioning/systemd/buergeramt-appliance.service",
    "provisioning/systemd/buergeramt-kiosk.service",
    "provisioning/kiosk/start-kiosk",
    "provisioning/kiosk/starting.html",
    "provisioning/kiosk/screen-blanking",
    "provisioning/firstboot/buergeramt-firstboot",
    "provisioning/firstboot/buergeramt-firstboot.service",
    "provisioning/firstboot/firstrun-head.sh",
}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    need_package_index()
    return build_wheel(tmp_path_factory.mktemp("build"))


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """bin/ of a fresh venv with `wheel[hub,appliance]` installed by pip 23."""
    return install(wheel, tmp_path_factory.mktemp("venv"), "hub,appliance")


def test_the_wheel_carries_the_cards_units_and_scripts(wheel):
    with zipfile.ZipFile(wheel) as archive:
        missing = PROVISIONING - set(archive.namelist())
    assert not missing, f"not in the wheel: {sorted(missing)}"


def test_the_wheel_carries_compiled_catalogues(wheel):
    with zipfile.ZipFile(wheel) as archive:
        missing = CATALOGUES - set(archive.namelist())
        assert not missing, f"not in the wheel: {sorted(missing)}"
        german = archive.read("hub/translations/de/LC_MESSAGES/messages.mo")
    assert b"Videotermin buchen" in german


# Files in the packages that only developers need (catalogue extraction).
DEVELOPMENT_ONLY = {"hub/translations/messages.pot", "appliance/kiosk/babel.cfg"}


def test_the_wheel_carries_every_file_the_packages_load(wheel):
    """A template left out of package-data (the mails' `_intro.j2`) failed every mail."""
    sources = wheel.parent.parent / "src"  # the copy the wheel was built from
    shipped = {
        path.relative_to(sources).as_posix()
        for package in ("hub", "appliance", "protocol")
        for path in (sources / package).rglob("*")
        if path.is_file()
    }
    with zipfile.ZipFile(wheel) as archive:
        missing = shipped - DEVELOPMENT_ONLY - set(archive.namelist())
    assert not missing, f"not in the wheel: {sorted(missing)}"


class Processes:
    """Children started with their own process group, all stopped (and checked gone) after."""

    def __init__(self, cwd: Path, env: dict[str, str], logs: Path) -> None:
        self.cwd, self.env, self.logs = cwd, env, logs
        self.started: list[subprocess.Popen] = []

    def start(self, name: str, command: list[str], **env: str) -> subprocess.Popen:
        log = (self.logs / f"{name}.log").open("w")
        child = subprocess.Popen(
            command,
            cwd=self.cwd,
            env={**self.env, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.started.append(child)
        return child

    def tail(self) -> str:
        """The end of every child's log, for a failure message."""
        return "\n".join(f"== {p.name}\n{p.read_text()[-2000:]}" for p in self.logs.glob("*.log"))

    def stop_all(self) -> list[int | None]:
        for child in self.started:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        codes = []
        for child in self.started:
            try:
                codes.append(child.wait(20))
            except subprocess.TimeoutExpired:
                child.kill()
                codes.append(None)
        return codes


@pytest.fixture
def processes(tmp_path: Path, installed: Path) -> Iterator[Processes]:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    env = clean_environment(
        installed,
        BUERGERAMT_DATA_DIR=str(run_dir / "var"),
        # A Monday morning, so the default opening hours offer slots whatever the real time.
        BUERGERAMT_CLOCK_START=berlin(2026, 3, 2, 8, 50).isoformat(),
        BUERGERAMT_MAIL_POLL_SECONDS="1",
    )
    children = Processes(run_dir, env, tmp_path)
    yield children
    children.stop_all()


def _command(processes: Processes, bin_dir: Path, *args: str) -> str:
    done = subprocess.run(
        [str(bin_dir / "buergeramt"), *args],
        cwd=processes.cwd,
        env=processes.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"buergeramt {' '.join(args)}: {done.stderr}"
    return done.stdout


def _wait_for(processes: Processes, check, what: str, timeout: float = 60) -> object:
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
            if result:
                return result
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s\n{processes.tail()}"
        time.sleep(0.25)


def test_installed_hub_and_appliance_speak_german_and_connect(processes, installed):
    where = subprocess.run(
        [str(installed / "python"), "-c", "import hub, appliance.kiosk; print(hub.__file__)"],
        cwd=processes.cwd,
        env=processes.env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "site-packages" in where, f"the checkout is on the path: {where}"

    # Seeding as docs/operations.md says.
    assert "seeded default data" in _command(processes, installed, "db", "upgrade")
    _command(processes, installed, "users", "add", "schmidt", "--name", "Frau Schmidt",
             "--password", "geheim-genug")  # fmt: skip
    credential = _command(processes, installed, "devices", "add", "--counter", "1").split()[-1]

    hub_port, kiosk_port = free_port(), free_port()
    base = f"http://127.0.0.1:{hub_port}"
    processes.start(
        "hub",
        [str(installed / "buergeramt"), "hub", "--port", str(hub_port)],
        BUERGERAMT_PUBLIC_URL=base,
    )
    _wait_for(processes, lambda: httpx.get(f"{base}/healthz").status_code == 200, "hub up")
    processes.start(
        "appliance",
        [str(installed / "buergeramt"), "appliance"],
        BUERGERAMT_APPLIANCE_HUB_URL=base,
        BUERGERAMT_APPLIANCE_DEVICE_CREDENTIAL=credential,
        BUERGERAMT_APPLIANCE_KIOSK_PORT=str(kiosk_port),
    )

    page = httpx.get(f"{base}/").text
    assert 'lang="de"' in page and "Videotermin buchen" in page

    service = httpx.get(f"{base}/api/v1/services").json()["services"][0]["id"]
    slots = httpx.get(f"{base}/api/v1/services/{service}/slots?from=2026-03-02&to=2026-03-06")
    first = slots.json()["slots"][0]["start"]
    booked = httpx.post(
        f"{base}/api/v1/appointments",
        json={
            "service_id": service,
            "start": first,
            "name": "Erika Mustermann",
            "email": "erika@example.org",
            "locale": "de",
        },
    )
    assert booked.status_code == 201, booked.text

    outbox = processes.cwd / "var" / "outbox"
    (mail_file,) = _wait_for(processes, lambda: list(outbox.glob("*.eml")), "the booking's mail")
    mail = email.message_from_bytes(mail_file.read_bytes(), policy=email.policy.default)
    body = mail.get_body(("plain",)).get_content()
    assert mail["Subject"].startswith("Ihr Videotermin am"), mail["Subject"]
    assert "Ihr Videotermin beim Bürgeramt ist gebucht." in body, body
    assert "Your" not in mail["Subject"] + body, body

    health = _wait_for(
        processes,
        lambda: (
            httpx.get(f"http://127.0.0.1:{kiosk_port}/healthz").json()["hub"] == "online"
            and "online"
        ),
        "appliance connected to the hub",
    )
    assert health == "online"
    kiosk_page = httpx.get(f"http://127.0.0.1:{kiosk_port}/").text
    assert "Heutige Termine" in kiosk_page

    codes = processes.stop_all()
    assert codes == [0, 0], f"exit codes {codes}\n{processes.tail()}"
    for child in processes.started:  # the process groups are empty: nothing left running
        with pytest.raises(ProcessLookupError):
            os.killpg(child.pid, 0)
