"""Posting the hub's HTML forms as a browser does: with the CSRF token of the page they are on."""

from __future__ import annotations

import re

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def page_token(page: str) -> str:
    """The CSRF token in a rendered page's form."""
    found = TOKEN.search(page)
    assert found, "the page's form carries no CSRF token"
    return found.group(1)


def form_token(client, path: str, **query: str) -> str:
    """Open `path?query` with `client` (its session) and return the token its form carries."""
    response = client.get(path, query_string=query)
    assert response.status_code == 200, response.status_code
    return page_token(response.data.decode())
