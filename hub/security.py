"""Browser-facing defences of every answer: security headers and CSRF tokens for HTML forms.

Manage and join links carry their secret in the URL and pages show names and e-mail addresses,
so pages must not be framed by other sites, cached, or leak their URL as a Referer; forms must
come from our own pages (Flask-WTF's CSRFProtect: a token in the session and in each form).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response, request
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()

# Endpoints whose answers stay cacheable: the same files for everyone, no secret in the URL.
CACHEABLE_ENDPOINTS = {"static", "web.static"}


def content_security_policy(public_url: str) -> str:
    """Own scripts, styles and connections only; never inside another site's frame.

    connect-src names the WebSocket origin as well: 'self' covers ws(s):// to the same host
    only in browsers that implement CSP level 3 (older Safari does not).
    """
    origin = urlsplit(public_url)
    websocket = ("wss" if origin.scheme == "https" else "ws") + "://" + origin.netloc
    directives = {
        "default-src": "'self'",
        "script-src": "'self'",
        "style-src": "'self'",
        "img-src": "'self' data:",
        "media-src": "'self' blob:",
        "connect-src": f"'self' {websocket}",
        "object-src": "'none'",
        "base-uri": "'none'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def init_app(app: Flask) -> None:
    """Headers on every answer of `app`; CSRF tokens required on form posts."""
    settings = app.extensions["settings"]
    policy = content_security_policy(settings.public_url)
    # The session cookie holds only the CSRF token; Lax keeps it off cross-site posts anyway.
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    app.config.setdefault("SESSION_COOKIE_SECURE", settings.public_url.startswith("https://"))
    # A form left open for hours (a citizen fetching documents) must still send: the token lives
    # as long as the browser session instead of Flask-WTF's default hour.
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    csrf.init_app(app)

    @app.after_request
    def _headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", policy)
        headers.setdefault("X-Frame-Options", "DENY")  # frame-ancestors for old browsers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        # same-origin, not no-referrer: Flask-WTF checks the Referer of HTTPS form posts, and
        # our own origin sees the token in the URL anyway; other sites never get it.
        headers.setdefault("Referrer-Policy", "same-origin")
        if request.endpoint not in CACHEABLE_ENDPOINTS:
            # Pages and answers carry names, e-mail addresses, tokens: no browser or proxy
            # cache may keep them (a shared computer's back button, a caching proxy).
            headers["Cache-Control"] = "no-store"
        return response
