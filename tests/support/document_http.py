"""The hub's documents routes for tests: a client for a citizen's link and one for a counter's
clerk, bare-socket requests (a body cut off, a body never sent), and a few files made on the
spot (a large phone photo with its GPS position, a PDF, a program dressed up as a PDF)."""

from __future__ import annotations

import io
import socket
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import numpy as np
from PIL import ExifTags, Image

from hub.operations import accounts
from hub.store import Store
from tests.support.realtime_clients import PASSWORD

# Heidelberg's Rathaus, as a phone writes it into a photo.
GPS = {1: "N", 2: (49.0, 24.0, 42.0), 3: "E", 4: (8.0, 42.0, 36.0)}


def large_photo(width: int = 1600, height: int = 1200, seed: int = 1) -> bytes:
    """A JPEG like a phone's: noisy (so it takes more than one piece), its position in EXIF."""
    pixels = np.random.default_rng(seed).integers(0, 255, (height, width, 3), dtype=np.uint8)
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Testphone"
    exif[ExifTags.IFD.GPSInfo] = GPS
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "JPEG", quality=90, exif=exif)
    return out.getvalue()


def gps_of(jpeg: bytes) -> dict[int, Any]:
    """The GPS fields of a JPEG's EXIF (empty when it has none)."""
    return dict(Image.open(io.BytesIO(jpeg)).getexif().get_ifd(ExifTags.IFD.GPSInfo))


def pdf(colour: str = "white", pages: int = 1) -> bytes:
    """A small PDF (Pillow writes it; pikepdf at the hub reads and rewrites it)."""
    images = [Image.new("RGB", (300, 400), colour) for _ in range(pages)]
    out = io.BytesIO()
    images[0].save(out, "PDF", save_all=True, append_images=images[1:])
    return out.getvalue()


def exe_named_pdf() -> bytes:
    """The start of a Windows program (MZ header): what a renamed .exe holds."""
    return b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(range(256)) * 64


class Citizen:
    """The documents routes behind one join or manage link, as the page's script uses them."""

    def __init__(self, hub_url: str, link: str, token: str, lang: str = "de") -> None:
        self.base = f"{hub_url}/{link}/{token}/documents"
        self.http = httpx.Client(timeout=60, params={"lang": lang})

    def listing(self) -> httpx.Response:
        return self.http.get(self.base)

    def begin(self, name: str, size: int, item: int | None = None) -> httpx.Response:
        return self.http.post(
            self.base + "/uploads", json={"name": name, "size": size, "item": item}
        )

    def put(self, upload: str, offset: int, data: bytes) -> httpx.Response:
        return self.http.put(
            f"{self.base}/uploads/{upload}",
            params={"offset": offset},
            content=data,
            headers={"Content-Type": "application/octet-stream"},
        )

    def state(self, upload: str) -> httpx.Response:
        return self.http.get(f"{self.base}/uploads/{upload}")

    def finish(self, upload: str) -> httpx.Response:
        return self.http.post(f"{self.base}/uploads/{upload}/finish", json={})

    def cancel(self, upload: str) -> httpx.Response:
        return self.http.delete(f"{self.base}/uploads/{upload}")

    def download(self, document: str, view: bool = False) -> httpx.Response:
        return self.http.get(f"{self.base}/{document}" + ("/view" if view else ""))

    def delete(self, document: str) -> httpx.Response:
        return self.http.delete(f"{self.base}/{document}")

    def upload(
        self, name: str, data: bytes, item: int | None = None, chunk: int = 1024 * 1024
    ) -> httpx.Response:
        """Announce, send in pieces, finish: the answer of `finish` (or of the first refusal)."""
        begun = self.begin(name, len(data), item)
        if begun.status_code != 201:
            return begun
        upload = begun.json()["id"]
        for offset in range(0, len(data), chunk):
            sent = self.put(upload, offset, data[offset : offset + chunk])
            if sent.status_code != 200:
                return sent
        return self.finish(upload)


@dataclass
class Clerk:
    """A counter appliance's HTTP credentials with its signed-in clerk."""

    hub_url: str
    credential: str
    session: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.credential}", "X-Clerk-Session": self.session}

    def url(self, appointment: Any, *rest: str) -> str:
        return "/".join(
            (f"{self.hub_url}/api/v1/counter/appointments", str(appointment), "documents", *rest)
        )

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return httpx.request(method, url, headers=headers, timeout=60, **kwargs)


def clerk_at(
    store: Store, hub_url: str, credential: str, device_id: int, now: Any, username: str = "clerk"
) -> Clerk:
    """Sign `username` in at the device, as the kiosk does (the session lives 12 hours)."""
    signed = accounts.sign_in(store, device_id, username, PASSWORD, now, timedelta(hours=12))
    assert signed is not None
    return Clerk(hub_url, credential, signed[1])


def raw_request(hub_url: str, head: str, body: bytes = b"", wait: float = 5.0) -> bytes:
    """Send a request's head and `body` (maybe less than it declares) over a bare socket, then
    read what the hub answers within `wait` seconds (b"" if nothing)."""
    where = urlsplit(hub_url)
    with socket.create_connection((where.hostname, where.port), timeout=wait) as sock:
        sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        try:
            return sock.recv(65536)
        except TimeoutError:
            return b""


def dropped_put(hub_url: str, path: str, declared: int, sent: bytes) -> None:
    """A PUT whose connection breaks after `sent` of the `declared` bytes."""
    where = urlsplit(hub_url)
    with socket.create_connection((where.hostname, where.port), timeout=5) as sock:
        head = (
            f"PUT {path} HTTP/1.1\r\nHost: {where.netloc}\r\n"
            f"Content-Type: application/octet-stream\r\nContent-Length: {declared}\r\n\r\n"
        )
        sock.sendall(head.encode() + sent)
        sock.shutdown(socket.SHUT_RDWR)
