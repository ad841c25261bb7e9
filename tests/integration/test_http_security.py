"""The hub's HTTP layer under attack (issue 12): security headers, /metrics, the language link,
tokens in logs, out-of-range dates and cross-site form posts."""

from __future__ import annotations

import logging
import re

import pytest
from sqlalchemy import func, select

from hub import create_app
from hub.booking.tokens import join_token_for, token_ref
from hub.clock import fixed_clock
from hub.store.models import AppointmentRow
from tests.support.environment import MONDAY_EARLY
from tests.support.forms import page_token
from tests.support.hub import make_settings

SERVICE = "meldebescheinigung"
START = "2026-03-02T10:00:00+01:00"


def hub_app(store, tmp_path, **settings):
    return create_app(
        make_settings(tmp_path, database_url=store.url, **settings),
        clock=fixed_clock(MONDAY_EARLY),
        store=store,
        TESTING=True,
    )


@pytest.fixture
def web(sqlite_store, tmp_path):
    """The hub on SQLite: what is tested here does not depend on the database."""
    return hub_app(sqlite_store, tmp_path)


def book(client, start=START, email="erika@example.org") -> dict:
    body = {"service_id": SERVICE, "start": start, "name": "Erika Mustermann", "email": email}
    response = client.post("/api/v1/appointments", json=body)
    assert response.status_code == 201, response.json
    return response.json


def appointments(store) -> int:
    with store.transaction() as session:
        return session.scalar(select(func.count()).select_from(AppointmentRow))


# Point 9: security headers.


def test_every_page_and_answer_carries_the_security_headers(web):
    client = web.test_client()
    appt = book(client)
    token = appt["manage_token"]
    auth = {"Authorization": f"Bearer {token}"}
    answers = {
        "/": client.get("/"),
        "manage": client.get(f"/manage/{token}"),
        "join": client.get(f"/join/{join_token_for(token)}"),
        "details": client.get(f"/book/{SERVICE}/details?start={START.replace('+', '%2B')}"),
        "api read": client.get(f"/api/v1/appointments/{appt['id']}", headers=auth),
        "api list": client.get("/api/v1/services"),
        "404 page": client.get("/nowhere"),
        "api 404": client.get("/api/v1/nowhere"),
    }
    for name, response in answers.items():
        csp = response.headers.get("Content-Security-Policy", "")
        assert "frame-ancestors 'none'" in csp, name
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp, name
        assert "default-src 'self'" in csp, name
        # The call page's Socket.IO websocket goes to the hub's own origin.
        assert "ws://hub.test" in csp and "connect-src 'self'" in csp, name
        assert response.headers.get("X-Content-Type-Options") == "nosniff", name
        assert response.headers.get("Referrer-Policy") in ("no-referrer", "same-origin"), name
        assert response.headers.get("X-Frame-Options") == "DENY", name
    for name in ("manage", "join", "details", "api read"):
        assert "no-store" in answers[name].headers.get("Cache-Control", ""), name
    # Static files stay cacheable.
    css = client.get("/static/web/site.css")
    assert css.status_code == 200 and "no-store" not in css.headers.get("Cache-Control", "")


def test_pages_run_no_inline_script_handler_or_style(web):
    """The CSP forbids them; a page that used one would break in the browser."""
    client = web.test_client()
    appt = book(client)
    token = appt["manage_token"]
    for path in (
        "/",
        f"/book/{SERVICE}",
        f"/book/{SERVICE}/details?start={START.replace('+', '%2B')}",
        f"/manage/{token}",
        f"/manage/{token}/move",
        f"/join/{join_token_for(token)}",
        "/privacy",
    ):
        page = client.get(path).data.decode()
        for script in re.findall(r"<script\b[^>]*>", page):
            assert "src=" in script or 'type="application/json"' in script, (path, script)
        assert not re.search(r"\son[a-z]+\s*=", page), path
        assert not re.search(r"\sstyle\s*=", page), path


# Point 10: /metrics.


def test_metrics_answer_loopback_and_the_token_only(sqlite_store, tmp_path):
    app = hub_app(sqlite_store, tmp_path, metrics_token="m3trics-t0ken")
    client = app.test_client()
    outside = {"REMOTE_ADDR": "203.0.113.7"}
    assert client.get("/metrics").status_code == 200  # this machine
    assert client.get("/metrics", environ_base=outside).status_code == 403
    wrong = {"Authorization": "Bearer nope"}
    assert client.get("/metrics", environ_base=outside, headers=wrong).status_code == 403
    right = {"Authorization": "Bearer m3trics-t0ken"}
    answer = client.get("/metrics", environ_base=outside, headers=right)
    assert answer.status_code == 200 and b"buergeramt_http_requests_total" in answer.data
    # Through a proxy on this machine that the hub does not trust, loopback proves nothing.
    forwarded = {"X-Forwarded-For": "203.0.113.7"}
    assert client.get("/metrics", headers=forwarded).status_code == 403


def test_metrics_allow_list_of_networks(sqlite_store, tmp_path):
    app = hub_app(sqlite_store, tmp_path, metrics_allow=["10.1.0.0/16"])
    client = app.test_client()
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.2.0.1"}).status_code == 403
    assert client.get("/metrics").status_code == 403  # loopback is no longer listed


# Point 11: the language link.


