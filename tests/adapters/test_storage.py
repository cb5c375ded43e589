import base64
import hashlib
import io
import os
import time

import pytest
import requests
from moto.server import ThreadedMotoServer
from PIL import Image

from app.adapters.storage import LocalStorage, S3Storage, StorageError, bucket_name
from tests.services import free_port

CREDENTIALS = {"access_key_id": "test-key", "secret_access_key": "test-secret"}


@pytest.fixture(scope="session")
def s3_endpoint():
    """moto's standalone S3 server on loopback: real HTTP, real boto3, no signature checks."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def make_s3(endpoint, bucket="aeontel-test", per_workspace=False):
    storage = S3Storage(endpoint, region="auto", bucket=bucket, bucket_per_workspace=per_workspace, **CREDENTIALS)
    return storage


def write_temp(tmp_path, data: bytes):
    path = tmp_path / f"spool-{os.urandom(4).hex()}"
    path.write_bytes(data)
    return str(path)


def test_local_storage_round_trip_and_signatures(tmp_path):
    storage = LocalStorage(str(tmp_path / "root"), "secret", "http://example.test")
    storage.put_file("ws_a/fil_1", write_temp(tmp_path, b"hello"))
    assert storage.exists("ws_a/fil_1")
    with storage.open("ws_a/fil_1") as fh:
        assert fh.read() == b"hello"
    url = storage.signed_url("ws_a/fil_1", 60)
    assert url.startswith("http://example.test/storage/ws_a/fil_1?exp=")
    exp = url.split("exp=")[1].split("&")[0]
    sig = url.split("sig=")[1]
    assert storage.verify("ws_a/fil_1", exp, sig)
    assert not storage.verify("ws_a/fil_2", exp, sig)
    assert not storage.verify("ws_a/fil_1", str(int(exp) + 1), sig)
    assert not storage.verify(
        "ws_a/fil_1", str(int(time.time()) - 5), storage.signature("ws_a/fil_1", int(time.time()) - 5)
    )
    assert not LocalStorage(str(tmp_path / "root"), "other-secret", "http://x").verify("ws_a/fil_1", exp, sig)
    storage.delete("ws_a/fil_1")
    storage.delete("ws_a/fil_1")  # deleting twice is fine: purge jobs retry
    assert not storage.exists("ws_a/fil_1")


@pytest.mark.parametrize(
    "key", ["../etc/passwd", "ws_a/../../x", "ws_a/fil/x", "/abs/path", "WS/UPPER", "", "a" * 70 + "/b"]
)
def test_local_storage_refuses_keys_outside_its_shape(tmp_path, key):
    storage = LocalStorage(str(tmp_path), "secret", "http://x")
    with pytest.raises(ValueError):
        storage.path(key)
    assert not storage.verify(key, "9999999999", "0" * 64)


def test_local_storage_reports_an_unwritable_root(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    storage = LocalStorage(str(blocker), "secret", "http://x")
    with pytest.raises(StorageError):
        storage.put_file("ws_a/fil_1", write_temp(tmp_path, b"data"))


def test_s3_storage_round_trip_with_a_presigned_get(s3_endpoint, tmp_path):
    storage = make_s3(s3_endpoint)
    storage.ensure_bucket()
    data = os.urandom(20 * 1024 * 1024 + 17)  # above the multipart threshold
    storage.put_file("ws_a/fil_1", write_temp(tmp_path, data))
    assert storage.exists("ws_a/fil_1") and not storage.exists("ws_a/fil_2")
    assert storage.open("ws_a/fil_1").read() == data
    url = storage.signed_url("ws_a/fil_1", 900)
    assert "/aeontel-test/ws_a/fil_1?" in url  # path-style addressing
    assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in url and "X-Amz-Expires=900" in url
    fetched = requests.get(url, timeout=30)
    assert fetched.status_code == 200 and fetched.content == data
    storage.delete("ws_a/fil_1")
    assert not storage.exists("ws_a/fil_1")


def test_s3_bucket_per_workspace(s3_endpoint, tmp_path):
    storage = make_s3(s3_endpoint, bucket="aeontel", per_workspace=True)
    storage.ensure_bucket("ws_abc")
    storage.put_file("ws_abc/fil_1", write_temp(tmp_path, b"x"))
    assert storage.locate("ws_abc/fil_1") == ("aeontel-ws-abc", "ws_abc/fil_1")
    assert storage.client.get_object(Bucket="aeontel-ws-abc", Key="ws_abc/fil_1")["Body"].read() == b"x"
    assert bucket_name("aeontel", None) == "aeontel"


def test_s3_storage_reports_a_missing_bucket(s3_endpoint, tmp_path):
    storage = make_s3(s3_endpoint, bucket="never-created")
    with pytest.raises(StorageError):
        storage.put_file("ws_a/fil_1", write_temp(tmp_path, b"data"))


def test_uploads_through_the_api_land_in_s3(make_app, s3_endpoint, tenant, app):
    s3_app = make_app(
        storage_backend="s3",
        s3_endpoint_url=s3_endpoint,
        s3_bucket="aeontel-api",
        s3_access_key_id=CREDENTIALS["access_key_id"],
        s3_secret_access_key=CREDENTIALS["secret_access_key"],
    )
    storage = s3_app.extensions["storage"]
    storage.ensure_bucket()
    client = s3_app.test_client()
    noise = Image.frombytes("L", (40, 30), os.urandom(40 * 30))  # a real GIF: random bytes can declare giant frames
    out = io.BytesIO()
    noise.save(out, "GIF")
    data = out.getvalue()
    form = {"file": (io.BytesIO(data), "anim.gif"), "project_id": tenant.project_id}
    body = client.post("/api/files", data=form, headers=tenant.auth(), content_type="multipart/form-data").json
    assert body["mimeType"] == "image/gif" and body["status"] == "ready"
    assert storage.open(f"{tenant.workspace_id}/{body['id']}").read() == data
    redirect = client.get(f"/api/files/{body['id']}/content", headers=tenant.auth("read"))
    assert redirect.status_code == 302
    assert requests.get(redirect.headers["Location"], timeout=10).content == data
    assert os.listdir(s3_app.config["UPLOAD_TMP_DIR"]) == []


def test_every_backend_is_built_from_its_name(tmp_path):
    from app.adapters.storage import BACKENDS, Storage, build_storage

    assert set(BACKENDS) == {"local", "s3"} and all(issubclass(cls, Storage) for cls in BACKENDS.values())
    root = tmp_path / "made-on-build"
    config = {"STORAGE_BACKEND": "local", "STORAGE_ROOT": str(root), "SECRET_KEY": "s", "PUBLIC_URL": "http://x"}
    assert isinstance(build_storage(config), LocalStorage) and root.is_dir()
    with pytest.raises(ValueError, match="STORAGE_BACKEND must be one of local, s3, not 'ftp'"):
        build_storage({**config, "STORAGE_BACKEND": "ftp"})


def _interface_round_trip(storage, tmp_path, workspaces):
    """What the domain asks of every backend: init, a workspace's room, seekable reads, the key listing, delete."""
    assert storage.init()
    for workspace_id in workspaces:
        storage.add_workspace(workspace_id)
    storage.put_file(f"{workspaces[0]}/fil_1", write_temp(tmp_path, b"0123456789"))
    storage.put_file(f"{workspaces[1]}/fil_2", write_temp(tmp_path, b"abc"))
    with storage.open_seekable(f"{workspaces[0]}/fil_1") as stream:
        assert stream.read(4) == b"0123"
        stream.seek(0)
        assert stream.read() == b"0123456789"
    assert storage.keys(workspaces) == sorted([f"{workspaces[0]}/fil_1", f"{workspaces[1]}/fil_2"])
    storage.delete(f"{workspaces[0]}/fil_1")
    storage.delete(f"{workspaces[0]}/fil_1")
    assert storage.keys(workspaces) == [f"{workspaces[1]}/fil_2"]


