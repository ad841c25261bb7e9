"""Prometheus metrics: requests, bookings, realtime connections, refusals, relayed signals, and
the fleet (appliances online, offline while their counter is open)."""

from __future__ import annotations

import hmac
import ipaddress
import logging
import time
from datetime import timedelta
from typing import TYPE_CHECKING

from flask import Flask, Response, current_app, g, request
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy.exc import DBAPIError

if TYPE_CHECKING:
    from hub.operations.fleet import FleetEntry

log = logging.getLogger("hub.metrics")


class HubMetrics:
    """One registry per app, so several apps in one process (tests) do not collide."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "buergeramt_http_requests_total",
            "HTTP requests handled",
            ["method", "endpoint", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "buergeramt_http_request_duration_seconds",
            "Time to answer an HTTP request",
            ["endpoint"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.bookings = Counter(
            "buergeramt_bookings_total",
            "Booking attempts by outcome",
            ["outcome"],
            registry=self.registry,
        )

        self.connections = Gauge(
            "buergeramt_realtime_connections",
            "Socket.IO connections held by this process",
            ["role"],
            registry=self.registry,
        )
        self.refusals = Counter(
            "buergeramt_realtime_refusals_total",
            "Socket.IO connections and events refused",
            ["code"],
            registry=self.registry,
        )
        self.relayed = Counter(
            "buergeramt_signals_relayed_total",
            "Signalling messages relayed between the parties of a call",
            ["sender"],
            registry=self.registry,
        )

        self.appliances_online = Gauge(
            "buergeramt_appliances_online",
            "Counter appliances connected to the hub (in a call too)",
            registry=self.registry,
        )
        self.offline_in_opening_hours = Gauge(
            "buergeramt_appliances_offline_in_opening_hours",
            "Appliances offline while their counter is open (alert when above 0)",
            registry=self.registry,
        )

    def init_app(self, app: Flask) -> None:
        """Time every request and serve /metrics."""
        app.extensions["metrics"] = self

        @app.before_request
        def _start() -> None:
            g.metrics_started = time.perf_counter()

        @app.after_request
        def _observe(response: Response) -> Response:
            endpoint = request.endpoint or "unmatched"
            self.requests.labels(request.method, endpoint, str(response.status_code)).inc()
            started = g.get("metrics_started")
            if started is not None:
                self.latency.labels(endpoint).observe(time.perf_counter() - started)
            return response

        app.add_url_rule("/metrics", "metrics", self.expose)

    def expose(self) -> Response:
        """The registry in Prometheus text format, to allowed scrapers only."""
        if not may_scrape():
            return Response("forbidden\n", 403, mimetype="text/plain")
        refresh_fleet(current_app)
        return Response(generate_latest(self.registry), mimetype=CONTENT_TYPE_LATEST)


def refresh_fleet(app: Flask) -> list[FleetEntry]:
    """Set the fleet's gauges from the database (each scrape, and the `fleet` job)."""
    from hub.operations.fleet import counts, fleet

    ext = app.extensions
    stale = timedelta(seconds=3 * ext["settings"].presence_seconds)
    try:
        entries = fleet(ext["store"], ext["clock"](), stale)
    except DBAPIError as exc:  # the database is away: the gauges keep their last values
        log.warning("fleet gauges not refreshed: %r", exc)
        return []
    found = counts(entries)
    ext["metrics"].appliances_online.set(found.online)
    ext["metrics"].offline_in_opening_hours.set(found.offline_in_opening_hours)
    return entries


def may_scrape() -> bool:
    """The bearer token matches `metrics_token`, or the client's address is allowed.

    Metrics name endpoints, outcomes and load: nothing for the public internet. A request
    forwarded by a proxy the hub does not trust (`trusted_proxies` = 0) shows the proxy's
    address, usually loopback, so its address proves nothing and only the token counts.
    """
    settings = current_app.extensions["settings"]
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    token = settings.metrics_token
    if token and scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token):
        return True
    forwarded = "X-Forwarded-For" in request.headers or "Forwarded" in request.headers
    if forwarded and not settings.trusted_proxies:
        return False
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped  # a hub listening on :: sees IPv4 clients this way
    return any(
        address in ipaddress.ip_network(entry, strict=False) for entry in settings.metrics_allow
    )


def metrics() -> HubMetrics:
    """The current app's metrics."""
    return current_app.extensions["metrics"]
