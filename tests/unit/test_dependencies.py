"""Every third-party module a package imports is declared by the extras it is installed with.

An undeclared import works in the dev venv (something else pulled it in) and breaks an operator's
install: aiohttp came only through `python-socketio[asyncio_client]`, an extra pip 23 no longer
matched, so the appliance installed as documented could not start.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OWN = {"hub", "appliance", "protocol", "provisioning", "payment_sandbox"}
# Which extras each top-level package is installed with (the base dependencies always).
EXTRAS = {
    "hub": ["hub"],
    "appliance": ["appliance", "pi"],
    "protocol": [],
    "provisioning": [],
    "payment_sandbox": ["hub"],
}


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(requirement: str) -> str:
    return _canonical(re.match(r"[A-Za-z0-9._-]+", requirement).group(0))


def declared(extras: list[str]) -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in extras:
        requirements += project["optional-dependencies"][extra]
    return {_requirement_name(r) for r in requirements}


def imported(package: str) -> set[str]:
    names: set[str] = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names and n not in OWN}


@pytest.mark.parametrize("package", sorted(EXTRAS))
def test_every_import_is_declared_by_the_packages_extras(package):
    distributions = packages_distributions()
    needed = {
        module: {_canonical(d) for d in distributions.get(module, [module])}
        for module in imported(package)
    }
    have = declared(EXTRAS[package])
    missing = {module: sorted(dists) for module, dists in needed.items() if not dists & have}
    assert not missing, f"{package} imports modules no declared requirement provides: {missing}"


def test_the_appliance_command_needs_nothing_from_the_hub_extra():
    """A Pi installs `[appliance]` only: `buergeramt appliance` must load without Flask & Co."""
    hub_only = sorted(
        {"flask", "werkzeug", "sqlalchemy", "gevent", "flask_socketio", "alembic", "redis"}
    )
    script = (
        "import sys\n"
        f"for name in {hub_only!r}: sys.modules[name] = None\n"
        "from hub.cli import cli\n"
        "import appliance.daemon, appliance.media.call\n"
        "command = cli.get_command(None, 'appliance')\n"
        "print(command.name, command.callback.__module__)\n"  # not the stand-in for a failed load
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "appliance appliance.cli"
