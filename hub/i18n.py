"""Languages: German first, English second, chosen by ?lang=, then Accept-Language."""

from __future__ import annotations

from flask import Flask, Response, request
from flask_babel import Babel, get_locale

LANGUAGES = ("de", "en")
DEFAULT_LANGUAGE = "de"

babel = Babel()


def select_locale() -> str:
    """The request's language: ?lang=de|en, else the remembered choice, else the browser's."""
    wanted = request.args.get("lang", "")
    if wanted in LANGUAGES:
        return wanted
    remembered = request.cookies.get("lang", "")
    if remembered in LANGUAGES:
        return remembered
    return request.accept_languages.best_match(LANGUAGES, default=DEFAULT_LANGUAGE)


def current_language() -> str:
    """The language of the request being answered: one of LANGUAGES (the pages, the JSON API
    and the outbox page all render in it)."""
    lang = str(get_locale() or DEFAULT_LANGUAGE)
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def init_app(app: Flask) -> None:
    """Register Flask-Babel with our catalogues."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LANGUAGE)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "Europe/Berlin")
    babel.init_app(app, locale_selector=select_locale)

    @app.after_request
    def _remember(response: Response) -> Response:
        wanted = request.args.get("lang", "")
        if wanted in LANGUAGES and request.cookies.get("lang") != wanted:
            response.set_cookie("lang", wanted, max_age=365 * 24 * 3600, samesite="Lax")
        return response
