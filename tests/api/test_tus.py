"""Resumable uploads (tus 1.0) with the official Python client, tuspy, over real HTTP, through a link that drops."""

from __future__ import annotations

import base64
import hashlib
import io
import os

import pytest
import requests
from PIL import Image
from tusclient import client as tus_client
from tusclient.exceptions import TusCommunicationError

from app.devstack import CuttingProxy

TUS = {"Tus-Resumable": "1.0.0"}


def metadata(**values: str) -> str:
    return ",".join(f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in values.items())


def create(server, tenant, length: int, headers=None, **meta) -> requests.Response:
    meta.setdefault("project_id", tenant.project_id)
    return requests.post(
        f"{server.url}/api/tus",
        headers={**tenant.auth(), **TUS, "Upload-Length": str(length), "Upload-Metadata": metadata(**meta)}
        | (headers or {}),
        timeout=30,
    )


def patch(url: str, tenant, offset: int, body: bytes, headers=None) -> requests.Response:
    return requests.patch(
        url,
        data=body,
        headers={
            **tenant.auth(),
            **TUS,
            "Upload-Offset": str(offset),
            "Content-Type": "application/offset+octet-stream",
        }
        | (headers or {}),
        timeout=30,
    )


def file_behind(server, tenant, upload_url: str) -> dict:
    """The file a finished upload became, found as its HEAD names it."""
    head = requests.head(upload_url, headers={**tenant.auth(), **TUS}, timeout=30)
    assert head.status_code == 200, head.text
    assert head.headers["Upload-Offset"] == head.headers["Upload-Length"]
    answer = requests.get(head.headers["Content-Location"], headers=tenant.auth(), timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_options_say_what_the_server_supports(live_server, app):
    response = requests.options(f"{live_server.url}/api/tus", timeout=30)
    assert response.status_code == 204
    assert response.headers["Tus-Version"] == "1.0.0"
    assert set(response.headers["Tus-Extension"].split(",")) == {
        "creation",
        "creation-with-upload",
        "termination",
        "expiration",
        "checksum",
    }
    assert response.headers["Tus-Max-Size"] == str(app.config["MAX_UPLOAD_BYTES"])
    assert response.headers["Tus-Checksum-Algorithm"] == "sha256"


def test_tuspy_upload_survives_a_link_that_drops(live_server, tenant, app):
    """The link breaks every `cut` bytes; the upload still completes with the same sha256, and each drop costs at
    most one chunk sent again (the server keeps what arrived before the drop)."""
    chunk = 256 * 1024
    size = 12 * chunk + 12345
    cut = 3 * chunk + chunk // 3  # not aligned to chunks: drops fall mid-PATCH
    data = os.urandom(size)
    proxy = CuttingProxy(live_server.port, cut)
    try:
        client = tus_client.TusClient(f"{proxy.url}/api/tus", headers=tenant.auth())
        uploader = client.uploader(
            file_stream=io.BytesIO(data),
            chunk_size=chunk,
            metadata={"filename": "drops.bin", "project_id": tenant.project_id},
            retries=20,
            retry_delay=0.05,
        )
        uploader.upload()
    finally:
        proxy.close()
    assert proxy.cuts >= size // cut - 1  # the link really dropped, several times
    file = file_behind(live_server, tenant, uploader.url.replace(proxy.url, live_server.url))
    assert file["sha256"] == hashlib.sha256(data).hexdigest()
    assert file["size"] == size
    # Every byte upstream beyond the file itself: request heads, plus what drops made the client send again.
    resent = proxy.forwarded - size - proxy.connections * 1024
    assert resent <= proxy.cuts * chunk, (proxy.forwarded, proxy.cuts, proxy.connections)


def test_checksum_mismatch_is_460_and_the_piece_is_dropped(live_server, tenant):
    created = create(live_server, tenant, 10)
    url = created.headers["Location"]
    wrong = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    refused = patch(url, tenant, 0, b"12345", {"Upload-Checksum": f"sha256 {wrong}"})
    assert refused.status_code == 460
    assert refused.json()["code"] == "checksum_mismatch"
    right = base64.b64encode(hashlib.sha256(b"12345").digest()).decode()
    accepted = patch(url, tenant, 0, b"12345", {"Upload-Checksum": f"sha256 {right}"})
    assert accepted.status_code == 204
    assert accepted.headers["Upload-Offset"] == "5"


def test_offset_mismatch_is_409(live_server, tenant):
    url = create(live_server, tenant, 10).headers["Location"]
    assert patch(url, tenant, 0, b"12345").status_code == 204
    conflict = patch(url, tenant, 0, b"12345")
    assert conflict.status_code == 409
    assert conflict.json()["offset"] == 5
    done = patch(url, tenant, 5, b"67890")
    assert done.status_code == 204
    assert done.headers["Upload-Offset"] == "10"
    assert file_behind(live_server, tenant, url)["sha256"] == hashlib.sha256(b"1234567890").hexdigest()


def tus_spools(app) -> set[str]:
    return {name for name in os.listdir(app.config["UPLOAD_TMP_DIR"]) if name.startswith("tus-")}


def test_creation_with_upload_and_termination(live_server, tenant, app):
    before = tus_spools(app)
    created = requests.post(
        f"{live_server.url}/api/tus",
        data=b"abc",
        headers={
            **tenant.auth(),
            **TUS,
            "Upload-Length": "6",
            "Upload-Metadata": metadata(project_id=tenant.project_id, filename="a.txt"),
            "Content-Type": "application/offset+octet-stream",
        },
        timeout=30,
    )
    assert created.status_code == 201, created.text
    assert created.headers["Upload-Offset"] == "3"
    assert "Upload-Expires" in created.headers
    url = created.headers["Location"]
    spools = sorted(tus_spools(app) - before)
    assert len(spools) == 1
    gone = requests.delete(url, headers={**tenant.auth(), **TUS}, timeout=30)
    assert gone.status_code == 204
    assert requests.head(url, headers={**tenant.auth(), **TUS}, timeout=30).status_code == 404
    assert not os.path.exists(os.path.join(app.config["UPLOAD_TMP_DIR"], spools[0]))


def test_declared_size_over_the_limit_is_413_before_any_byte(live_server, tenant, app):
    response = create(live_server, tenant, app.config["MAX_UPLOAD_BYTES"] + 1)
    assert response.status_code == 413
    assert response.json()["code"] == "file_too_large"
    assert response.json()["value"] == app.config["MAX_UPLOAD_BYTES"]


def test_another_workspace_upload_answers_404(live_server, tenant, other_tenant):
    url = create(live_server, tenant, 10).headers["Location"]
    missing = url.rsplit("/", 1)[0] + "/tus_01J0000000000000000000ZZZZ"
    for target in (url, missing):
        assert requests.head(target, headers={**other_tenant.auth(), **TUS}, timeout=30).status_code == 404
        answer = patch(target, other_tenant, 0, b"12345")
        assert answer.status_code == 404
        assert answer.json()["code"] == "upload_not_found"
    assert requests.head(url, headers={**tenant.auth(), **TUS}, timeout=30).headers["Upload-Offset"] == "0"


def test_read_token_cannot_upload(live_server, tenant):
    response = requests.post(
        f"{live_server.url}/api/tus",
        headers={**tenant.auth("read"), **TUS, "Upload-Length": "5", "Upload-Metadata": metadata(project_id="x")},
        timeout=30,
    )
    assert response.status_code == 403


def test_expired_upload_answers_410_and_maintenance_removes_it(live_server, tenant, app):
    from app.domain import resumable
    from app.domain.common import utcnow
    from app.extensions import db

    before = tus_spools(app)
    urls = [create(live_server, tenant, 10).headers["Location"] for _ in range(2)]
    with app.app_context():
        for url in urls:
            row = db.session.get(resumable.ResumableUpload, url.rsplit("/", 1)[1])
            row.expires_at = utcnow()
        db.session.commit()
    assert requests.head(urls[0], headers={**tenant.auth(), **TUS}, timeout=30).status_code == 410
    with app.app_context():
        assert resumable.purge_expired() == 1  # the HEAD removed the first already
        assert resumable.count() == 0
    assert tus_spools(app) == before


def test_doctor_reports_and_removes_expired_uploads(live_server, tenant, app):
    from app.domain import doctor, resumable
    from app.domain.common import utcnow
    from app.extensions import db

    url = create(live_server, tenant, 10).headers["Location"]
    with app.app_context():
        db.session.get(resumable.ResumableUpload, url.rsplit("/", 1)[1]).expires_at = utcnow()
        db.session.commit()
        report = doctor.run(fix=False)
        assert [f.kind for f in report.findings if f.kind == "expired_resumable_upload"] == ["expired_resumable_upload"]
        assert resumable.count() == 1
        fixed = doctor.run(fix=True)
        assert [f.fixed for f in fixed.findings if f.kind == "expired_resumable_upload"] == [True]
        assert resumable.count() == 0


def huge_png() -> bytes:
    """A real PNG of 20,000 × 10,000 px (200 megapixels) that weighs a few kilobytes."""
    out = io.BytesIO()
    Image.new("1", (20_000, 10_000)).save(out, "PNG")
    return out.getvalue()


def test_an_image_with_too_many_pixels_is_refused_from_its_first_bytes(live_server, tenant, app):
    """The header arrives in the first piece; the upload ends there with the reason, and its spool is gone."""
    before = tus_spools(app)
    head = huge_png()
    length = app.config["MAX_UPLOAD_BYTES"]
    url = create(live_server, tenant, length, filename="huge.png").headers["Location"]
    refused = patch(url, tenant, 0, head + b"\0" * (70 * 1024))
    assert refused.status_code == 422
    assert refused.json()["code"] == "image_too_large"
    assert "200 megapixels" in refused.json()["detail"]
    assert requests.head(url, headers={**tenant.auth(), **TUS}, timeout=30).status_code == 404
    assert tus_spools(app) == before


def test_a_non_image_continues_as_a_plain_file(live_server, tenant):
    data = b"%PDF-1.4\n" + os.urandom(100 * 1024)
    url = create(live_server, tenant, len(data), filename="doc.pdf").headers["Location"]
    assert patch(url, tenant, 0, data[: 80 * 1024]).status_code == 204
    assert patch(url, tenant, 80 * 1024, data[80 * 1024 :]).status_code == 204
    file = file_behind(live_server, tenant, url)
    assert file["mimeType"] == "application/pdf"
    assert file["sha256"] == hashlib.sha256(data).hexdigest()


def test_tuspy_gives_up_on_a_refused_creation(live_server, tenant, app):
    client = tus_client.TusClient(f"{live_server.url}/api/tus", headers=tenant.auth())
    uploader = client.uploader(
        file_stream=io.BytesIO(b"x" * 10), chunk_size=5, metadata={"project_id": "prj_01J0000000000000000000ZZZZ"}
    )
    with pytest.raises(TusCommunicationError):
        uploader.upload()


def upload_url(server, tenant, max_bytes: int, name: str | None = None) -> str:
    body = {"projectId": tenant.project_id, "maxBytes": max_bytes, **({"metadata": {"name": name}} if name else {})}
    made = requests.post(f"{server.url}/api/uploads", headers=tenant.auth(), json=body, timeout=30)
    assert made.status_code == 201, made.text
    return made.json()["uploadUrl"]


def test_tuspy_through_a_one_time_upload_url_with_no_credentials(live_server, tenant):
    """The URL is the permission: tuspy creates the upload on it (no Authorization), the link drops on the way, and
    the URL's status then names the file; the URL took its one file at creation."""
    chunk = 128 * 1024
    data = os.urandom(7 * chunk + 99)
    url = upload_url(live_server, tenant, len(data), name="from-url.bin")
    proxy = CuttingProxy(live_server.port, 2 * chunk + 500)
    try:
        uploader = tus_client.TusClient(url.replace(live_server.url, proxy.url)).uploader(
            file_stream=io.BytesIO(data),
            chunk_size=chunk,
            metadata={"filename": "ignored.bin"},
            retries=20,
            retry_delay=0.05,
        )
        uploader.upload()
    finally:
        proxy.close()
    assert proxy.cuts >= 2
    status = requests.get(url, timeout=30).json()
    assert status["state"] == "used"
    assert status["file"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert status["file"]["name"] == "from-url.bin"
    again = requests.post(url, headers={**TUS, "Upload-Length": "5"}, timeout=30)
    assert again.status_code == 409 and again.json()["code"] == "upload_url_used"


def test_an_upload_url_keeps_its_own_limit_and_its_secret(live_server, tenant):
    url = upload_url(live_server, tenant, 1000)
    too_large = requests.post(url, headers={**TUS, "Upload-Length": "1001"}, timeout=30)
    assert too_large.status_code == 413 and too_large.json()["value"] == 1000
    created = requests.post(url, headers={**TUS, "Upload-Length": "10"}, timeout=30)
    assert created.status_code == 201, created.text
    location = created.headers["Location"]
    assert location.startswith(url + "/tus/")
    upload_id, secret = url.rsplit("/", 2)[1:]
    forged = location.replace(f"/{secret}/", "/" + "x" * len(secret) + "/")
    other = upload_url(live_server, tenant, 1000).rsplit("/", 2)
    borrowed = location.replace(f"/{upload_id}/{secret}/", f"/{other[1]}/{other[2]}/")
    for wrong in (forged, borrowed):
        assert requests.head(wrong, headers=TUS, timeout=30).status_code == 404
        assert (
            requests.patch(
                wrong,
                data=b"x",
                headers={**TUS, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"},
                timeout=30,
            ).status_code
            == 404
        )
    assert requests.head(location, headers=TUS, timeout=30).headers["Upload-Offset"] == "0"
