"""Dependencies point one way (docs/architecture.md): front-ends call what lies below them, never
each other, so a rule shared by two of them lives once, below both."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def imports(folder: str) -> set[tuple[str, str]]:
    """(file, module) for every absolute import in the .py files under `folder`, lazy ones too."""
    found: set[tuple[str, str]] = set()
    for path in (ROOT / folder).rglob("*.py"):
        name = path.relative_to(ROOT).as_posix()
        for node in ast.walk(ast.parse(path.read_text(), name)):
            if isinstance(node, ast.Import):
                found.update((name, alias.name) for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.update((name, f"{node.module}.{alias.name}") for alias in node.names)
    return found


@pytest.mark.parametrize(("front_end", "other"), [("hub/web", "hub.api"), ("hub/api", "hub.web")])
def test_the_pages_and_the_json_api_do_not_import_each_other(front_end, other):
    crossing = sorted(
        f"{file}: {module}"
        for file, module in imports(front_end)
        if module == other or module.startswith(f"{other}.")
    )
    assert not crossing


def test_the_hub_imports_nothing_from_the_appliance():
    """`buergeramt appliance` is registered by appliance/ (an entry point), the demo starts it as
    a child process: the hub runs without the appliance package and its libraries."""
    crossing = sorted(
        f"{file}: {module}"
        for file, module in imports("hub")
        if module == "appliance" or module.startswith("appliance.")
    )
    assert not crossing


def test_the_command_line_modules_never_import_their_root_group():
    """hub/cli/__init__.py imports the sub-command modules; they share hub/cli/common.py."""
    back = sorted(
        f"{file}: {module}"
        for file, module in imports("hub/cli")
        if file != "hub/cli/__init__.py"
        and (module == "hub.cli" or module.rsplit(".", 1)[0] == "hub.cli")
    )
    assert not back
