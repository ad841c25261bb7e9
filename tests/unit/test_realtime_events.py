"""The table of events (protocol.events) is the truth: the hub handles exactly the events clients
may send, and sends only events the table lists, read from hub/realtime/'s source."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from hub.realtime.appliance import ApplianceNamespace
from hub.realtime.citizen import CitizenNamespace
from protocol.events import APPLIANCE, CITIZEN, names

REALTIME = Path(__file__).resolve().parents[2] / "hub" / "realtime"
NAMESPACES = {"CITIZEN": CITIZEN, "APPLIANCE": APPLIANCE}
# Helpers that pass their `event` on to an emit: their callers name the event. For each, where
# the namespace is: a keyword/position, or (tell_peer) the flag saying which party is told.
FORWARDERS = {"send_after_connect": 3, "tell_peer": "to_citizen"}
EMITS = {"emit", *FORWARDERS}


def handled(namespace: type) -> set[str]:
    """The events a namespace class has a handler for (as GuardedNamespace dispatches)."""
    return {name[3:] for name in dir(namespace) if name.startswith("on_")} - {
        "connect",
        "disconnect",
    }


@pytest.mark.parametrize(
    ("namespace", "cls"), [(CITIZEN, CitizenNamespace), (APPLIANCE, ApplianceNamespace)]
)
def test_every_event_a_client_may_send_has_its_handler_and_no_other(namespace, cls):
    assert handled(cls) == names(namespace, "to_server")


def _namespace(call: ast.Call, name: str) -> str | None:
    """The namespace an emit goes to, if the call names it as CITIZEN or APPLIANCE."""
    where = FORWARDERS.get(name, "namespace")
    if where == "to_citizen":
        flag = next(k.value for k in call.keywords if k.arg == "to_citizen")
        assert isinstance(flag, ast.Constant), ast.unparse(call)
        return CITIZEN if flag.value else APPLIANCE
    node = next((k.value for k in call.keywords if k.arg == "namespace"), None)
    if node is None and isinstance(where, int) and len(call.args) > where:
        node = call.args[where]
    return NAMESPACES.get(node.id) if isinstance(node, ast.Name) else None


def emitted(source: str, filename: str = "<source>") -> tuple[set[tuple[str, str]], list[str]]:
    """(namespace, event) of every emit in `source`, and the emits whose event or namespace
    cannot be read from the source (the event must be a literal, but inside a forwarder)."""
    found: set[tuple[str, str]] = set()
    unreadable: list[str] = []

    def forwarded(event: ast.expr, enclosing: list[ast.FunctionDef]) -> bool:
        """`event` is the parameter of a forwarder the call is in: its callers are checked."""
        return isinstance(event, ast.Name) and any(
            f.name in FORWARDERS and event.id in {a.arg for a in f.args.args} for f in enclosing
        )

    def check(call: ast.Call, enclosing: list[ast.FunctionDef]) -> None:
        func = call.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if name == "partial" and call.args and getattr(call.args[0], "id", None) in EMITS:
            bound = ast.Call(func=call.args[0], args=call.args[1:], keywords=call.keywords)
            call, name = ast.copy_location(bound, call), getattr(call.args[0], "id", None)
        if name not in EMITS or not call.args or forwarded(call.args[0], enclosing):
            return
        event = call.args[0]
        namespace = _namespace(call, name)
        if isinstance(event, ast.Constant) and isinstance(event.value, str) and namespace:
            found.add((namespace, event.value))
        else:
            unreadable.append(f"{filename}:{call.lineno}: {ast.unparse(call)[:80]}")

    def visit(node: ast.AST, enclosing: list[ast.FunctionDef]) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Call):
                check(child, enclosing)
            inner = [*enclosing, child] if isinstance(child, ast.FunctionDef) else enclosing
            visit(child, inner)

    visit(ast.parse(source, filename), [])
    return found, unreadable


def test_the_hub_sends_exactly_the_events_the_table_lists():
    sent: set[tuple[str, str]] = set()
    for path in sorted(REALTIME.glob("*.py")):
        found, unreadable = emitted(path.read_text(), path.name)
        assert not unreadable, f"name the event and namespace literally: {unreadable}"
        sent |= found
    listed = {(ns, event) for ns in (CITIZEN, APPLIANCE) for event in names(ns, "to_client")}
    assert sent - listed == set(), "sent but not in protocol.events"
    assert listed - sent == set(), "in protocol.events but never sent"


def test_the_emit_reader_sees_what_it_should():
    source = """
def a(sio):
    sio.emit("status", {}, to=room, namespace=CITIZEN)
    send_after_connect("hello", sid, hello, APPLIANCE)
    tell_peer("peer_left", call, to_citizen=False)
    later = partial(tell_peer, "peer_rejoined", call, to_citizen=True)
def b(sio, event):
    sio.emit(event, {}, namespace=CITIZEN)
def tell_peer(event, call, *, to_citizen):
    emit(event, {}, to=room, namespace=namespace)
def send_after_connect(event, sid, message, namespace):
    def send():
        sio.emit(event, message, to=sid, namespace=namespace)
"""
    found, unreadable = emitted(source)
    assert found == {
        (CITIZEN, "status"),
        (APPLIANCE, "hello"),
        (APPLIANCE, "peer_left"),
        (CITIZEN, "peer_rejoined"),
    }
    assert len(unreadable) == 1 and "sio.emit(event" in unreadable[0]