def test_language_link_ignores_url_for_arguments_in_the_query(web):
    client = web.test_client()
    assert client.get("/?_method=x").status_code == 200
    page = client.get("/?_external=1&_scheme=javascript", headers={"Host": "evil.example"})
    assert page.status_code == 200
    links = re.findall(r'href="([^"]*)" lang="en"', page.data.decode())
    assert links and all(link.startswith("/") and "evil.example" not in link for link in links)
    assert "_external" in links[0]  # kept as a harmless query argument, not obeyed
    # A path beginning with // must not become a link to another host.
    missing = client.get("//evil.example/x").data.decode()
    links = re.findall(r'href="([^"]*)" lang="en"', missing)
    assert links and not links[0].startswith("//")
    # Arguments that mean something to the page survive.
    day = client.get(f"/book/{SERVICE}?day=2026-03-03").data.decode()
    assert re.search(r'href="/book/meldebescheinigung\?day=2026-03-03&amp;lang=en"', day)


# Point 12: dates at the ends of the calendar.


@pytest.mark.parametrize("query", ["from=9999-12-31", "from=0001-01-01", "to=9999-12-31"])
def test_slots_outside_the_calendar_are_a_clear_422(web, query):
    answer = web.test_client().get(f"/api/v1/services/{SERVICE}/slots?{query}")
    assert answer.status_code == 422
    assert answer.json["error"]["code"] == "date_out_of_range"
    assert answer.json["error"]["message"]


@pytest.mark.parametrize("start", ["9999-12-31T23:59:00+00:00", "0001-01-01T00:00:00+00:00"])
def test_booking_at_the_ends_of_the_calendar_is_refused_clearly(web, start):
    client = web.test_client()
    body = {"service_id": SERVICE, "start": start, "name": "Erika", "email": "e@example.org"}
    api = client.post("/api/v1/appointments", json=body)
    assert api.status_code == 422 and api.json["error"]["field"] == "start"
    page = client.get(f"/book/{SERVICE}/details", query_string={"start": start})
    assert page.status_code == 303 or page.status_code == 302
    assert page.headers["Location"].endswith(f"/book/{SERVICE}")


def test_openapi_lists_the_out_of_range_error(web):
    doc = web.test_client().get("/api/v1/openapi.json").json
    assert "date_out_of_range" in str(doc)


# Point 13: tokens in logs.


def test_error_logs_name_tokens_by_reference_only(web, caplog, monkeypatch):
    from hub.operations import booking

    token = book(web.test_client())["manage_token"]

    def broken(*_args, **_kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(booking, "find_by_manage_token", broken)
    with caplog.at_level(logging.INFO):
        assert web.test_client().get(f"/manage/{token}").status_code == 500
    assert "boom" in caplog.text
    assert token not in caplog.text
    assert token_ref(token) in caplog.text


# Point 20: cross-site form posts.


def test_a_form_post_without_the_token_books_nothing(web, sqlite_store):
    client = web.test_client()
    form = {"start": START, "name": "Erika", "email": "erika@example.org", "consent": "yes"}
    forged = client.post(f"/book/{SERVICE}/details", data=form)
    assert forged.status_code == 400
    assert "Formular" in forged.data.decode()  # a page that says what happened, in German
    english = client.post(f"/book/{SERVICE}/details?lang=en", data=form)
    assert english.status_code == 400 and "form" in english.data.decode()
    assert appointments(sqlite_store) == 0
    # From the page itself, with its token, the booking goes through.
    page = client.get(f"/book/{SERVICE}/details", query_string={"start": START}).data.decode()
    done = client.post(f"/book/{SERVICE}/details", data={**form, "csrf_token": page_token(page)})
    assert done.status_code == 303 and "/manage/" in done.headers["Location"]
    assert appointments(sqlite_store) == 1


def test_cancel_and_move_need_the_pages_token(web, sqlite_store):
    client = web.test_client()
    token = book(client)["manage_token"]
    other = web.test_client()  # the attacker's site: no session, no token
    assert other.post(f"/manage/{token}/cancel").status_code == 400
    assert other.post(f"/manage/{token}/move", data={"start": START}).status_code == 400
    with sqlite_store.transaction() as session:
        assert session.scalar(select(AppointmentRow.status)) == "booked"
    page = client.get(f"/manage/{token}").data.decode()
    cancelled = client.post(f"/manage/{token}/cancel", data={"csrf_token": page_token(page)})
    assert cancelled.status_code == 303
    with sqlite_store.transaction() as session:
        assert session.scalar(select(AppointmentRow.status)) == "cancelled"


def test_the_api_and_device_check_take_json_only(web, sqlite_store):
    """No CSRF token there: a cross-site form cannot send application/json without CORS."""
    client = web.test_client()
    form = {"service_id": SERVICE, "start": START, "name": "Erika", "email": "e@example.org"}
    assert client.post("/api/v1/appointments", data=form).status_code == 415
    assert appointments(sqlite_store) == 0
    token = book(client)["manage_token"]
    check = client.post(
        f"/join/{join_token_for(token)}/device-check",
        data='{"result": "ready"}',
        content_type="text/plain",
    )
    assert check.status_code == 422
    with sqlite_store.transaction() as session:
        assert session.scalar(select(AppointmentRow.device_check)) is None
