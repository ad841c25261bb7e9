"""Languages: German first, English second, chosen by ?lang=, then Accept-Language."""

from __future__ import annotations

from flask import Flask, request
from flask_babel import Babel

LANGUAGES = ("de", "en")
DEFAULT_LANGUAGE = "de"

babel = Babel()


def select_locale() -> str:
    """The request's language: ?lang=de|en, else the browser's preference, else German."""
    wanted = request.args.get("lang", "")
    if wanted in LANGUAGES:
        return wanted
    return request.accept_languages.best_match(LANGUAGES, default=DEFAULT_LANGUAGE)


def init_app(app: Flask) -> None:
    """Register Flask-Babel with our catalogues."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LANGUAGE)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "Europe/Berlin")
    babel.init_app(app, locale_selector=select_locale)
