"""The whole first boot of a counter in a fresh Debian root (issue 17; README, Development).

A minimal Debian bookworm (debootstrap, cached as a tarball) gets the files the card writes
(`buergeramt provision card`: its user-data's write_files, as cloud-init writes them), the
installer runs in it as its service would (chroot), installs its Debian packages with apt and the
appliance from a served hub's wheels (this project's real wheel and every dependency, for the
root's Python), and the appliance, started as its unit starts it, enrols with the card's token,
is approved by its claim code and comes online with the wheel's version.

Not run by `make test` (tests/conftest.py leaves this folder out unless it is named):
`make test-firstboot`. Needs root (debootstrap, chroot, mount), debootstrap, a Debian mirror and
PyPI. Every command in the root runs in its own mount and UTS namespace (unshare): /proc, /dev
and /sys are mounted there and vanish with it, and the installer's hostname never reaches the
host; the test still checks that no mount under the root is left before it deletes the root.

What cloud-init would do besides write_files and runcmd's `systemctl enable` (the kiosk user, the
packages list, locale and time zone) is not emulated: the installer makes the users and installs
its packages itself. Lab settings, as IT would set them for a machine that is not a Pi: PACKAGES
in firstboot.conf (no python3-picamera2 in Debian, no Chromium without a screen) and synthetic
camera and sound, no kiosk, in appliance.env.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest
import yaml
from sqlalchemy import select

from hub.operations.enrolment import approve, pending
from hub.operations.fleet import fleet
from hub.store import Store
from hub.store.models import CounterRow
from tests.install.packaging import build_wheel
from tests.support.waiting import wait_until

T = TypeVar("T")

pytestmark = [pytest.mark.firstboot, pytest.mark.slow, pytest.mark.timeout(2400)]

REPO = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "buergeramt-firstboot"
SUITE = "bookworm"  # Raspberry Pi OS Bookworm's Debian; Python 3.11 like the CI machine
MIRROR = os.environ.get("BUERGERAMT_FIRSTBOOT_MIRROR", "http://deb.debian.org/debian")
# What Raspberry Pi OS has before its first boot and the installer relies on (python3 checks a
# pinned certificate and blanks the token; systemctl enables the units; the CA bundle for pip).
BASE_PACKAGES = ("systemd", "python3", "ca-certificates")
# The installer's own list without python3-picamera2 (Raspberry Pi OS only) and chromium (the
# counter screen; no screen here, KIOSK=false).
LAB_PACKAGES = "python3-venv sane-utils curl"
LAB_SETTINGS = {
    "BUERGERAMT_APPLIANCE_CAMERA": "synthetic",
    "BUERGERAMT_APPLIANCE_AUDIO": "synthetic",
    "BUERGERAMT_APPLIANCE_KIOSK": "false",
}
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
STALE = timedelta(minutes=2)
# Runs in the new namespaces: the mounts a booted system has, the hostname it would have from
# /etc/hostname, then chroot. Arguments: root, pairs of (host folder, folder in the root) to bind
# up to "--", then chroot's own arguments.
IN_NAMESPACE = """set -e
root=$1; shift
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
mount -t sysfs sysfs "$root/sys"
while [ "$1" != -- ]; do mount --bind "$1" "$root$2"; shift 2; done; shift
[ ! -s "$root/etc/hostname" ] || hostname "$(cat "$root/etc/hostname")"
exec chroot "$@"
"""


def tool(name: str) -> str:
    path = shutil.which(name, path=f"{os.environ.get('PATH', '')}:{PATH}")
    if path is None:
        pytest.fail(f"{name} missing (apt-get install {name})", pytrace=False)
    return path


def mounts_under(folder: Path) -> list[str]:
    """Mount points at or below `folder` as this process sees them."""
    prefix = str(folder.resolve())
    with open("/proc/self/mountinfo") as mounts:
        points = [line.split()[4] for line in mounts]
    return [p for p in points if p == prefix or p.startswith(prefix + "/")]


class Phases:
    """Seconds per phase, printed as they end (and listed at the end of the test)."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys
        self.took: dict[str, float] = {}
        self.started = time.monotonic()

    def done(self, name: str) -> None:
        now = time.monotonic()
        self.took[name] = now - self.started
        self.started = now
        with self.capsys.disabled():
            print(f"\nfirstboot: {name}: {self.took[name]:.1f} s", flush=True)


