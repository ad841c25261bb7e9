"""The hub serves the appliance's wheels as a PEP 503 index with hashes (hub/web/wheels.py)."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

from hub import create_app
from tests.support.hub import make_settings
from tests.support.wheels import build_wheel


@pytest.fixture
def wheel_dir(tmp_path: Path) -> Path:
    """A wheel folder as an operator fills it: the appliance, a dependency in two versions."""
    folder = tmp_path / "wheels"
    build_wheel(folder, "buergeramt-virtuell", "0.2.0", requires=("tiny-dep>=1",))
    build_wheel(folder, "tiny-dep", "1.0")
    build_wheel(folder, "tiny-dep", "1.1")
    (folder / "notes.md").write_text("not a distribution")
    return folder


@pytest.fixture
def wheel_client(sqlite_store, tmp_path: Path, wheel_dir: Path):
    settings = make_settings(tmp_path, database_url=sqlite_store.url, wheel_dir=wheel_dir)
    return create_app(settings, store=sqlite_store, TESTING=True).test_client()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_index_lists_each_project_normalised(wheel_client):
    page = wheel_client.get("/appliance/simple/").get_data(as_text=True)
    assert re.findall(r'href="([^"]+)"', page) == ["buergeramt-virtuell/", "tiny-dep/"]


def test_each_file_is_linked_with_its_sha256(wheel_client, wheel_dir: Path):
    page = wheel_client.get("/appliance/simple/Tiny_Dep/").get_data(as_text=True)
    links = re.findall(r'href="([^"]+)"', page)
    assert links == [
        f"../../wheels/{path.name}#sha256={sha256(path)}"
        for path in sorted(wheel_dir.glob("tiny_dep-*.whl"))
    ]
    served = wheel_client.get("/appliance/wheels/tiny_dep-1.1-py3-none-any.whl")
    assert served.status_code == 200
    assert served.data == (wheel_dir / "tiny_dep-1.1-py3-none-any.whl").read_bytes()


def test_only_distributions_of_the_folder_are_served(wheel_client):
    assert wheel_client.get("/appliance/wheels/notes.md").status_code == 404
    assert wheel_client.get("/appliance/wheels/..%2Fhub.sqlite3").status_code == 404
    assert wheel_client.get("/appliance/wheels/missing-1.0-py3-none-any.whl").status_code == 404
    assert wheel_client.get("/appliance/simple/unknown/").status_code == 404


def test_requirements_pin_the_newest_versions_with_their_hashes(wheel_client, wheel_dir: Path):
    text = wheel_client.get("/appliance/requirements.txt").get_data(as_text=True)
    appliance = wheel_dir / "buergeramt_virtuell-0.2.0-py3-none-any.whl"
    dep = wheel_dir / "tiny_dep-1.1-py3-none-any.whl"
    assert text == (
        f"buergeramt-virtuell[appliance]==0.2.0 --hash=sha256:{sha256(appliance)}\n"
        f"tiny-dep==1.1 --hash=sha256:{sha256(dep)}\n"
    )


def test_no_requirements_without_an_appliance_wheel(sqlite_store, tmp_path: Path):
    settings = make_settings(tmp_path, database_url=sqlite_store.url)  # <data_dir>/wheels: none
    client = create_app(settings, store=sqlite_store, TESTING=True).test_client()
    assert client.get("/appliance/requirements.txt").status_code == 404
    assert client.get("/appliance/simple/").status_code == 200


@pytest.mark.slow
def test_pip_downloads_with_required_hashes_from_a_served_hub(
    serve_hub, sqlite_store, wheel_dir: Path, tmp_path: Path
):
    hub = serve_hub(sqlite_store.url, wheel_dir=str(wheel_dir))
    requirements = tmp_path / "requirements.txt"
    subprocess.run(
        ["curl", "--silent", "--fail", "-o", requirements, f"{hub.url}/appliance/requirements.txt"],
        check=True,
    )
    # pip knows no extra `appliance` of the dummy wheel: it warns and installs the wheel alone.
    target = tmp_path / "downloaded"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-cache-dir",
            "--disable-pip-version-check",
            "--index-url",
            f"{hub.url}/appliance/simple/",
            "--require-hashes",
            "-r",
            requirements,
            "-d",
            target,
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(path.name for path in target.iterdir()) == [
        "buergeramt_virtuell-0.2.0-py3-none-any.whl",
        "tiny_dep-1.1-py3-none-any.whl",
    ]
    assert {sha256(path) for path in target.iterdir()} == {
        sha256(wheel_dir / name)
        for name in ("buergeramt_virtuell-0.2.0-py3-none-any.whl", "tiny_dep-1.1-py3-none-any.whl")
    }
