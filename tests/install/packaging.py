"""Build the wheel from the work tree and install it as an operator would: a fresh venv, the
oldest pip we support, no `-e`, no checkout on the path."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from tests.support.environment import IN_CI

ROOT = Path(__file__).resolve().parents[2]
# Raspberry Pi OS Bookworm ships pip 23.0.1; Python 3.11's venv bundles 23.x too.
OLDEST_PIP = "pip>=23,<24"


def need_package_index() -> None:
    """Skip without a way to PyPI, except under CI, where its absence is a failure."""
    try:
        socket.create_connection(("pypi.org", 443), timeout=5).close()
    except OSError as exc:
        if IN_CI:
            pytest.fail(f"PyPI not reachable ({exc}) - CI must reach it", pytrace=False)
        pytest.skip(f"PyPI not reachable ({exc})")


def run(command: list[str | Path], **kwargs: object) -> str:
    """Run a command; on failure, the assertion carries its output."""
    done = subprocess.run(
        [str(c) for c in command], capture_output=True, text=True, timeout=480, **kwargs
    )
    assert done.returncode == 0, f"{command} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


# What a copy without git leaves out (as .gitignore does).
NOT_SOURCES = shutil.ignore_patterns(
    ".git", ".venv", "node_modules", "build", "var", "test-artifacts", "*.egg-info",
    "__pycache__", "*.mo", ".pytest_cache", ".ruff_cache", ".hypothesis",
)  # fmt: skip


def copy_sources(target: Path) -> Path:
    """The work tree's tracked and new (not ignored) files: no stale build/ or .mo leaks in."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        shutil.copytree(ROOT, target, ignore=NOT_SOURCES)
        return target
    listing = run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT)
    for name in filter(None, listing.split("\0")):
        source = ROOT / name
        if source.is_file():  # a tracked file deleted in the work tree is not listed as a file
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def build_wheel(workdir: Path) -> Path:
    """`pip wheel` of a clean copy of the sources (isolated build: setuptools, Babel)."""
    sources = copy_sources(workdir / "src")
    dist = workdir / "dist"
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", dist, sources])
    (wheel,) = dist.glob("buergeramt_virtuell-*.whl")
    return wheel


def install(wheel: Path, target: Path, extras: str) -> Path:
    """A fresh venv with the oldest supported pip and the wheel installed; returns its bin/."""
    venv.EnvBuilder(with_pip=True, clear=True).create(target)
    bin_dir = target / "bin"
    env = clean_environment(bin_dir)
    run([bin_dir / "python", "-m", "pip", "install", "-q", OLDEST_PIP], env=env)
    version = run([bin_dir / "pip", "--version"], env=env)
    assert version.startswith("pip 23."), version
    run([bin_dir / "pip", "install", "-q", f"{wheel}[{extras}]"], env=env, cwd=target)
    return bin_dir


def clean_environment(bin_dir: Path, **extra: str) -> dict[str, str]:
    """The test's environment without anything pointing at the checkout or its venv."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BUERGERAMT_", "PYTHON", "VIRTUAL_ENV", "PYTEST"))
    }
    path = [p for p in env.get("PATH", "").split(os.pathsep) if not p.startswith(str(ROOT))]
    env["PATH"] = os.pathsep.join([str(bin_dir), *path])
    env.update(extra)
    return env
