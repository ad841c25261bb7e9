"""One e-mail address is one address for every limit, however it is spelled; and rate-limit
keys in Redis do not reveal it."""

import uuid

import redis

from hub import create_app
from hub.clock import fixed_clock
from hub.ratelimit import email_digest
from tests.support.environment import MONDAY_EARLY, REDIS_URL, need_redis
from tests.support.hub import make_settings

SERVICE = "meldebescheinigung"


def book(client, start, email):
    body = {"service_id": SERVICE, "start": start, "name": "Erika Mustermann", "email": email}
    return client.post("/api/v1/appointments", json=body)


def test_punycode_and_unicode_forms_of_one_domain_count_as_one_address(client):
    assert book(client, "2026-03-02T08:00:00+01:00", "erika@müller.de").status_code == 201
    assert book(client, "2026-03-02T09:00:00+01:00", "Erika@XN--MLLER-KVA.DE").status_code == 201
    third = book(client, "2026-03-02T10:00:00+01:00", "erika@mu\u0308ller.de")  # decomposed ü
    assert third.status_code == 409
    assert third.json["error"]["code"] == "too_many_appointments"


def _limited_app(store, tmp_path, **overrides):
    settings = make_settings(
        tmp_path,
        database_url=store.url,
        rate_limit_enabled=True,
        rate_limit_booking="100/minute",
        rate_limit_per_email="2/hour",
        max_open_per_email=0,
        secret_key="test-key",
        **overrides,
    )
    return create_app(settings, clock=fixed_clock(MONDAY_EARLY), store=store, TESTING=True)


def test_the_per_address_rate_limit_counts_every_spelling_of_one_address(sqlite_store, tmp_path):
    client = _limited_app(sqlite_store, tmp_path).test_client()
    codes = [
        book(client, f"2026-03-03T{8 + i:02d}:00:00+01:00", email).status_code
        for i, email in enumerate(
            ("erika@müller.de", "ERIKA@xn--mller-kva.de", "erika@MU\u0308LLER.de")
        )
    ]
    assert codes == [201, 201, 429]


def test_redis_keeps_no_plain_e_mail_address(sqlite_store, tmp_path):
    need_redis()
    marker = uuid.uuid4().hex
    app = _limited_app(sqlite_store, tmp_path, redis_url=REDIS_URL)
    email = f"Erika.{marker}@Example.org"
    assert book(app.test_client(), "2026-03-03T08:00:00+01:00", email).status_code == 201
    digest = email_digest(email, app.extensions["ratelimit_email_secret"])
    server = redis.Redis.from_url(REDIS_URL)
    try:
        assert list(server.scan_iter(f"*{digest}*"))  # the per-address counter is there
        assert not list(server.scan_iter(f"*{marker}*"))  # under a hash, not the address
    finally:
        for key in server.scan_iter(f"*{digest}*"):
            server.delete(key)
        server.close()
