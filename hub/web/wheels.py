"""The appliance's software for counters: a PEP 503 "simple" index over the folder `wheel_dir`.

The operator fills the folder with `pip download` / `pip wheel` output (docs/operations.md,
"Provisioning an appliance"); a counter's first boot installs from it with
`pip install --index-url <hub>/appliance/simple/ --require-hashes`, so counters need no internet.
Every link carries `#sha256=…`. The software is no secret (it is the published appliance), so
these pages need no credential: a counter that asks has none yet.
"""

from __future__ import annotations

import hashlib
import html
import re
from pathlib import Path
from threading import Lock

from flask import Blueprint, Response, abort, request, send_from_directory
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from hub.context import hub_settings

bp = Blueprint("wheels", __name__, url_prefix="/appliance")

# What pip can install: wheels and source archives; nothing else in the folder is served.
FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*\.(whl|tar\.gz|zip)$")
SIMPLE_TYPE = "text/html; charset=utf-8"
# The appliance itself, installed with the extra that brings its dependencies.
APPLIANCE = "buergeramt-virtuell"
APPLIANCE_EXTRA = "appliance"

_hashes: dict[tuple[Path, int, int], str] = {}
_hashes_lock = Lock()


def normalise(name: str) -> str:
    """A project name as PEP 503 compares them: `Foo_Bar.baz` → `foo-bar-baz`."""
    return re.sub(r"[-_.]+", "-", name).lower()


def project_of(file_name: str) -> str:
    """The normalised project a distribution file belongs to (its name before the version)."""
    if file_name.endswith(".whl"):
        return normalise(file_name.split("-", 1)[0])
    stem = file_name.removesuffix(".tar.gz").removesuffix(".zip")
    return normalise(stem.rsplit("-", 1)[0])


def sha256_of(path: Path) -> str:
    """The file's SHA-256 in hex, computed once per size and modification time."""
    stat = path.stat()
    key = (path, stat.st_size, stat.st_mtime_ns)
    with _hashes_lock:
        if key in _hashes:
            return _hashes[key]
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    with _hashes_lock:
        _hashes[key] = digest.hexdigest()
    return _hashes[key]


def distributions(folder: Path) -> dict[str, list[Path]]:
    """The folder's installable files by normalised project name, each list sorted."""
    projects: dict[str, list[Path]] = {}
    if folder.is_dir():
        for path in sorted(folder.iterdir()):
            if FILE_NAME.match(path.name) and path.is_file():
                projects.setdefault(project_of(path.name), []).append(path)
    return projects


def _page(title: str, links: list[str]) -> Response:
    body = "\n".join(links)
    text = (
        f"<!DOCTYPE html>\n<html><head><meta name='pypi:repository-version' content='1.0'>"
        f"<title>{html.escape(title)}</title></head><body>\n{body}\n</body></html>\n"
    )
    return Response(text, content_type=SIMPLE_TYPE)


@bp.get("/simple/")
def index() -> Response:
    """The projects the folder holds."""
    projects = distributions(hub_settings().effective_wheel_dir)
    links = [f'<a href="{name}/">{name}</a>' for name in sorted(projects)]
    return _page("Bürgeramt Virtuell: appliance software", links)


@bp.get("/simple/<project>/")
def project(project: str) -> Response:
    """One project's files, each link with its SHA-256 (for `pip --require-hashes`)."""
    files = distributions(hub_settings().effective_wheel_dir).get(normalise(project))
    if not files:
        abort(404)
    links = [
        f'<a href="../../wheels/{html.escape(path.name)}#sha256={sha256_of(path)}">'
        f"{html.escape(path.name)}</a>"
        for path in files
    ]
    return _page(f"Links for {project}", links)


def version_of(path: Path) -> Version | None:
    """The version a distribution file carries in its name (None: not a valid name)."""
    try:
        if path.name.endswith(".whl"):
            return parse_wheel_filename(path.name)[1]
        return parse_sdist_filename(path.name)[1]
    except (InvalidWheelFilename, InvalidSdistFilename):
        return None


def appliance_versions(folder: Path) -> list[Version]:
    """The appliance's versions the folder holds, oldest first."""
    files = distributions(folder).get(APPLIANCE, [])
    return sorted({version for path in files if (version := version_of(path))})


def requirements(folder: Path, appliance: Version | None = None) -> str:
    """Every project of the folder pinned to its newest version (the appliance to `appliance`
    when given), with the SHA-256 of each of that version's files (one per platform):
    `pip install --require-hashes -r` takes it."""
    lines = []
    for name, files in sorted(distributions(folder).items()):
        versions = {path: version for path in files if (version := version_of(path))}
        if not versions:
            continue
        newest = max(versions.values())
        if name == APPLIANCE and appliance is not None:
            newest = appliance
        hashes = " ".join(
            f"--hash=sha256:{sha256_of(path)}"
            for path, version in versions.items()
            if version == newest
        )
        extra = f"[{APPLIANCE_EXTRA}]" if name == APPLIANCE else ""
        lines.append(f"{name}{extra}=={newest} {hashes}\n")
    return "".join(lines)


@bp.get("/requirements.txt")
def pinned() -> Response:
    """What a counter installs: the folder's newest appliance (or `?version=`, an update's) and
    its dependencies, hashed."""
    asked = request.args.get("version")
    try:
        version = Version(asked) if asked is not None else None
    except InvalidVersion:
        abort(400, description=f"not a version: {asked[:40]!r}" if asked else "no version")
    text = requirements(hub_settings().effective_wheel_dir, version)
    if not any(f"{APPLIANCE}[" in line and " --hash=" in line for line in text.splitlines()):
        abort(404)  # no such appliance wheel: a first boot retries instead of installing nothing
    return Response(text, content_type="text/plain; charset=utf-8")


@bp.get("/wheels/<file_name>")
def wheel(file_name: str) -> Response:
    """One file of the folder, as it lies there."""
    if not FILE_NAME.match(file_name):
        abort(404)
    return send_from_directory(
        hub_settings().effective_wheel_dir, file_name, mimetype="application/octet-stream"
    )
