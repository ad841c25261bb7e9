"""Documents over HTTP on a hub served on loopback: a citizen's resumable uploads and downloads
behind the join and manage links, the clerk's side for counter appliances, the refusals, and
what another appointment's link or counter can reach (nothing)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from hub import create_app
from hub.store import Store
from hub.store.models import CallRow, DocumentAccessRow, DocumentUploadRow
from tests.support.document_http import (
    Citizen,
    Clerk,
    clerk_at,
    dropped_put,
    exe_named_pdf,
    gps_of,
    large_photo,
    pdf,
    raw_request,
)
from tests.support.environment import MONDAY_EARLY, berlin
from tests.support.hub import make_settings
from tests.support.realtime_clients import Booking, Desk, make_desk

NOW = berlin(2026, 3, 2, 8, 50)
SETTINGS = {
    "clock_start": NOW.isoformat(),
    "rate_limit_enabled": "false",
    "secret_key": "documents-over-http",
}
MB = 1024 * 1024


@dataclass
class Office:
    """A served hub, two appointments at 09:00 (one at each counter), and the desk."""

    hub: Any
    desk: Desk
    a: Booking
    b: Booking
    store: Store

    def citizen(self, booking: Booking, link: str = "join", lang: str = "de") -> Citizen:
        token = booking.join_token if link == "join" else booking.manage_token
        return Citizen(self.hub.url, link, token, lang)

    def clerk_of(self, booking: Booking) -> Clerk:
        counter = booking.counter
        return clerk_at(
            self.store,
            self.hub.url,
            self.desk.credentials[counter],
            self.desk.device_ids[counter],
            NOW,
        )


def _office(store: Store, serve_hub) -> Office:
    desk = make_desk(store, MONDAY_EARLY)
    a = desk.book(berlin(2026, 3, 2, 9, 0), 0, "anmeldung")
    b = desk.book(berlin(2026, 3, 2, 9, 0), 1, "anmeldung")
    assert a.counter != b.counter
    return Office(serve_hub(store.url, **SETTINGS), desk, a, b, store)


@pytest.fixture
def office(sqlite_store, serve_hub) -> Office:
    return _office(sqlite_store, serve_hub)


def test_a_photo_sent_in_chunks_resumes_after_a_dropped_connection_and_loses_its_position(office):
    citizen = office.citizen(office.a)
    photo = large_photo()
    assert gps_of(photo) and len(photo) > MB
    begun = citizen.begin("IMG_0001.jpg", len(photo), item=0)
    assert begun.status_code == 201, begun.text
    upload = begun.json()["id"]
    assert begun.json()["received"] == 0

    first = citizen.put(upload, 0, photo[:300_000])
    assert first.status_code == 200 and first.json()["received"] == 300_000

    # The connection breaks in the middle of the next piece: nothing of that piece is kept.
    path = f"/join/{office.a.join_token}/documents/uploads/{upload}?offset=300000"
    dropped_put(office.hub.url, path, 300_000, photo[300_000:400_000])
    assert citizen.state(upload).json()["received"] == 300_000

    # A client that lost count sends from the wrong place: 409 says where to go on.
    wrong = citizen.put(upload, 0, photo[:300_000])
    assert wrong.status_code == 409
    error = wrong.json()["error"]
    assert (error["code"], error["received"]) == ("bad_offset", 300_000)
    assert "„received“" in error["message"] or "received" in error["message"]

    # More than a megabyte in one piece is refused before it is read.
    assert citizen.put(upload, 300_000, photo[300_000 : 300_000 + MB + 1]).status_code == 413

    offset = 300_000
    while offset < len(photo):
        sent = citizen.put(upload, offset, photo[offset : offset + MB])
        assert sent.status_code == 200, sent.text
        offset = sent.json()["received"]
    finished = citizen.finish(upload)
    assert finished.status_code == 201, finished.text
    document = finished.json()
    assert (document["sender"], document["state"], document["item"]) == ("citizen", "uploaded", 0)
    assert document["media_type"] == "image/jpeg"

    listing = citizen.listing().json()
    assert [d["id"] for d in listing["documents"]] == [document["id"]]
    assert listing["checklist"][0]["state"] == "uploaded"
    assert listing["checklist"][0]["documents"] == [document["id"]]
    assert listing["checklist"][1]["state"] == "missing"
    assert listing["checklist"][0]["name"] == listing["checklist"][0]["name_de"]
    assert listing["limits"] == {
        "file_bytes": 20 * MB,
        "appointment_bytes": 50 * MB,
        "chunk_bytes": MB,
    }

    saved = citizen.download(document["id"])
    assert saved.status_code == 200
    assert saved.headers["content-type"] == "image/jpeg"
    assert saved.headers["content-disposition"].startswith('attachment; filename="IMG_0001')
    assert saved.headers["x-content-type-options"] == "nosniff"
    assert saved.headers["cache-control"] == "no-store"
    assert int(saved.headers["content-length"]) == len(saved.content) == document["size"]
    assert gps_of(saved.content) == {}, "the stored photo still tells where it was taken"

    shown = citizen.download(document["id"], view=True)
    assert shown.content == saved.content
    assert shown.headers["content-disposition"].startswith("inline;")
    assert shown.headers["x-frame-options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in shown.headers["content-security-policy"]

    # The manage link reaches the same documents; the access log names who read them.
    same = office.citizen(office.a, "manage").download(document["id"])
    assert same.content == saved.content
    with office.store.transaction() as session:
        log = session.execute(
            select(DocumentAccessRow.actor, DocumentAccessRow.action).order_by(DocumentAccessRow.id)
        ).all()
    assert [tuple(r) for r in log] == [
        ("citizen:join", "upload"),
        ("citizen:join", "download"),
        ("citizen:join", "view"),
        ("citizen:manage", "download"),
    ]


def test_refusals_say_why_in_the_citizens_language_and_keep_nothing(office):
    citizen = office.citizen(office.a)

    # Too large, said before a byte of it is sent, in German and in English.
    too_large = citizen.begin("scan.pdf", 21 * MB)
    assert too_large.status_code == 413
    assert too_large.json()["error"]["code"] == "too_large"
    assert "größer als 20 MB" in too_large.json()["error"]["message"]
    english = office.citizen(office.a, lang="en").begin("scan.pdf", 21 * MB)
    assert "larger than 20 MB" in english.json()["error"]["message"]

    # A piece declaring more than a megabyte is refused without waiting for its body.
    upload = citizen.begin("scan.pdf", 5 * MB).json()["id"]
    head = (
        f"PUT /join/{office.a.join_token}/documents/uploads/{upload}?offset=0 HTTP/1.1\n"
        f"Host: 127.0.0.1\nContent-Type: application/octet-stream\n"
        f"Content-Length: {21 * MB}\n"
    )
    answer = raw_request(office.hub.url, head)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert citizen.cancel(upload).status_code == 204

    # A program renamed .pdf: recognised by its content, refused, nothing kept.
    exe = citizen.upload("antrag.pdf", exe_named_pdf(), item=1)
    assert exe.status_code == 415, exe.text
    assert exe.json()["error"]["code"] == "unsupported_type"
    assert "PDF-, JPEG-, PNG-" in exe.json()["error"]["message"]

    # An upload that stops halfway is never a document: finishing it says how much is there.
    data = pdf()
    begun = citizen.begin("halb.pdf", len(data)).json()["id"]
    citizen.put(begun, 0, data[: len(data) // 2])
    half = citizen.finish(begun)
    assert half.status_code == 409
    assert half.json()["error"]["received"] == len(data) // 2
    assert citizen.cancel(begun).status_code == 204
    gone = citizen.state(begun)
    assert (gone.status_code, gone.json()["error"]["code"]) == (404, "unknown_upload")

    listing = citizen.listing().json()
    assert listing["documents"] == []
    assert {e["state"] for e in listing["checklist"]} == {"missing"}
    with office.store.transaction() as session:
        assert session.scalars(select(DocumentUploadRow)).all() == []

    # Bodies and parameters that are not as documented.
    assert citizen.http.post(citizen.base + "/uploads", data={"name": "x"}).status_code == 415
    missing = citizen.http.post(citizen.base + "/uploads", json={"size": 3})
    assert (missing.status_code, missing.json()["error"]["field"]) == (422, "name")
    assert citizen.begin("x.pdf", 0).status_code == 422
    assert citizen.begin("x.pdf", 10, item=7).status_code == 403  # the service has 2 entries
    upload = citizen.begin("x.pdf", 10).json()["id"]
    no_offset = citizen.http.put(f"{citizen.base}/uploads/{upload}", content=b"x")
    assert (no_offset.status_code, no_offset.json()["error"]["field"]) == (422, "offset")
    assert citizen.put(upload, 0, b"x" * 11).json()["error"]["code"] == "too_large"
    # finish is a JSON post like every write: a form of another site cannot send it.
    assert citizen.http.post(f"{citizen.base}/uploads/{upload}/finish").status_code == 415


def _ids_of_a(office: Office) -> dict[str, str]:
    """A finished document and an open upload of appointment A."""
    citizen = office.citizen(office.a)
    document = citizen.upload("ausweis.pdf", pdf(), item=0).json()["id"]
    upload = citizen.begin("noch.pdf", 1000).json()["id"]
    citizen.put(upload, 0, b"%PDF-1.4\n" + b"0" * 91)
    return {"document": document, "upload": upload}


def _every_documents_route(tmp_path, store: Store) -> set[str]:
    app = create_app(make_settings(tmp_path, database_url=store.url), store=store)
    return {
        f"{method} {rule.endpoint}"
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith(("documents.", "counter_documents."))
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    }


def test_another_appointments_link_or_counter_reaches_nothing_on_any_route(office, tmp_path):
    ids = _ids_of_a(office)
    document, upload = ids["document"], ids["upload"]
    tried: set[str] = set()

    def refused(endpoint: str, response, status: int = 404) -> None:
        tried.add(endpoint)
        assert response.status_code == status, (endpoint, response.status_code, response.text)

    for link in ("join", "manage"):
        # B's own link with A's ids: as if they did not exist.
        b = office.citizen(office.b, link)
        refused("GET documents.upload_state", b.state(upload))
        refused("PUT documents.send", b.put(upload, 100, b"0" * 10))
        refused("POST documents.finish", b.finish(upload))
        refused("DELETE documents.cancel", b.cancel(upload))
        refused("GET documents.download", b.download(document))
        refused("GET documents.view", b.download(document, view=True))
        refused("DELETE documents.delete", b.delete(document))
        listing = b.listing()
        assert listing.status_code == 200 and listing.json()["documents"] == []
        # A link that opens no appointment, well-formed or not: 404 on every route.
        for token in ("x" * 43, "not-a-token"):
            stranger = Citizen(office.hub.url, link, token)
            refused("GET documents.listed", stranger.listing())
            refused("POST documents.begin", stranger.begin("a.pdf", 10))
            for response in (
                stranger.state(upload),
                stranger.put(upload, 100, b"0"),
                stranger.finish(upload),
                stranger.cancel(upload),
                stranger.download(document),
                stranger.download(document, view=True),
                stranger.delete(document),
            ):
                assert response.status_code == 404

    # The counter of B, its clerk signed in, reaches nothing of A's appointment.
    clerk = office.clerk_of(office.b)
    a = office.a.id
    refused("GET counter_documents.listed", clerk.request("GET", clerk.url(a)))
    refused(
        "POST counter_documents.hand_over",
        clerk.request("POST", clerk.url(a), params={"name": "x.pdf"}, content=pdf()),
    )
    refused("GET counter_documents.download", clerk.request("GET", clerk.url(a, document)))
    refused("GET counter_documents.view", clerk.request("GET", clerk.url(a, document, "view")))
    refused(
        "POST counter_documents.review",
        clerk.request("POST", clerk.url(a, document, "review"), json={"accepted": True}),
    )
    refused("DELETE counter_documents.delete", clerk.request("DELETE", clerk.url(a, document)))
    # Nor through its own appointment's path with A's document.
    b = office.b.id
    assert clerk.request("GET", clerk.url(b, document)).status_code == 404
    assert clerk.request("DELETE", clerk.url(b, document)).status_code == 404
    # Without the clerk, or without a device, nothing at all; nor with another counter's.
    other_device = office.desk.credentials[office.a.counter]
    for headers in (
        {"Authorization": f"Bearer {clerk.credential}"},
        {"X-Clerk-Session": clerk.session},
        {"Authorization": f"Bearer {'y' * 43}", "X-Clerk-Session": clerk.session},
        {"Authorization": f"Bearer {other_device}", "X-Clerk-Session": clerk.session},
    ):
        response = httpx.get(clerk.url(b), headers=headers, timeout=30)
        assert response.status_code == 401, headers
        assert response.json()["error"]["code"] in ("unknown_device", "not_signed_in")

    assert tried == _every_documents_route(tmp_path, office.store), "a route went untried"

    # And A's files are as they were.
    citizen = office.citizen(office.a)
    assert citizen.state(upload).json()["received"] == 100
    assert [d["id"] for d in citizen.listing().json()["documents"]] == [document]


def test_the_clerk_hands_over_a_scan_and_reviews_what_the_citizen_sent(office):
    citizen = office.citizen(office.a)
    clerk = office.clerk_of(office.a)
    sent = citizen.upload("wohnungsgeber.pdf", pdf(), item=1).json()

    listing = clerk.request("GET", clerk.url(office.a.id))
    assert listing.status_code == 200
    # Tomorrow's appointments are not yet any counter's to read.
    tomorrow = office.desk.book(berlin(2026, 3, 3, 9, 0), 2, "anmeldung")
    ahead = office.clerk_of(tomorrow)
    assert ahead.request("GET", ahead.url(tomorrow.id)).status_code == 404
    assert [d["id"] for d in listing.json()["documents"]] == [sent["id"]]

    # Asking again needs a reason; the citizen's checklist shows it.
    assert (
        clerk.request(
            "POST", clerk.url(office.a.id, sent["id"], "review"), json={"accepted": False}
        ).status_code
        == 422
    )
    again = clerk.request(
        "POST",
        clerk.url(office.a.id, sent["id"], "review"),
        json={"accepted": False, "reason": "Die Unterschrift fehlt."},
    )
    assert again.status_code == 200 and again.json()["state"] == "again"
    entry = citizen.listing().json()["checklist"][1]
    assert (entry["state"], entry["reason"]) == ("again", "Die Unterschrift fehlt.")
    accepted = clerk.request(
        "POST", clerk.url(office.a.id, sent["id"], "review"), json={"accepted": True}
    )
    assert accepted.json()["state"] == "accepted"
    # An accepted document is no longer the citizen's to take back.
    assert citizen.delete(sent["id"]).status_code == 403

    # The clerk's scan, in one request; too large ones are refused before they are read.
    scan = pdf("black", pages=2)
    handed = clerk.request(
        "POST",
        clerk.url(office.a.id),
        params={"name": "Meldebescheinigung.pdf"},
        content=scan,
        headers={"Content-Type": "application/pdf"},
    )
    assert handed.status_code == 201, handed.text
    assert handed.json()["sender"] == "clerk"
    head = (
        f"POST /api/v1/counter/appointments/{office.a.id}/documents?name=x.pdf HTTP/1.1\n"
        f"Host: 127.0.0.1\nAuthorization: Bearer {clerk.credential}\n"
        f"X-Clerk-Session: {clerk.session}\nContent-Length: {21 * MB}\n"
    )
    assert raw_request(office.hub.url, head).startswith(b"HTTP/1.1 413")

    mine = [d for d in citizen.listing().json()["documents"] if d["sender"] == "clerk"]
    assert [d["name"] for d in mine] == ["Meldebescheinigung.pdf"]
    downloaded = citizen.download(mine[0]["id"])
    assert downloaded.content == clerk.request("GET", clerk.url(office.a.id, mine[0]["id"])).content
    assert downloaded.content.startswith(b"%PDF")
    assert citizen.delete(mine[0]["id"]).status_code == 403  # the clerk's, not the citizen's

    with office.store.transaction() as session:
        actors = set(session.scalars(select(DocumentAccessRow.actor)))
    assert actors == {"citizen:join", f"clerk:{_clerk_user_id(office)}"}


def _clerk_user_id(office: Office) -> int:
    from hub.store.models import UserRow

    with office.store.transaction() as session:
        return session.scalar(select(UserRow.id).where(UserRow.username == "clerk"))


def test_uploaded_through_one_hub_process_downloaded_through_another(pg_store, serve_hub):
    office = _office(pg_store, serve_hub)
    second = serve_hub(pg_store.url, **SETTINGS)
    one = office.citizen(office.a)
    other = Citizen(second.url, "join", office.a.join_token)
    photo = large_photo(seed=7)

    # The pieces alternate between the two processes.
    upload = one.begin("foto.jpg", len(photo)).json()["id"]
    offset, turn = 0, 0
    while offset < len(photo):
        client = (one, other)[turn % 2]
        answer = client.put(upload, offset, photo[offset : offset + 400_000])
        assert answer.status_code == 200, answer.text
        offset, turn = answer.json()["received"], turn + 1
    assert turn >= 3
    document = other.finish(upload).json()

    through_other = other.download(document["id"])
    through_one = one.download(document["id"])
    assert through_other.status_code == 200
    assert through_other.content == through_one.content
    assert len(through_other.content) == document["size"]
    assert gps_of(through_other.content) == {}
    assert one.listing().json()["documents"] == other.listing().json()["documents"]


def test_random_pieces_and_offsets_leave_the_upload_consistent(client, store):
    """Hypothesis over the upload API, in process: whatever pieces arrive at whatever offsets,
    the hub holds exactly the bytes sent at the right place, and says where to go on."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from tests.support.realtime_clients import make_desk as desk_of

    desk = desk_of(store, MONDAY_EARLY)
    booking = desk.book(berlin(2026, 3, 2, 9, 0), 0, "anmeldung")
    base = f"/join/{booking.join_token}/documents"

    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(
        name=st.text(min_size=1, max_size=80).filter(lambda n: n.strip()),
        size=st.integers(1, 200_000),
        moves=st.lists(st.tuples(st.integers(-50, 50), st.integers(0, 70_000)), max_size=12),
    )
    def check(name: str, size: int, moves: list[tuple[int, int]]) -> None:
        begun = client.post(base + "/uploads", json={"name": name, "size": size})
        assert begun.status_code == 201, begun.json
        upload, received = begun.json["id"], 0
        assert begun.json["name"].strip() and "/" not in begun.json["name"]
        for shift, length in moves:
            offset = max(0, received + shift)
            piece = bytes([offset % 251]) * length
            answer = client.put(f"{base}/uploads/{upload}?offset={offset}", data=piece)
            if offset != received:
                assert answer.status_code == 409
                assert answer.json["error"]["received"] == received
            elif received + length > size:
                assert answer.status_code == 413
            else:
                assert answer.status_code == 200, answer.json
                received += length
                assert answer.json["received"] == received
        assert client.get(f"{base}/uploads/{upload}").json["received"] == received
        if received < size:
            finished = client.post(f"{base}/uploads/{upload}/finish", json={})
            assert finished.status_code == 409
            assert finished.json["error"]["received"] == received
            assert client.delete(f"{base}/uploads/{upload}").status_code == 204
        else:
            # Filler bytes are no file anyone takes: refused and gone.
            finished = client.post(f"{base}/uploads/{upload}/finish", json={})
            assert finished.status_code in (415, 422), finished.json
        assert client.get(f"{base}/uploads/{upload}").status_code == 404
        assert client.get(base).json["documents"] == []

    check()


