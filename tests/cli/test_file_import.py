"""`aeontel file import URL…`: the server fetches each URL through its address guard; a refused one says why and the
others are still imported."""

from __future__ import annotations

import hashlib
import json
import os

from werkzeug.wrappers import Request, Response

from tests.services import ThreadedServer

DATA = os.urandom(20_000)


@Request.application
def origin_app(request: Request) -> Response:
    return Response(DATA) if request.path == "/a/photo.bin" else Response("no", status=404)


def test_file_import_fetches_each_url_and_says_why_one_failed(aeontel, make_app, tenant):
    origin = ThreadedServer(origin_app).start()
    server = ThreadedServer(make_app(url_import_allow=f"127.0.0.1:{origin.port}")).start()
    try:
        result = aeontel(
            "file",
            "import",
            f"{origin.url}/a/photo.bin",
            f"{origin.url}/missing.bin",
            "--project",
            tenant.project_id,
            "--json",
            env={"AEONTEL_API_URL": server.url},
        )
    finally:
        server.stop()
        origin.stop()
    assert result.exit_code == 1, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["file"]["sha256"] for line in lines] == [hashlib.sha256(DATA).hexdigest()]
    assert lines[0]["file"]["name"] == "photo.bin"
    assert f"error: {origin.url}/missing.bin" in result.stderr and "url_not_found" in result.stderr


def test_file_import_of_a_private_address_is_refused(aeontel, live_server, tenant):
    result = aeontel("file", "import", f"{live_server.url}/healthz", "--project", tenant.project_id)
    assert result.exit_code == 2  # a 400 naming the parameter at fault (url): a usage error, like a bad --cursor
    assert "url_address_refused" in result.stderr
