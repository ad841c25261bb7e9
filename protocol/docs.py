"""The event tables of docs/protocol.md, written from the protocol itself.

`python -m protocol.docs` rewrites what stands between marker comments in docs/protocol.md:
`<!-- events: citizen to_server -->` … `<!-- end -->` (one table per namespace and direction:
event, payload, answer, what it does) and `<!-- types: citizen -->` … `<!-- end -->` (the
types those payloads name). Everything else in the file is prose and stays as written.
`--check` only says whether the file is up to date (exit 1 if not). Types are read from the
JSON Schema that `protocol.schema` exports, so the page and the schema say the same.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from protocol.events import Direction
from protocol.limits import UUID_PATTERN
from protocol.schema import NAMESPACES, document

DOC = Path(__file__).resolve().parent.parent / "docs" / "protocol.md"
MARKER = re.compile(
    r"(?P<start><!-- (?P<kind>events|types): (?P<name>\w+)(?: (?P<direction>to_server|to_client))?"
    r" -->\n)(?P<body>.*?)(?P<end><!-- end -->)",
    re.DOTALL,
)
REF = "#/$defs/"


class Renderer:
    """Writes JSON Schema types of one namespace's document in a short JSON-like notation."""

    def __init__(self, name: str) -> None:
        self.document = document(name)
        self.defs: dict[str, Any] = self.document.get("$defs", {})
        self.named: list[str] = []  # the types rendered by name, to be listed below

    def _name(self, ref: str) -> str:
        name = ref.removeprefix(REF)
        if not self.defs[name].get("properties"):  # a model without fields: an empty object
            return "{}"
        if name not in self.named:
            self.named.append(name)
        return name

    def type(self, schema: dict[str, Any]) -> str:
        """One type: `string (≤ 64)`, `"a" | "b"`, `[IceServer]`, `Lobby | {}`, …"""
        if "$ref" in schema:
            return self._name(schema["$ref"])
        for union in ("anyOf", "oneOf"):
            if union in schema:
                return " | ".join(self.type(member) for member in schema[union])
        if "const" in schema:
            return json.dumps(schema["const"], ensure_ascii=False)
        if "enum" in schema:
            return " | ".join(json.dumps(v, ensure_ascii=False) for v in schema["enum"])
        kind = schema.get("type")
        if kind == "array":
            return f"[{self.type(schema.get('items', {}))}]"
        if kind == "object":
            return self.fields(schema) if schema.get("properties") else "object"
        if kind == "string" and schema.get("pattern") == UUID_PATTERN:
            return "uuid"
        low = schema.get("minLength", schema.get("minimum"))
        high = schema.get("maxLength", schema.get("maximum"))
        if kind in ("string", "integer") and high is not None:
            return f"{kind} ({low}–{high})" if low is not None else f"{kind} (≤ {high})"
        if kind in ("string", "integer") and low:
            return f"{kind} (≥ {low})"
        return str(kind or "any")

    def fields(self, schema: dict[str, Any]) -> str:
        """An object's fields; `"name"?` marks a field that may be absent."""
        required = set(schema.get("required", ()))
        parts = [
            f'"{field}"{"" if field in required else "?"}: {self.type(sub)}'
            for field, sub in schema.get("properties", {}).items()
        ]
        return "{" + ", ".join(parts) + "}"

    def message(self, schema: dict[str, Any]) -> str:
        """A payload or answer: its fields spelt out (a union: its members by name)."""
        if "$ref" in schema:
            target = self.defs[schema["$ref"].removeprefix(REF)]
            return self.fields(target) if target.get("properties") else "{}"
        if "anyOf" in schema:  # an answer: success or Refused; refusals have a section of their own
            return self.message(schema["anyOf"][0])
        return self.type(schema)


def _cell(text: str) -> str:
    """Table cell text: pipes escaped (also inside code spans, as GitHub's tables need)."""
    return " ".join(text.split()).replace("|", "\\|")


def _code(text: str) -> str:
    return _cell(f"`{text}`")


def events_table(name: str, direction: Direction, renderer: Renderer | None = None) -> str:
    """The table of one namespace's events in one direction."""
    renderer = renderer or Renderer(name)
    events = renderer.document["events"][direction]
    if not events:
        raise ValueError(f"{name} has no {direction} events")
    if direction == "to_server":
        rows = ["| event | payload | answer | effect |", "| --- | --- | --- | --- |"]
    else:
        rows = ["| event | payload | when |", "| --- | --- | --- |"]
    for event, entry in events.items():
        cells = [f"`{event}`", _code(renderer.message(entry["payload"]))]
        if direction == "to_server":
            cells.append(_code(renderer.message(entry["answer"])) if "answer" in entry else "—")
        cells.append(_cell(entry["summary"]))
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def types_table(name: str, renderer: Renderer | None = None) -> str:
    """The named types one namespace's events carry, each with its fields and meaning."""
    renderer = renderer or Renderer(name)
    for direction in ("to_server", "to_client"):
        events_table(name, direction, renderer)  # collects the names the messages use
    rows = ["| type | fields | meaning |", "| --- | --- | --- |"]
    done = 0
    while done < len(renderer.named):  # listing a type may name further ones
        type_name = renderer.named[done]
        done += 1
        schema = renderer.defs[type_name]
        rows.append(
            f"| `{type_name}` | {_code(renderer.fields(schema))} | "
            f"{_cell(schema.get('description', ''))} |"
        )
    return "\n".join(rows)


def render(text: str) -> str:
    """`text` (docs/protocol.md) with every marked section written anew."""
    seen: set[tuple[str, str | None]] = set()

    def section(match: re.Match[str]) -> str:
        kind, name, direction = match["kind"], match["name"], match["direction"]
        if name not in NAMESPACES:
            raise ValueError(f"no namespace {name!r} (one of {', '.join(NAMESPACES)})")
        seen.add((name, direction if kind == "events" else "types"))
        if kind == "events":
            if direction is None:
                raise ValueError(f"events: {name} needs a direction (to_server or to_client)")
            body = events_table(name, "to_server" if direction == "to_server" else "to_client")
        else:
            body = types_table(name)
        return f"{match['start']}\n{body}\n\n{match['end']}"

    result = MARKER.sub(section, text)
    wanted = {(n, part) for n in NAMESPACES for part in ("to_server", "to_client", "types")}
    if missing := wanted - seen:
        raise ValueError(f"docs/protocol.md lacks marked sections for {sorted(missing)}")
    return result


def main(argv: list[str] | None = None) -> int:
    """Rewrite docs/protocol.md (or with --check, say whether it is up to date)."""
    args = sys.argv[1:] if argv is None else argv
    check = "--check" in args
    path = Path(next((a for a in args if a != "--check"), DOC))
    text = path.read_text(encoding="utf-8")
    rendered = render(text)
    if check:
        if rendered != text:
            print(f"{path} is out of date: run `python -m protocol.docs`", file=sys.stderr)
            return 1
        return 0
    if rendered != text:
        path.write_text(rendered, encoding="utf-8")
        print(f"rewrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
