"""A one-request upload is refused from its first bytes: a declared size over the limit before any byte is read, and
an image with too many pixels as soon as its header has arrived, while the client has not sent the rest."""

from __future__ import annotations

import io
import json
import os
import socket

from PIL import Image

from app.domain.pictures import HEADER_BYTES

BOUNDARY = "refusal-boundary"


def huge_png() -> bytes:
    """A real PNG of 20,000 × 10,000 px (200 megapixels) that weighs a few kilobytes."""
    out = io.BytesIO()
    Image.new("1", (20_000, 10_000)).save(out, "PNG")
    return out.getvalue()


def spools(app) -> set[str]:
    directory = app.config["UPLOAD_TMP_DIR"]
    return {name for name in os.listdir(directory) if name.startswith("upload-")} if os.path.isdir(directory) else set()


def send_partly(server, tenant, declared: int, first: bytes) -> tuple[int, dict]:
    """Sends the head of a request declaring `declared` body bytes and only `first` of them, then reads the answer:
    an answer at all proves the server decided before the rest existed."""
    head = (
        f"POST /api/files HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {tenant.auth()['Authorization']}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {declared}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(head + first)
        sock.shutdown(socket.SHUT_WR) if not first else None
        answer = b""
        while b"\r\n\r\n" not in answer or len(answer) < answer.index(b"\r\n\r\n") + 4 + _length(answer):
            data = sock.recv(65536)
            if not data:
                break
            answer += data
    status = int(answer.split(b" ", 2)[1])
    return status, json.loads(answer.split(b"\r\n\r\n", 1)[1] or b"{}")


def _length(answer: bytes) -> int:
    for line in answer.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return int(line.split(b":", 1)[1])
    return 0


def test_a_declared_size_over_the_limit_is_413_before_any_byte(live_server, tenant, app):
    status, body = send_partly(live_server, tenant, app.config["MAX_CONTENT_LENGTH"] + 1, b"")
    assert status == 413
    assert body["code"] == "request_too_large"


def test_too_many_pixels_is_refused_once_the_header_is_in(live_server, tenant, app):
    before = spools(app)
    preamble = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="project_id"\r\n\r\n{tenant.project_id}\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="huge.png"\r\n'
        "Content-Type: image/png\r\n\r\n"
    ).encode()
    first = preamble + huge_png() + b"\0" * (2 * HEADER_BYTES)
    status, body = send_partly(live_server, tenant, app.config["MAX_UPLOAD_BYTES"], first)
    assert status == 422, body
    assert body["code"] == "image_too_large"
    assert body["detail"].startswith("The image has 200 megapixels (20,000×10,000)")
    assert spools(app) == before
