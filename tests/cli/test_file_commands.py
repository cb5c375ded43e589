"""`aeontel file upload` and `aeontel login`, and the client they share, against the live server."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from imagesd_support import png_header_only

from app.client import ApiConnectionError, ApiError, AuthError, Client, NotFoundError
from tests.services import wait_until

AEONTEL = Path(sys.executable).with_name("aeontel")


def test_upload_with_wait_follows_each_file_to_ready_or_failed(cli_env, tenant, corpus, tmp_path, run_jobs):
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_header_only(50_000, 50_000))
    notes = tmp_path / "notes.txt"
    notes.write_text("not a picture\n" * 20)
    process = subprocess.Popen(
        [
            str(AEONTEL),
            "file",
            "upload",
            str(corpus / "Canon_40D.jpg"),
            str(bomb),
            str(notes),
            "--project",
            tenant.project_id,
            "--wait",
            "--timeout",
            "60",
        ],
        env=cli_env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    def finished() -> bool:
        run_jobs()  # the worker's part, in this process
        return process.poll() is not None

    wait_until(finished, 90, "`aeontel file upload --wait` to finish", interval=0.2)
    out, err = process.communicate(timeout=10)
    assert process.returncode == 1, err  # one of them failed
    photo, text = out.splitlines()
    assert photo.startswith(f"{corpus / 'Canon_40D.jpg'}: fil_") and " ready, image 100x68 " in photo
    assert photo.endswith("/public")
    # The bomb is refused as its header arrives, with the same reason the worker gave when it was stored first.
    assert (
        f"error: {bomb}: The image has 2,500 megapixels (50,000×50,000); the limit for processing is 178 megapixels."
        in err
    )
    assert text.startswith(f"{notes}: fil_") and text.endswith("ready (not an image: text/plain)")
    assert "Traceback" not in err


def test_upload_streams_the_bytes_and_prints_json(aeontel, tenant, tmp_path, live_server):
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(3 * 1024 * 1024 + 17))
    result = aeontel("file", "upload", str(big), "--project", tenant.project_id, "--json")
    assert result.exit_code == 0, result.stderr
    uploaded = json.loads(result.stdout)
    assert uploaded["path"] == str(big) and uploaded["image"] is None
    assert uploaded["file"]["size"] == big.stat().st_size
    assert uploaded["file"]["sha256"] == hashlib.sha256(big.read_bytes()).hexdigest()
    assert uploaded["file"]["name"] == "big.bin" and uploaded["file"]["projectId"] == tenant.project_id

    plain = aeontel("file", "upload", str(big), "--project", tenant.project_id, "--keep-duplicates")
    assert plain.exit_code == 0 and plain.stdout.startswith(f"{big}: fil_") and "uploaded (" in plain.stdout


def test_upload_keeps_a_unicode_name(tenant, tmp_path, live_server):
    photo = tmp_path / 'Sommer "Strand" ß.txt'
    photo.write_text("hello")
    with Client(live_server.url, tenant.write_token) as client:
        file = client.upload_file(photo, tenant.project_id)
    assert file["name"] == 'Sommer "Strand" ß.txt'


def test_upload_errors_are_one_line(aeontel, tenant, tmp_path, live_server):
    too_big = tmp_path / "huge.bin"
    too_big.write_bytes(b"\0" * (6 * 1024 * 1024))  # over the test stack's 5 MiB limit
    small = tmp_path / "small.txt"
    small.write_text("fits")
    result = aeontel("file", "upload", str(too_big), str(small), "--project", tenant.project_id)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {too_big}: ") and result.stderr.count("\n") == 1
    assert "(request_too_large)" in result.stderr and "a file can be at most 5,242,880 bytes" in result.stderr
    assert result.stdout.startswith(f"{small}: fil_")  # the others are still uploaded and reported

    nowhere = aeontel("file", "upload", str(too_big), "--project", "prj_missing")
    assert nowhere.exit_code in (1, 3) and nowhere.stderr.startswith("error: ")
    no_project = aeontel("file", "upload", str(too_big))
    assert no_project.exit_code == 2 and "--project" in no_project.stderr
    assert aeontel("file", "upload", str(tmp_path / "absent.jpg"), "--project", tenant.project_id).exit_code == 2


def test_login_stores_settings_privately_and_later_commands_use_them(
    aeontel, tenant, live_server, tmp_path, corpus, cli_env
):
    config = Path(cli_env["AEONTEL_CONFIG"])
    bare = {"AEONTEL_TOKEN": None, "AEONTEL_API_URL": None}
    refused = aeontel("login", "--api-url", live_server.url, "--token", "aet_wrong", env=bare)
    assert refused.exit_code == 1 and "not saved" in refused.stderr and "invalid_token" in refused.stderr
    assert not config.exists()
    assert aeontel("login", "--api-url", live_server.url, env=bare).exit_code == 2  # no terminal to ask on

    saved = aeontel(
        "login", "--api-url", live_server.url, "--token", tenant.write_token, "--project", tenant.project_id, env=bare
    )
    assert saved.exit_code == 0, saved.stderr
    assert str(config) in saved.stdout and tenant.write_token not in saved.stdout
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert json.loads(config.read_text()) == {
        "api_url": live_server.url,
        "token": tenant.write_token,
        "project_id": tenant.project_id,
    }

    listed = aeontel("image", "list", "--json", env=bare)
    assert listed.exit_code == 0 and json.loads(listed.stdout)["data"] == []
    uploaded = aeontel("file", "upload", str(corpus / "Nikon_D70.jpg"), "--json", env=bare)
    assert uploaded.exit_code == 0, uploaded.stderr
    assert json.loads(uploaded.stdout)["file"]["projectId"] == tenant.project_id
    overridden = aeontel("image", "list", env={**bare, "AEONTEL_TOKEN": "aet_wrong"})
    assert overridden.exit_code == 1 and "invalid_token" in overridden.stderr


def test_the_client_raises_typed_errors_and_follows_cursors(live_server, tenant, corpus, run_jobs):
    with Client(live_server.url, tenant.write_token) as client:
        ids = [
            client.upload_file(corpus / "Canon_40D.jpg", tenant.project_id, duplicates="allow")["id"] for _ in range(3)
        ]
        run_jobs()
        assert [image["fileId"] for image in client.iter_images(limit=2)] == sorted(ids, reverse=True)
        page = client.list_images(limit=2)
        assert len(page["data"]) == 2 and page["has_more"] and page["next_cursor"]
        assert client.get_file(ids[0])["status"] == "ready"
        assert client.wait_for_file(ids[0], timeout=5)[1]["fileId"] == ids[0]
        assert client.delete_image(ids[0]).items() >= {"object": "image", "fileId": ids[0], "deleted": True}.items()
        with pytest.raises(NotFoundError) as missing:
            client.get_image(ids[0])
        assert (missing.value.status, missing.value.code) == (404, "image_not_found")
        assert missing.value.detail and str(missing.value).endswith("(image_not_found)")
        with pytest.raises(ApiError) as bad:
            client.list_images(limit=1000)
        assert (bad.value.status, bad.value.code) == (400, "invalid_limit")
    with Client(live_server.url, "aet_wrong") as client, pytest.raises(AuthError) as denied:
        client.list_images()
    assert (denied.value.status, denied.value.code) == (401, "invalid_token")
    with Client(live_server.url, tenant.read_token) as client, pytest.raises(AuthError) as scope:
        client.delete_image(ids[1])
    assert (scope.value.status, scope.value.code) == (403, "insufficient_scope")
    from tests.services import free_port

    with Client(f"http://127.0.0.1:{free_port()}", "x") as client, pytest.raises(ApiConnectionError) as down:
        client.list_images()
    assert down.value.status is None and down.value.code == "connection_failed"
    assert requests.get(f"{live_server.url}/api/images/{ids[1]}", headers=tenant.auth(), timeout=10).ok


def test_upload_url_create_prints_a_url_that_takes_one_file(aeontel, tenant, live_server):
    result = aeontel(
        "upload-url",
        "create",
        "--project",
        tenant.project_id,
        "--max-bytes",
        "2000",
        "--expires-in",
        "60",
        "--alt-text",
        "A cat",
    )
    assert result.exit_code == 0, result.stderr
    url = result.stdout.strip()
    assert url.startswith(f"{live_server.url}/api/uploads/upl_") and "curl -F file=@" in result.stderr
    assert requests.post(url, files={"file": ("big.bin", b"x" * 2001)}, timeout=10).status_code == 413
    assert requests.post(url, files={"file": ("ok.bin", b"x" * 2000)}, timeout=10).status_code == 201
    assert requests.post(url, files={"file": ("ok.bin", b"x")}, timeout=10).status_code == 409
    as_json = aeontel("upload-url", "create", "--project", tenant.project_id, "--json")
    assert json.loads(as_json.stdout)["metadata"] == {"altText": None, "name": None}
    wrong = aeontel("upload-url", "create", "--project", tenant.project_id, "--expires-in", "5")
    assert wrong.exit_code == 2
