"""The central hub: books slots, serves citizens' pages and the JSON API, relays signalling."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from hub.clock import Clock, configured_clock
from hub.config import Settings, load_settings

# Flask and SQLAlchemy come with the `hub` extra only: `buergeramt appliance` (installed with
# `[appliance]` on a counter) imports this package through hub.cli and must not need them.
if TYPE_CHECKING:
    from flask import Flask

    from hub.store import Store


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    store: Store | None = None,
    **flask_config: Any,
) -> Flask:
    """The app factory: settings, clock and store may be injected (tests do)."""
    from flask import Flask
    from werkzeug.middleware.proxy_fix import ProxyFix

    from hub import error_handlers, health, i18n, jobs, ratelimit, realtime, security
    from hub.api import bp as api_bp
    from hub.api import errors
    from hub.api.counter_documents import bp as counter_documents_bp
    from hub.api.enrolment import bp as enrolment_bp
    from hub.metrics import HubMetrics
    from hub.notify.configured import mail_policy, transport
    from hub.operations.documents import configure as configure_documents
    from hub.store import Store
    from hub.web import bp as web_bp
    from hub.web.admin import bp as admin_bp
    from hub.web.cash_office import bp as cash_office_bp
    from hub.web.documents import bp as documents_bp
    from hub.web.fleet import bp as fleet_bp
    from hub.web.outbox import bp as outbox_bp
    from hub.web.pay import bp as pay_bp
    from hub.web.wheels import bp as wheels_bp

    settings = settings or load_settings()
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.effective_secret_key(),  # signs the session holding the CSRF token
        MAX_CONTENT_LENGTH=1024 * 1024,
        **flask_config,
    )
    app.json.sort_keys = False  # type: ignore[attr-defined]  # DefaultJSONProvider's
    app.url_map.merge_slashes = False  # a stray // is a 404, not a redirect
    if settings.trusted_proxies:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]  # Flask's middleware pattern
            app.wsgi_app,
            x_for=settings.trusted_proxies,
            x_proto=settings.trusted_proxies,
            x_host=settings.trusted_proxies,
        )
    if clock is None:
        clock = configured_clock(settings.clock_start)
    app.extensions["settings"] = settings
    app.extensions["clock"] = clock
    app.extensions["store"] = store or Store(settings.effective_database_url)
    # Storage, limits, keys and virus scanner of the documents (hub.operations.documents).
    configure_documents(app.extensions["store"], settings)
    app.extensions["mails"] = mail_policy(settings)
    app.extensions["mail_transport"] = transport(settings)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    HubMetrics().init_app(app)
    i18n.init_app(app)
    errors.init_app(app)
    error_handlers.init_app(app)
    ratelimit.init_app(app)
    security.init_app(app)
    realtime.init_app(app)
    jobs.init_app(app, realtime.socketio.start_background_task)
    app.register_blueprint(health.bp)
    app.register_blueprint(api_bp)
    # The JSON API needs no CSRF token: it takes application/json bodies or a bearer token,
    # which a cross-site form or link cannot send without a CORS preflight (none is allowed).
    security.csrf.exempt(api_bp)
    app.register_blueprint(web_bp)
    app.register_blueprint(documents_bp)
    app.register_blueprint(counter_documents_bp)
    app.register_blueprint(enrolment_bp)  # appliances enrolling over the network
    app.register_blueprint(outbox_bp)
    app.register_blueprint(cash_office_bp)
    app.register_blueprint(fleet_bp)
    app.register_blueprint(admin_bp)  # /admin: staff sign in with password and TOTP
    app.register_blueprint(pay_bp)
    app.register_blueprint(wheels_bp)  # the appliance's software for first boots and updates
    return app
