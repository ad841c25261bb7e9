"""The admin area (`/admin`, docs/admin-guide.md): staff sign in with a password and a TOTP
code; each role sees its own part (admin: everything; supervisor: the office; IT: the devices).
Pages call the same functions in hub/operations/ as the command line; every change is audited."""

from __future__ import annotations

# Their pages register on bp.
from hub.web.admin import (  # noqa: F401
    appointments,
    auth,
    closures,
    counters,
    holidays,
    people,
    services,
    statistics,
    views,
)
from hub.web.admin.blueprint import bp

__all__ = ["bp"]