def test_local_storage_keeps_the_interface(tmp_path):
    storage = LocalStorage(str(tmp_path / "root"), "secret", "http://x")
    _interface_round_trip(storage, tmp_path, ["ws_a", "ws_b"])
    (storage.root / "ws_b" / "fil_3.partial").write_bytes(b"half")  # a copy across disks cut short
    (storage.root / "ws_b" / "README").write_bytes(b"not ours")
    assert storage.keys() == ["ws_b/fil_2", "ws_b/fil_3.partial"]
    storage.delete("ws_b/fil_3")
    assert storage.keys() == ["ws_b/fil_2"]


def test_local_storage_serves_only_its_own_signed_links(tmp_path):
    storage = LocalStorage(str(tmp_path / "root"), "secret", "http://x")
    storage.put_file("ws_a/fil_1", write_temp(tmp_path, b"x"))
    query = dict(part.split("=") for part in storage.signed_url("ws_a/fil_1", 60).split("?")[1].split("&"))
    assert storage.signed_file("ws_a/fil_1", query["exp"], query["sig"]) == storage.path("ws_a/fil_1")
    with pytest.raises(PermissionError):
        storage.signed_file("ws_a/fil_2", query["exp"], query["sig"])


@pytest.mark.parametrize("per_workspace", [False, True])
def test_s3_storage_keeps_the_interface(s3_endpoint, tmp_path, per_workspace):
    prefix = f"iface-{'per' if per_workspace else 'one'}"
    storage = make_s3(s3_endpoint, bucket=prefix, per_workspace=per_workspace)
    _interface_round_trip(storage, tmp_path, ["ws_a", "ws_b"])
    buckets = {b["Name"] for b in storage.client.list_buckets()["Buckets"]}
    assert ({f"{prefix}-ws-a", f"{prefix}-ws-b"} if per_workspace else {prefix}) <= buckets
    assert storage.keys(["ws_never_made"]) == ([] if per_workspace else ["ws_b/fil_2"])
    assert storage.signed_file("ws_b/fil_2", "9999999999", "0" * 64) is None  # presigned URLs are served by S3


MiB = 1024 * 1024
TUS = {"Tus-Resumable": "1.0.0"}