class DebianRoot:
    """A Debian root in a folder; commands run in it as on the booted machine, as far as chroot
    goes (its own mount and UTS namespaces, /proc, /dev, /sys)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def command(
        self,
        argv: list[str],
        user: str | None = None,
        groups: tuple[str, ...] = (),
        binds: tuple[tuple[Path, str], ...] = (),
    ) -> list[str]:
        """`argv` in the root, as `user` (numeric ids from the root's files) with its groups
        and `groups` (systemd's User= and SupplementaryGroups=)."""
        as_user = []
        if user is not None:
            uid, gid = self.ids(user)
            gids = {self.gid(name) for name in {*self.groups_of(user), *groups}} | {gid}
            as_user = [f"--userspec={uid}:{gid}", f"--groups={','.join(map(str, sorted(gids)))}"]
        bound = [str(part) for pair in binds for part in pair]
        return [
            tool("unshare"), "--mount", "--uts", "--propagation", "private", "--",
            "sh", "-c", IN_NAMESPACE, "sh", str(self.path), *bound, "--",
            *as_user, str(self.path), *argv,
        ]  # fmt: skip

    def run(
        self,
        argv: list[str],
        binds: tuple[tuple[Path, str], ...] = (),
        timeout: float = 120,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(argv, binds=binds), env=env or {"PATH": PATH}, capture_output=True,
            text=True, timeout=timeout, check=False,
        )  # fmt: skip

    def check(self, argv: list[str], timeout: float = 120) -> str:
        done = self.run(argv, timeout=timeout)
        assert done.returncode == 0, f"{argv} in the root: {done.stdout}{done.stderr}"
        return done.stdout

    def file(self, path: str) -> Path:
        return self.path / path.lstrip("/")

    def ids(self, user: str) -> tuple[int, int]:
        for line in self.file("/etc/passwd").read_text().splitlines():
            name, _, uid, gid, *_ = line.split(":")
            if name == user:
                return int(uid), int(gid)
        raise AssertionError(f"no user {user} in the root")

    def gid(self, group: str) -> int:
        for line in self.file("/etc/group").read_text().splitlines():
            name, _, gid, _ = line.split(":")
            if name == group:
                return int(gid)
        raise AssertionError(f"no group {group} in the root")

    def groups_of(self, user: str) -> set[str]:
        groups = set()
        for line in self.file("/etc/group").read_text().splitlines():
            name, _, _, members = line.split(":")
            if user in members.split(","):
                groups.add(name)
        return groups


def unpack_base(target: Path) -> bool:
    """The minimal Debian root in `target`, from the cached tarball (True) or debootstrapped
    into the cache first (False). Keyed by suite, mirror and packages."""
    key = hashlib.sha256(f"{SUITE} minbase {','.join(BASE_PACKAGES)} {MIRROR}".encode())
    tarball = CACHE / f"debian-{SUITE}-minbase-{key.hexdigest()[:12]}.tar"
    cached = tarball.exists()
    if not cached:
        build = CACHE / f"build-{os.getpid()}"
        shutil.rmtree(build, ignore_errors=True)
        (build / "root").mkdir(parents=True)
        log = build / "debootstrap.log"
        try:
            # Its own mount namespace: debootstrap mounts /proc and /sys in the root itself,
            # and a debootstrap that dies cannot leave them behind.
            done = subprocess.run(
                [tool("unshare"), "--mount", "--propagation", "private", "--",
                 tool("debootstrap"), "--variant=minbase", f"--include={','.join(BASE_PACKAGES)}",
                 SUITE, build / "root", MIRROR],
                stdout=log.open("w"), stderr=subprocess.STDOUT, timeout=1500, check=False,
            )  # fmt: skip
            assert done.returncode == 0, f"debootstrap failed:\n{log.read_text()[-3000:]}"
            base = DebianRoot(build / "root")
            base.check(["apt-get", "clean"])
            # As an image ships it: the machine id is made at the first boot.
            base.file("/etc/machine-id").write_text("")
            base.file("/var/lib/dbus/machine-id").unlink(missing_ok=True)
            part = tarball.with_suffix(f".{os.getpid()}.part")
            subprocess.run(
                ["tar", "--numeric-owner", "-C", build / "root", "-cf", part, "."], check=True
            )
            part.replace(tarball)
            for old in CACHE.glob(f"debian-{SUITE}-minbase-*.tar"):
                if old != tarball:
                    old.unlink()
        finally:
            assert not mounts_under(build), f"mounts left under {build}"
            shutil.rmtree(build, ignore_errors=True)
    target.mkdir()
    subprocess.run(["tar", "--numeric-owner", "-xpf", tarball, "-C", target], check=True)
    return cached


def appliance_requirements(wheel: Path) -> list[str]:
    """The wheel's requirements without an extra or for [appliance] (the hub's do not matter)."""
    with zipfile.ZipFile(wheel) as archive:
        (metadata,) = (n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        text = archive.read(metadata).decode()
    return sorted(
        line
        for line in text.splitlines()
        if line.startswith("Requires-Dist:")
        and ("extra ==" not in line or 'extra == "appliance"' in line)
    )


def dependency_wheels(wheel: Path, root: DebianRoot) -> tuple[Path, bool]:
    """Every wheel the appliance needs, for the root's Python, machine and C library, as the
    operator downloads them (docs/operations.md): cached per requirement list and target."""
    probe = (
        "import os, platform, sys; print(sys.version_info[0], sys.version_info[1], "
        "platform.machine(), os.confstr('CS_GNU_LIBC_VERSION').split()[1])"
    )
    major, minor, machine, libc = root.check(["python3", "-c", probe]).split()
    glibc_minor = int(libc.split(".")[1])
    platforms = [f"manylinux_2_{n}_{machine}" for n in range(glibc_minor, 16, -1)]
    platforms.append(f"manylinux2014_{machine}")
    key = hashlib.sha256(
        "\n".join([*appliance_requirements(wheel), major, minor, machine, libc]).encode()
    ).hexdigest()[:12]
    folder = CACHE / "wheels" / key
    if (folder / ".complete").exists():
        return folder, True
    part = folder.with_name(f"{key}.{os.getpid()}.part")
    shutil.rmtree(part, ignore_errors=True)
    done = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
         "--only-binary", ":all:", "--implementation", "cp", "--python-version",
         f"{major}.{minor}", "--abi", f"cp{major}{minor}",
         *[arg for platform in platforms for arg in ("--platform", platform)],
         "-d", part, f"{wheel}[appliance]"],
        capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"pip download failed:\n{done.stderr[-3000:]}"
    for own in part.glob("buergeramt_virtuell-*"):
        own.unlink()  # built afresh on every run
    (part / ".complete").touch()
    try:
        part.replace(folder)
    except OSError:  # another run was quicker
        shutil.rmtree(part)
    for old in folder.parent.glob("*/.complete"):  # other requirements' folders
        if old.parent != folder:
            shutil.rmtree(old.parent, ignore_errors=True)
    return folder, False


def cli(hub_env: dict[str, str], *args: str | Path) -> str:
    done = subprocess.run(
        [sys.executable, "-c", "from hub.cli import main; main()", *map(str, args)],
        env=hub_env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"buergeramt {args}: {done.stdout}{done.stderr}"
    return done.stdout


def write_like_cloud_init(root: DebianRoot, user_data: dict) -> None:
    """user-data's write_files, as cloud-init writes them (owner root:root on every one)."""
    for entry in user_data["write_files"]:
        assert entry["owner"] == "root:root", entry["path"]
        path = root.file(entry["path"])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(entry["content"])
        os.chown(path, 0, 0)
        path.chmod(int(entry["permissions"], 8))


def edit_lines(path: Path, changes: dict[str, str]) -> None:
    """Set KEY=value lines (replacing the card's where it has one)."""
    lines = [line for line in path.read_text().splitlines() if line.split("=", 1)[0] not in changes]
    lines += [f"{key}={value}" for key, value in changes.items()]
    path.write_text("\n".join(lines) + "\n")


def unit_settings(path: Path) -> dict[str, str]:
    """A unit file's Key=value lines (the last one of a key wins)."""
    values = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.startswith(("#", ";", "[")):
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip()
    return values


def environment_file(path: Path) -> dict[str, str]:
    """systemd's EnvironmentFile= as the card writes it (KEY=value, no quotes)."""
    values = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, value = line.split("=", 1)
            values[key] = value
    return values


def first_counter(store: Store) -> int:
    with store.transaction() as session:
        counter = session.scalars(select(CounterRow.id).order_by(CounterRow.id)).first()
    assert counter is not None
    return counter


@pytest.fixture
def debian_root(tmp_path: Path) -> Iterator[DebianRoot]:
    """A fresh root per run; deleted afterwards, once nothing is mounted under it any more."""
    if os.geteuid() != 0:
        pytest.fail("the first-boot test needs root (debootstrap, chroot, mount)", pytrace=False)
    tool("debootstrap")
    path = tmp_path / "root"
    try:
        yield DebianRoot(path)
    finally:
        left = mounts_under(path)
        assert not left, f"mounts left under the root: {left}"
        if path.exists():
            shutil.rmtree(path)


def test_first_boot_in_a_fresh_debian_root_ends_with_an_enrolled_appliance(
    debian_root: DebianRoot, sqlite_store: Store, serve_hub, tmp_path: Path, capsys
):
    root = debian_root
    phases = Phases(capsys)
    cached = unpack_base(root.path)
    phases.done(f"Debian {SUITE} root ({'from the cache' if cached else 'debootstrap, cached'})")

    # The hub's wheel folder: this project's wheel, built from the tree, and its dependencies.
    wheel = build_wheel(tmp_path / "build")
    version = wheel.name.split("-")[1]
    deps, deps_cached = dependency_wheels(wheel, root)
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    shutil.copy(wheel, wheels)
    for dep in deps.glob("*.whl"):
        try:
            os.link(dep, wheels / dep.name)
        except OSError:  # the cache on another file system
            shutil.copy(dep, wheels)
    hub = serve_hub(sqlite_store.url, wheel_dir=str(wheels))
    phases.done(f"wheels (built; dependencies {'cached' if deps_cached else 'downloaded'}), hub")

    # The card, as IT writes it, with a token from the command line.
    token_out = cli(hub.env, "enrol", "tokens", "create", "--batch", "firstboot", "--one-time")
    token = token_out.strip().splitlines()[-1]
    (tmp_path / "token").write_text(token + "\n")
    card = tmp_path / "card"
    cli(hub.env, "provision", "card", "--hub-url", hub.url, "--token-file", tmp_path / "token",
        "--insecure-http", "--out", card)  # fmt: skip
    user_data = yaml.safe_load((card / "user-data").read_text())
    write_like_cloud_init(root, user_data)
    boot_copy = root.file("/boot/firmware/user-data")  # the boot partition's copy
    boot_copy.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(card / "user-data", boot_copy)
    assert token in boot_copy.read_text()
    edit_lines(root.file("/etc/buergeramt/firstboot.conf"), {"PACKAGES": f"'{LAB_PACKAGES}'"})
    env_file = root.file("/etc/buergeramt/appliance.env")
    edit_lines(env_file, LAB_SETTINGS)
    shutil.copy("/etc/resolv.conf", root.file("/etc/resolv.conf"))
    phases.done("card written into the root")

    # The first boot: systemd makes the machine id; cloud-init's runcmd enables the installer's
    # service (its --now needs a running systemd: here the test starts its ExecStart).
    enable = ["systemctl", "enable", "--now", "--no-block", "buergeramt-firstboot.service"]
    assert enable in user_data["runcmd"]
    root.check(["systemd-machine-id-setup"])
    root.check(["systemctl", "enable", "buergeramt-firstboot.service"])
    service = unit_settings(root.file("/etc/systemd/system/buergeramt-firstboot.service"))
    archives = CACHE / "apt-archives"  # apt's downloads, kept between runs
    (archives / "partial").mkdir(parents=True, exist_ok=True)
    os.chown(archives / "partial", root.ids("_apt")[0], 0)
    installer = root.run(
        service["ExecStart"].split(), binds=((archives, "/var/cache/apt/archives"),), timeout=1200
    )
    output = installer.stdout + installer.stderr
    (tmp_path / "installer.log").write_text(output)
    phases.done("installer")
    assert installer.returncode == 0, output[-5000:]

    # What it left: packages, users, the version switched to, the units enabled, the token gone.
    for package in LAB_PACKAGES.split():
        root.check(["dpkg", "-s", package])
    machine_id = root.file("/etc/machine-id").read_text().strip()
    hostname = f"schalter-{machine_id[-8:]}"
    assert root.file("/etc/hostname").read_text().strip() == hostname
    assert f"127.0.1.1\t{hostname}" in root.file("/etc/hosts").read_text()
    uid, gid = root.ids("buergeramt")
    assert {"video", "audio"} <= root.groups_of("buergeramt")
    kiosk = root.ids("kiosk")
    shadow = {line.split(":")[0]: line.split(":")[1] for line in
              root.file("/etc/shadow").read_text().splitlines()}  # fmt: skip
    assert shadow["kiosk"].startswith("!"), "the kiosk user's password is locked"
    assert kiosk[0] >= 1000 and uid < 1000  # a desktop user and a system user
    current = root.file("/opt/buergeramt/current")
    assert os.readlink(current) == f"/opt/buergeramt/venvs/{version}"
    assert f"/opt/buergeramt/current → /opt/buergeramt/venvs/{version}" in output
    supervisor = root.file("/opt/buergeramt/supervisor.py")
    assert supervisor.read_text() == (REPO / "appliance" / "supervisor.py").read_text()
    venv = root.file(f"/opt/buergeramt/venvs/{version}")
    # Updates install as the daemon's user: the whole of /opt/buergeramt is its own.
    assert {p.lstat().st_uid for p in (current, venv, supervisor, venv / "bin/python")} == {uid}
    assert (venv / ".installed").exists()
    for folder, units in (
        ("system", ("buergeramt-appliance.service",)),
        ("user", ("buergeramt-kiosk.service", "buergeramt-screen-hold.timer",
                  "buergeramt-screen-release.timer")),
    ):  # fmt: skip
        for unit in units:
            wanted_by = unit_settings(root.file(f"/etc/systemd/{folder}/{unit}"))["WantedBy"]
            link = root.file(f"/etc/systemd/{folder}/{wanted_by}.wants/{unit}")
            assert os.readlink(link) == f"/etc/systemd/{folder}/{unit}", unit
    wants = root.file("/etc/systemd/system/multi-user.target.wants")
    assert not (wants / "buergeramt-firstboot.service").is_symlink(), "it disables itself"
    assert root.file("/var/lib/buergeramt-firstboot/done").exists()
    assert "systemd is not running here" in output
    assert "done: the appliance starts at boot" in output
    blanked = boot_copy.read_text()
    assert token not in blanked
    assert "BUERGERAMT_APPLIANCE_ENROLMENT_TOKEN=used-at-first-boot" in blanked
    assert environment_file(env_file)["BUERGERAMT_APPLIANCE_ENROLMENT_TOKEN"] == token
    assert (env_file.stat().st_mode & 0o777, env_file.stat().st_uid) == (0o600, 0)

    # The appliance as its unit runs it: its user, its environment file, its state folder.
    unit = unit_settings(root.file("/etc/systemd/system/buergeramt-appliance.service"))
    assert (unit["User"], unit["Group"]) == ("buergeramt", "buergeramt")
    state = root.file(f"/var/lib/{unit['StateDirectory']}")  # what systemd makes for it
    state.mkdir(mode=0o700, exist_ok=True)
    os.chown(state, uid, gid)
    unit_env = {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin",
        "HOME": "/var/lib/buergeramt",
        "USER": "buergeramt",
        "LOGNAME": "buergeramt",
        "STATE_DIRECTORY": "/var/lib/buergeramt",
        **environment_file(root.file(unit["EnvironmentFile"])),
    }
    log = tmp_path / "appliance.log"
    log_file = log.open("w")
    process = subprocess.Popen(
        root.command(unit["ExecStart"].split(), user=unit["User"],
                     groups=tuple(unit["SupplementaryGroups"].split())), env=unit_env,
        stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip

    def until(condition: Callable[[], T], seconds: float, what: str) -> T:
        def alive() -> T:
            assert process.poll() is None, f"the appliance stopped:\n{log.read_text()[-4000:]}"
            return condition()

        try:
            return wait_until(alive, seconds, what, interval=0.5)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{log.read_text()[-4000:]}") from None

    try:
        (key,) = until(lambda: pending(sqlite_store), 300, "the appliance pending at the hub")
        assert (key.hostname, key.version) == (hostname, version)
        phases.done("appliance started and enrolled (pending)")
        assert key.claim_code in cli(hub.env, "devices", "pending")  # what IT sees
        _, device_id = approve(
            sqlite_store, key.claim_code, first_counter(sqlite_store), "Schalter (Debian root)",
            "it", datetime.now(UTC),
        )  # fmt: skip

        def online() -> bool:
            entry = next(e for e in fleet(sqlite_store, datetime.now(UTC), STALE)
                         if e.id == device_id)  # fmt: skip
            return entry.state == "online" and entry.version == version

        until(online, 120, f"the appliance online with version {version}")
        phases.done("approved by claim code, online with its heartbeat")
        device_key = root.file("/var/lib/buergeramt/keys/device.key")
        assert (device_key.stat().st_uid, device_key.stat().st_mode & 0o777) == (uid, 0o600)

        process.send_signal(signal.SIGTERM)  # systemctl stop
        assert process.wait(30) == 0, log.read_text()[-4000:]
        phases.done("stopped")
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
        log_file.close()
    with capsys.disabled():
        print("firstboot: " + ", ".join(f"{n}: {s:.0f} s" for n, s in phases.took.items()))
