"""The realtime protocol's JSON Schema for the two namespaces browsers and appliances use,
read-only at /protocol/v1/<namespace>.schema.json (the kiosk's is the appliance's to serve)."""

from __future__ import annotations

import json
from functools import cache

from flask import Blueprint, Response, abort

from protocol.limits import VERSION
from protocol.schema import document

bp = Blueprint("protocol_schema", __name__)
SERVED = ("citizen", "appliance")


@cache
def _body(name: str) -> str:
    return json.dumps(document(name), indent=2, ensure_ascii=False)


@bp.get(f"/protocol/v{VERSION}/<name>.schema.json")
def schema(name: str) -> Response:
    """One namespace's document (404 for any other name)."""
    if name not in SERVED:
        abort(404)
    return Response(_body(name), mimetype="application/schema+json")