def _s3_app(make_app, s3_endpoint, bucket: str):
    s3_app = make_app(
        storage_backend="s3",
        s3_endpoint_url=s3_endpoint,
        s3_bucket=bucket,
        s3_access_key_id=CREDENTIALS["access_key_id"],
        s3_secret_access_key=CREDENTIALS["secret_access_key"],
        max_upload_bytes=64 * MiB,
    )
    s3_app.extensions["storage"].ensure_bucket()
    return s3_app


def _tus_create(client, tenant, length: int, name: str) -> str:
    meta = f"project_id {base64.b64encode(tenant.project_id.encode()).decode()},filename {base64.b64encode(name.encode()).decode()}"
    made = client.post(
        "/api/tus", headers={**tenant.auth(), **TUS, "Upload-Length": str(length), "Upload-Metadata": meta}
    )
    assert made.status_code == 201, made.get_data(as_text=True)
    return made.headers["Location"].split("/api/tus/")[1]


def _tus_patch(client, tenant, upload_id: str, offset: int, piece: bytes):
    return client.patch(
        f"/api/tus/{upload_id}",
        data=piece,
        headers={
            **tenant.auth(),
            **TUS,
            "Upload-Offset": str(offset),
            "Content-Type": "application/offset+octet-stream",
        },
    )


def _multipart_uploads(storage) -> list[dict]:
    return storage.client.list_multipart_uploads(Bucket=storage.bucket_prefix).get("Uploads", [])


def test_resumable_uploads_go_to_s3_as_multipart_parts_as_they_arrive(make_app, s3_endpoint, tenant, app):
    """Each time a part's worth (8 MiB) has arrived it goes to S3 as the next part: the local spool never holds more
    than a part and a piece, and the last piece joins the parts into the file's object, with the same sha256."""
    from app.domain.resumable import ResumableUpload
    from app.extensions import db

    s3_app = _s3_app(make_app, s3_endpoint, "aeontel-tus")
    storage, client = s3_app.extensions["storage"], s3_app.test_client()
    part = storage.part_size()
    data = os.urandom(2 * part + 3 * MiB + 4321)  # three parts: two full, a short last one
    upload_id = _tus_create(client, tenant, len(data), "big.bin")
    spool = os.path.join(s3_app.config["UPLOAD_TMP_DIR"], f"tus-{upload_id.lower()}.part")
    piece, offset, parts_seen = 3 * MiB, 0, []
    while offset < len(data):
        answer = _tus_patch(client, tenant, upload_id, offset, data[offset : offset + piece])
        assert answer.status_code == 204, answer.get_data(as_text=True)
        offset = int(answer.headers["Upload-Offset"])
        if offset < len(data):
            assert os.path.getsize(spool) == offset % part < part  # only the bytes after the last part wait here
            (pending,) = _multipart_uploads(storage)
            bucket, key = storage.bucket_prefix, pending["Key"]
            listed = storage.client.list_parts(Bucket=bucket, Key=key, UploadId=pending["UploadId"])
            parts_seen.append(len(listed.get("Parts", [])))
    assert parts_seen == [0, 0, 1, 1, 1, 2]  # a part goes as soon as 8 MiB are in, not at the end
    file_url = answer.headers["Content-Location"]
    body = client.get(file_url.split("localhost", 1)[-1], headers=tenant.auth("read")).json
    assert body["size"] == len(data) and body["sha256"] == hashlib.sha256(data).hexdigest()
    assert storage.open(f"{tenant.workspace_id}/{body['id']}").read() == data
    assert _multipart_uploads(storage) == [] and not os.path.exists(spool)
    with s3_app.app_context():
        row = db.session.get(ResumableUpload, upload_id)
        assert (row.storage, len(row.part_etags), row.parts_bytes, row.file_id) == ("parts", 3, len(data), body["id"])


def test_a_terminated_or_refused_resumable_upload_leaves_no_parts_in_s3(make_app, s3_endpoint, tenant, app):
    from tests.imagesd_support import png_header_only

    s3_app = _s3_app(make_app, s3_endpoint, "aeontel-tus-gone")
    storage, client = s3_app.extensions["storage"], s3_app.test_client()
    part = storage.part_size()
    data = os.urandom(part + MiB)
    upload_id = _tus_create(client, tenant, len(data), "dropped.bin")
    assert _tus_patch(client, tenant, upload_id, 0, data[: part + 10]).status_code == 204
    assert len(_multipart_uploads(storage)) == 1
    assert client.delete(f"/api/tus/{upload_id}", headers={**tenant.auth(), **TUS}).status_code == 204
    assert _multipart_uploads(storage) == []

    bomb = png_header_only(60000, 60000) + bytes(64 * 1024)  # the header check waits for the first 64 KB
    upload_id = _tus_create(client, tenant, len(bomb) + part, "bomb.png")
    assert len(_multipart_uploads(storage)) == 1
    refused = _tus_patch(client, tenant, upload_id, 0, bomb)
    assert refused.status_code == 422 and refused.json["code"] == "image_too_large"
    assert _multipart_uploads(storage) == [] and storage.keys() == []
    assert [name for name in os.listdir(s3_app.config["UPLOAD_TMP_DIR"]) if name.startswith("tus-")] == []
