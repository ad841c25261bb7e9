"""The realtime protocol of Bürgeramt Virtuell: every message between the hub, the counter
appliance, the citizen's call page and the clerk's kiosk page, as typed models.

Framework-free (pydantic only), so the hub, the appliance and the kiosk validate with the same
models and a new event is one class and one line in `protocol.events`. docs/protocol.md is
generated from here (`python -m protocol.docs`), and `python -m protocol.schema` exports the
JSON Schema the two browser clients are written against.
"""

from protocol.limits import VERSION

__all__ = ["VERSION"]
