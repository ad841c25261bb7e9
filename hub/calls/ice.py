"""ICE servers for a call, with TURN credentials that expire (coturn's shared-secret scheme).

coturn's `use-auth-secret` accepts the username "<expiry unix time>:<any id>" with the password
base64(HMAC-SHA1(secret, username)); it refuses the pair once the expiry has passed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any


def turn_credential(secret: str, subject: str, expires: datetime) -> tuple[str, str]:
    """(username, password) valid until `expires` for coturn configured with `secret`."""
    username = f"{int(expires.timestamp())}:{subject}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def ice_servers(
    *,
    stun_urls: Sequence[str],
    turn_urls: Sequence[str],
    turn_secret: str | None,
    subject: str,
    now: datetime,
    ttl: timedelta,
) -> list[dict[str, Any]]:
    """RTCIceServer dictionaries as both the browser and aiortc take them."""
    servers: list[dict[str, Any]] = []
    if stun_urls:
        servers.append({"urls": list(stun_urls)})
    if turn_urls and turn_secret:
        username, credential = turn_credential(turn_secret, subject, now + ttl)
        servers.append({"urls": list(turn_urls), "username": username, "credential": credential})
    return servers
