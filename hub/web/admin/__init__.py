"""The admin area (`/admin`, docs/admin-guide.md): staff sign in with a password and a TOTP
code; each role sees its own part (admin: everything; supervisor: the office; IT: the devices;
a clerk: their own day). Pages call the same functions in hub/operations/ as the command line;
every change is audited, and so is every look at a citizen's details."""

from __future__ import annotations

# Their pages register on bp.
from hub.web.admin import (  # noqa: F401
    appointments,
    auth,
    closures,
    counters,
    holidays,
    own_day,
    people,
    services,
    statistics,
    views,
)
from hub.web.admin.blueprint import bp

__all__ = ["bp"]
