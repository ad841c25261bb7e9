"""The shape of the code, checked: no import cycle between files or between packages, and the
framework-free parts (the hub's domain, the protocol, the appliance's core) import no framework,
network or hardware library, not even through another module of ours."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OWN = ("hub", "appliance", "protocol", "provisioning", "payment_sandbox")
FRAMEWORK_FREE = ("hub.booking", "hub.calls", "hub.documents", "protocol", "appliance.core")
FORBIDDEN = {
    "flask",
    "flask_socketio",
    "flask_babel",
    "flask_limiter",
    "flask_wtf",
    "werkzeug",
    "sqlalchemy",
    "alembic",
    "socketio",
    "engineio",
    "gevent",
    "aiortc",
    "aioice",
    "aiohttp",
    "av",
    "cv2",
    "numpy",
    "picamera2",
}


def modules() -> dict[str, Path]:
    """Every module of ours by dotted name (a package by its __init__)."""
    found = {}
    for package in OWN:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue  # Alembic's scripts are loaded by Alembic, never imported
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import, at any depth (a lazy import is a dependency too), but not those only
    for type checkers."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _type_checking(node):
            yield from (n for child in node.orelse for n in _imports(child))
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        yield from _imports(node)


def imports_of(name: str, path: Path, known: dict[str, Path]) -> tuple[set[str], set[str]]:
    """(our modules, outside top-level modules) that `name` imports."""
    ours: set[str] = set()
    outside: set[str] = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in _imports(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        for target in targets:
            if target.split(".")[0] not in OWN:
                outside.add(target.split(".")[0])
                continue
            while target and target not in known:  # `from a.b import name`: the module a.b
                target = target.rpartition(".")[0]
            if target and target != name:
                ours.add(target)
    return ours, outside


def graph() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    known = modules()
    ours, outside = {}, {}
    for name, path in known.items():
        ours[name], outside[name] = imports_of(name, path, known)
    return ours, outside


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def _package(name: str, known: dict[str, Path]) -> str:
    """The package a module belongs to (a package's __init__ belongs to itself)."""
    return name if known[name].name == "__init__.py" else name.rpartition(".")[0]


def test_no_import_cycle_between_files():
    ours, _ = graph()
    assert cycles(ours) == []


def test_no_import_cycle_between_packages():
    """A package depends on another when any of its modules imports one of the other's;
    a package and its own subpackages are apart (hub → hub.booking is fine, not the reverse
    loop back)."""
    known = modules()
    ours, _ = graph()
    packages: dict[str, set[str]] = {}
    for name, targets in ours.items():
        source = _package(name, known)
        for target in targets:
            other = _package(target, known)
            if other != source:
                packages.setdefault(source, set()).add(other)
    # An __init__ that re-exports from its own subpackage is not a loop of layers.
    for package, targets in packages.items():
        targets -= {t for t in targets if t.startswith(package + ".")}
    assert cycles(packages) == []


def test_framework_free_parts_stay_free_of_frameworks():
    ours, outside = graph()
    for root in FRAMEWORK_FREE:
        members = {name for name in ours if name == root or name.startswith(root + ".")}
        reached, todo = set(members), list(members)
        while todo:  # everything of ours they import, directly or through others
            for target in ours[todo.pop()]:
                if target not in reached:
                    reached.add(target)
                    todo.append(target)
        used = {(name, lib) for name in reached for lib in outside[name] & FORBIDDEN}
        assert not used, f"{root} reaches framework or hardware libraries: {sorted(used)}"


def test_the_checker_sees_a_cycle_and_a_forbidden_import():
    """The checks above would notice what they look for."""
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    known = modules()
    _, outside = imports_of("appliance.media.call", known["appliance.media.call"], known)
    assert "aiortc" in outside


def _crossing(source: str, target: str) -> list[str]:
    """Imports from modules under `source` of modules under `target`."""
    ours, _ = graph()

    def under(name: str, root: str) -> bool:
        return name == root or name.startswith(root + ".")

    return sorted(
        f"{name} → {other}"
        for name, targets in ours.items()
        if under(name, source)
        for other in targets
        if under(other, target)
    )


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ("hub.web", "hub.api"),  # the pages and the JSON API share what lies below both
        ("hub.api", "hub.web"),
        ("hub", "appliance"),  # `buergeramt appliance` is registered by appliance/
        ("hub", "payment_sandbox"),  # the hub talks HTTP to payment platforms, the sandbox too
        ("payment_sandbox", "hub"),  # the sandbox stands in for someone else's platform
        ("protocol", "hub"),  # the protocol lies below both hub and appliance
        ("protocol", "appliance"),
        ("appliance.core", "appliance.hub_link"),  # the core knows its adapters' interfaces only
        ("appliance.core", "appliance.media"),
        ("appliance.core", "appliance.devices"),
        ("appliance.core", "appliance.kiosk"),
        ("appliance.kiosk", "appliance.hub_link"),  # the kiosk: the core and the media feed only
        ("appliance.kiosk", "appliance.devices"),
    ],
)
def test_layers_point_one_way(source, target):
    assert _crossing(source, target) == []


def test_the_command_line_modules_never_import_their_root_group():
    """hub/cli/__init__.py imports the sub-command modules; they share hub/cli/common.py."""
    ours, _ = graph()
    back = sorted(
        n for n, targets in ours.items() if n.startswith("hub.cli.") and "hub.cli" in targets
    )
    assert back == []
