"""The protocol's version and its limits: what every side accepts, stated once."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

# Raised when a message changes incompatibly; the appliance sends its version on connect and
# the hub refuses one it cannot speak (`unsupported_protocol`). Additions that old readers can
# ignore (a new field in a hub → client message) keep the version.
VERSION = 1
SUPPORTED_VERSIONS = frozenset({1})

UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
AppointmentId = Annotated[str, StringConstraints(pattern=UUID_PATTERN)]
PaymentId = Annotated[str, StringConstraints(pattern=UUID_PATTERN)]

# A session description of a two-track call runs to 5-10 KB; 64 KB leaves room and no more.
MAX_SDP = 64 * 1024
MAX_CANDIDATE = 1024
# One Socket.IO message: refused by Engine.IO before any handler runs.
MAX_MESSAGE_BYTES = 96 * 1024
MAX_NOTES = 4000  # the clerk's notes on one call, in characters
MAX_USERNAME = 64
MAX_PASSWORD = 256
