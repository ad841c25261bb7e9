"""The protocol as JSON Schema: one document per namespace for clients outside Python (the call
page, the kiosk page), with every event's payload and answer.

`python -m protocol.schema citizen` (or `appliance`, `kiosk`) prints a document. The hub serves
the citizen and appliance documents at /protocol/v1/<namespace>.schema.json, the appliance the
kiosk's. A client checks a message against `{"$ref": "#/events/to_client/status/payload"}`
resolved in the document (JSON Schema 2020-12). Requests are described as the receiver
validates them, news as the sender writes them.
"""

from __future__ import annotations

import json
import sys
from typing import Any, Literal

from pydantic import TypeAdapter
from pydantic.json_schema import JsonSchemaMode

from protocol import kiosk
from protocol.base import Refused
from protocol.events import APPLIANCE, CITIZEN, EVENTS, KIOSK, EventSpec
from protocol.limits import VERSION

NAMESPACES = {"citizen": CITIZEN, "appliance": APPLIANCE, "kiosk": KIOSK}
DIALECT = "https://json-schema.org/draft/2020-12/schema"
Part = Literal["payload", "answer"]


def payload_type(spec: EventSpec) -> Any:
    """What an event carries; the kiosk's `command` is any one of its commands."""
    return kiosk.AnyCommand if spec.payload is kiosk.Command else spec.payload


def _mode(spec: EventSpec, part: Part) -> JsonSchemaMode:
    # What a client sends is described as the hub reads it; what it receives as the hub writes.
    return "validation" if part == "payload" and spec.direction == "to_server" else "serialization"


def document(name: str) -> dict[str, Any]:
    """The JSON Schema document of one namespace (`citizen`, `appliance` or `kiosk`)."""
    namespace = NAMESPACES[name]
    specs = [spec for spec in EVENTS if spec.namespace == namespace]
    inputs: list[tuple[tuple[str, str, Part], JsonSchemaMode, TypeAdapter[Any]]] = []
    for spec in specs:
        key = (spec.direction, spec.name)
        inputs.append(((*key, "payload"), _mode(spec, "payload"), TypeAdapter(payload_type(spec))))
        if spec.answer is not None:
            inputs.append(((*key, "answer"), "serialization", TypeAdapter(spec.answer)))
    refusals = namespace != KIOSK  # the kiosk's Reply carries its own refusal
    if refusals:
        inputs.append((("", "", "answer"), "serialization", TypeAdapter(Refused)))
    found, definitions = TypeAdapter.json_schemas(inputs, ref_template="#/$defs/{model}")
    schemas = {key: schema for (key, _), schema in found.items()}
    refused = schemas[("", "", "answer")] if refusals else None
    events: dict[str, dict[str, Any]] = {"to_server": {}, "to_client": {}}
    for spec in specs:
        entry: dict[str, Any] = {
            "summary": spec.summary,
            "payload": schemas[(spec.direction, spec.name, "payload")],
        }
        if spec.answer is not None:
            answer = schemas[(spec.direction, spec.name, "answer")]
            entry["answer"] = {"anyOf": [answer, refused]} if refused else answer
        events[spec.direction][spec.name] = entry
    return {
        "$schema": DIALECT,
        "title": f"Bürgeramt Virtuell realtime protocol: {namespace}",
        "description": (
            "Socket.IO events (the kiosk: WebSocket messages) in both directions, by name; "
            "check a message against #/events/<direction>/<event>/payload or /answer."
        ),
        "version": VERSION,
        "namespace": namespace,
        "events": events,
        **definitions,
    }


def main(argv: list[str] | None = None) -> int:
    """Print the document of the namespace named on the command line."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0] not in NAMESPACES:
        print(f"usage: python -m protocol.schema {{{'|'.join(NAMESPACES)}}}", file=sys.stderr)
        return 2
    print(json.dumps(document(args[0]), indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
