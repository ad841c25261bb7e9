"""A small YAML writer for cloud-init's files: mappings, lists, strings, numbers and booleans.

The hub installs no YAML library, and what IT opens on the card should read like YAML, not JSON:
multi-line strings (files' contents) become literal blocks; other strings are quoted the JSON
way, which YAML reads the same.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence

PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
Value = str | int | bool | None | Sequence["Value"] | Mapping[str, "Value"]


def dump(value: Mapping[str, Value]) -> str:
    """`value` as a YAML document (keys in the mapping's order)."""
    return "".join(_mapping(value, 0))


def _scalar(value: str | int | bool | None) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def _block(text: str, indent: int) -> list[str]:
    """A literal block: `|` keeps one final newline, `|-` none; `|2`: text may start with spaces."""
    chomp = "" if text.endswith("\n") and not text.endswith("\n\n") else "-"
    if text.endswith("\n\n"):
        chomp = "+"
    indicator = "2" if text[:1] in (" ", "\n") else ""
    pad = " " * (indent + 2)
    lines = text.removesuffix("\n").split("\n") if chomp != "+" else text.split("\n")[:-1]
    body = [f"{pad}{line}\n" if line else "\n" for line in lines]
    return [f"|{indicator}{chomp}\n", *body]


def _inline(value: Value, indent: int) -> list[str]:
    """What follows `key:` or `- `: a scalar on the same line, or nested lines."""
    if isinstance(value, Mapping):
        return ["{}\n"] if not value else ["\n", *_mapping(value, indent + 2)]
    if isinstance(value, str) and "\n" in value:
        return _block(value, indent)
    if isinstance(value, Sequence) and not isinstance(value, str):
        return ["[]\n"] if not value else ["\n", *_sequence(value, indent + 2)]
    return [f"{_scalar(value)}\n"]


def _key(key: str) -> str:
    return key if PLAIN_KEY.match(key) else _scalar(key)


def _mapping(value: Mapping[str, Value], indent: int) -> list[str]:
    lines = []
    for key, item in value.items():
        first, *rest = _inline(item, indent)
        lines.append(f"{' ' * indent}{_key(key)}:{'' if first == chr(10) else ' '}{first}")
        lines.extend(rest)
    return lines


def _sequence(value: Sequence[Value], indent: int) -> list[str]:
    lines = []
    for item in value:
        if isinstance(item, Mapping) and item:
            # The first key shares the dash's line; the others line up under it.
            nested = _mapping(item, indent + 2)
            lines.append(f"{' ' * indent}- {nested[0].lstrip(' ')}")
            lines.extend(nested[1:])
        else:
            first, *rest = _inline(item, indent)
            lines.append(f"{' ' * indent}-{'' if first == chr(10) else ' '}{first}")
            lines.extend(rest)
    return lines
