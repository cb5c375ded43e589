"""Import from a URL (POST /api/files with url=): fetched through the address guard into an upload spool, then an
upload like any other; each failure says why (refused address, not found, too large, timed out, too many pixels)."""

from __future__ import annotations

import functools
import hashlib
import io
import os
import threading

import pytest
from PIL import Image
from werkzeug.wrappers import Request, Response

from tests.services import ThreadedServer

PHOTO = os.urandom(50_000)


@functools.cache  # made once: encoding 200 megapixels takes seconds on a busy machine, longer than the import waits
def huge_png() -> bytes:
    out = io.BytesIO()
    Image.new("1", (20_000, 10_000)).save(out, "PNG")
    return out.getvalue()


class Origin:
    """A web server on loopback with the files an import may meet; /stall answers only once released."""

    def __init__(self, max_bytes: int):
        self.released = threading.Event()
        self.max_bytes = max_bytes
        huge_png()  # made before any import waits for it
        self.server = ThreadedServer(self.wsgi).start()
        self.url = self.server.url

    @Request.application
    def wsgi(self, request: Request) -> Response:
        if request.path == "/files/photo.bin":
            return Response(PHOTO, mimetype="application/octet-stream")
        if request.path == "/huge.png":
            return Response(huge_png() + b"\0" * 200_000, mimetype="image/png")
        if request.path == "/big.bin":
            return Response(iter([b"x" * 65536] * (self.max_bytes // 65536 + 2)), mimetype="application/octet-stream")
        if request.path == "/elsewhere":
            return Response(status=302, headers={"Location": "http://127.0.0.2:9/private"})
        if request.path == "/stall":
            self.released.wait()
            return Response(b"late")
        if request.path == "/moved":
            return Response(status=301, headers={"Location": "/files/photo.bin"})
        return Response("no", status=404)

    def close(self) -> None:
        self.released.set()
        self.server.stop()


@pytest.fixture
def origin(app):
    server = Origin(app.config["MAX_UPLOAD_BYTES"])
    yield server
    server.close()


@pytest.fixture
def importer(make_app, origin):
    """The web app allowed to fetch from the origin's loopback port (and nothing else that is not public)."""
    port = origin.url.rsplit(":", 1)[1]
    return make_app(url_import_allow=f"127.0.0.1:{port}", url_import_timeout=2).test_client()


def post(client, tenant, url: str):
    return client.post("/api/files", headers=tenant.auth(), data={"project_id": tenant.project_id, "url": url})


def test_a_url_becomes_a_file_like_an_upload(importer, origin, tenant):
    answer = post(importer, tenant, origin.url + "/moved")  # a redirect within the allowed origin is followed
    assert answer.status_code == 201, answer.get_data(as_text=True)
    assert answer.json["name"] == "photo.bin"
    assert answer.json["sha256"] == hashlib.sha256(PHOTO).hexdigest()
    assert answer.json["size"] == len(PHOTO)


def test_an_import_of_known_bytes_answers_that_file(importer, origin, tenant):
    first = post(importer, tenant, origin.url + "/files/photo.bin")
    assert first.status_code == 201, first.get_data(as_text=True)
    again = post(importer, tenant, origin.url + "/moved")  # the same bytes at another address
    assert again.status_code == 200, again.get_data(as_text=True)
    assert again.json["id"] == again.json["duplicateOf"] == first.json["id"]
    assert again.headers["Location"].endswith(f"/api/files/{first.json['id']}")
    kept = importer.post(
        "/api/files?duplicates=allow",
        headers=tenant.auth(),
        data={"project_id": tenant.project_id, "url": origin.url + "/files/photo.bin"},
    )
    assert kept.status_code == 201 and kept.json["id"] != first.json["id"]


@pytest.mark.parametrize(
    ("path", "status", "code", "words"),
    [
        ("/nothing-here", 422, "url_not_found", "404"),
        ("/big.bin", 413, "file_too_large", "limit"),
        ("/elsewhere", 400, "url_address_refused", "public addresses"),
        ("/huge.png", 422, "image_too_large", "200 megapixels"),
        ("/stall", 504, "url_timed_out", "in time"),
    ],
)
def test_each_failure_says_why_and_leaves_nothing(importer, origin, tenant, app, path, status, code, words):
    spools = set(os.listdir(app.config["UPLOAD_TMP_DIR"]))
    answer = post(importer, tenant, origin.url + path)
    assert answer.status_code == status, answer.get_data(as_text=True)
    assert answer.mimetype == "application/problem+json"
    assert answer.json["code"] == code and words in answer.json["detail"]
    assert set(os.listdir(app.config["UPLOAD_TMP_DIR"])) <= spools
    listed = importer.get("/api/files", headers=tenant.auth()).json
    assert listed["data"] == []


def test_loopback_is_refused_without_the_allow_list(client, origin, tenant):
    answer = post(client, tenant, origin.url + "/files/photo.bin")
    assert answer.status_code == 400 and answer.json["code"] == "url_address_refused"
    for bad in ("ftp://example.com/x", "not a url", ""):
        refused = post(client, tenant, bad)
        assert refused.status_code == 400 and refused.json["code"] == "invalid_url", refused.json