def test_after_the_call_and_the_appointment_the_files_stay_to_download_only(office, serve_hub):
    scan = office.clerk_of(office.a).request(
        "POST",
        office.clerk_of(office.a).url(office.a.id),
        params={"name": "bescheid.pdf"},
        content=pdf(),
    )
    assert scan.status_code == 201
    with office.store.transaction() as session:
        session.add(
            CallRow(
                appointment_id=office.a.id,
                state="ended",
                counter_id=office.a.counter,
                updated_at=NOW,
            )
        )
    # The join link's page after the call: the panel, to download, without sending.
    page = httpx.get(f"{office.hub.url}/join/{office.a.join_token}", timeout=30).text
    assert "Dieses Gespräch hat bereits stattgefunden." in page
    assert 'id="documents"' in page and 'id="document-pick"' not in page
    assert '"uploads": false' in page
    # The manage page once the appointment is over: the same.
    later = serve_hub(
        office.store.url, **{**SETTINGS, "clock_start": berlin(2026, 3, 2, 10, 0).isoformat()}
    )
    page = httpx.get(f"{later.url}/manage/{office.a.manage_token}", timeout=30).text
    assert 'id="documents"' in page and 'id="document-pick"' not in page
    download = Citizen(later.url, "manage", office.a.manage_token).download(scan.json()["id"])
    assert download.status_code == 200 and download.content.startswith(b"%PDF")
    # Before it, the manage page offers to send.
    page = httpx.get(f"{office.hub.url}/manage/{office.b.manage_token}", timeout=30).text
    assert 'id="document-pick"' in page and '"uploads": true' in page


def test_announcing_files_is_rate_limited_like_the_other_writes(sqlite_store, serve_hub):
    desk = make_desk(sqlite_store, MONDAY_EARLY)
    booking = desk.book(berlin(2026, 3, 2, 9, 0), 0, "anmeldung")
    limits = {**SETTINGS, "rate_limit_enabled": "true", "rate_limit_booking": "2/minute"}
    hub = serve_hub(sqlite_store.url, **limits)
    citizen = Citizen(hub.url, "manage", booking.manage_token)
    assert [citizen.begin("a.pdf", 10).status_code for _ in range(2)] == [201, 201]
    limited = citizen.begin("a.pdf", 10)
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
    assert limited.headers["retry-after"]
    assert citizen.listing().status_code == 200  # reading has its own, larger allowance
