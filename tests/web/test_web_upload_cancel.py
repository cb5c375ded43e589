"""An upload the editor cancels (the browser aborts the XHR) leaves no spool, no stored bytes and no file row."""

import socket
import time

from sqlalchemy import func, select

from app.domain.files import File
from app.extensions import db


def spools(app) -> list:
    from pathlib import Path

    return sorted(p.name for p in Path(app.config["UPLOAD_TMP_DIR"]).glob("upload-*.part"))


def test_a_cancelled_upload_leaves_nothing_behind(editor, app, live_server):
    before = spools(app)
    cookie = editor.client.get_cookie("session").value
    boundary = "----aeontelcancel"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.jpg"\r\n'
        f"Content-Type: image/jpeg\r\n\r\n"
    ).encode()
    body = head + b"\xff\xd8\xff" + b"x" * 200_000  # of a declared 2 MB
    request = (
        f"POST {editor.gallery_url}/files HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: session={cookie}\r\n"
        f"X-CSRFToken: {editor.csrf}\r\nHX-Request: true\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {2_000_000}\r\n\r\n"
    ).encode()
    port = int(live_server.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request + body)
        deadline = time.monotonic() + 10
        while spools(app) == before:  # the server has started spooling the file part
            assert time.monotonic() < deadline, "the server never started spooling"
            time.sleep(0.02)
    # The connection is closed mid-body, as XMLHttpRequest.abort() does: the server throws the spool away.
    deadline = time.monotonic() + 15
    while spools(app) != before:
        assert time.monotonic() < deadline, f"spools left behind: {spools(app)}"
        time.sleep(0.05)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(File)) == 0
