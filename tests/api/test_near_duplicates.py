"""Issue 23, near duplicates end to end: provisioning hashes real photos (through the queue and the images stand-in),
a resized and recompressed copy is found as similar and an unrelated photo is not, the groups list them, a merge
keeps one and trashes the other with its alt text carried (webhook-visible events), and the CLI and the MCP server
say the same. Real SQLite or PostgreSQL (TEST_DATABASE_URL)."""

from __future__ import annotations

import io
import json
import os

import anyio
import pytest
from click.testing import CliRunner
from PIL import Image as PILImage
from PIL import ImageOps
from sqlalchemy import select

from app.domain.events import Event
from app.domain.images import Image
from app.extensions import db
from tests.factories import upload_over_http
from tests.reliability.reliability_support import scalar


def smaller_copy(data: bytes) -> bytes:
    """The same photo as people re-export it: half the size, JPEG quality 60, no EXIF."""
    picture = ImageOps.exif_transpose(PILImage.open(io.BytesIO(data))).convert("RGB")
    picture = picture.resize((picture.width // 2, picture.height // 2))
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=60)
    return out.getvalue()


@pytest.fixture
def photos(live_server, tenant, other_tenant, run_jobs, corpus) -> dict:
    original = (corpus / "gps_DSCN0010.jpg").read_bytes()
    ids = {
        "original": upload_over_http(live_server, tenant, original, "harbour.jpg"),
        "copy": upload_over_http(live_server, tenant, smaller_copy(original), "harbour-small.jpg"),
        "other": upload_over_http(live_server, tenant, (corpus / "mobile_jolla.jpg").read_bytes(), "phone.jpg"),
        "foreign": upload_over_http(live_server, other_tenant, original, "theirs.jpg"),
    }
    run_jobs()
    return ids


def test_provisioning_hashes_and_similar_finds_the_copy_only(app, client, tenant, photos, conforms):
    assert scalar(app, select(Image.phash).where(Image.file_id == photos["original"])) is not None
    path = f"/api/images/{photos['original']}/similar"
    answer = client.get(path, headers=tenant.auth("read"))
    body = conforms(answer, "/api/images/{file_id}/similar", "GET")
    assert [n["image"]["fileId"] for n in body["data"]] == [photos["copy"]]
    assert 0 <= body["data"][0]["distance"] <= 12
    assert client.get(path + "?threshold=13", headers=tenant.auth("read")).get_json()["code"] == "invalid_threshold"


def test_groups_and_merge(app, client, tenant, photos, conforms):
    client.patch(f"/api/images/{photos['copy']}", json={"altText": "Boats in a harbour"}, headers=tenant.auth())
    groups = conforms(client.get("/api/duplicates", headers=tenant.auth("read")), "/api/duplicates", "GET")
    assert [[n["image"]["fileId"] for n in g["images"]] for g in groups["data"]] == [
        [photos["original"], photos["copy"]]
    ]
    assert groups["data"][0]["keep"] == photos["original"] and groups["next_cursor"] is None
    merged = client.post(
        "/api/duplicates/merge", json={"keep": photos["original"], "merge": [photos["copy"]]}, headers=tenant.auth()
    )
    body = conforms(merged, "/api/duplicates/merge", "POST")
    assert body["kept"]["altText"] == "Boats in a harbour" and body["changed"] == {"altText": "Boats in a harbour"}
    assert [t["id"] for t in body["trashed"]] == [photos["copy"]] and body["trashed"][0]["restorableUntil"]
    assert client.get(f"/api/images/{photos['copy']}", headers=tenant.auth("read")).status_code == 404
    assert client.get("/api/duplicates", headers=tenant.auth("read")).get_json()["data"] == []
    with app.app_context():
        types = db.session.scalars(select(Event.type).where(Event.subject_id.in_(list(photos.values())))).all()
        db.session.remove()
    assert "image.updated" in types and "file.deleted" in types
    # Undo: the file comes back from the trash like any deleted file.
    assert client.post(f"/api/files/{photos['copy']}/restore", headers=tenant.auth()).status_code == 200
    refused = client.post(
        "/api/duplicates/merge", json={"keep": photos["original"], "merge": [photos["original"]]}, headers=tenant.auth()
    )
    assert refused.status_code == 400 and refused.get_json()["code"] == "invalid_merge"
    foreign = client.post(
        "/api/duplicates/merge", json={"keep": photos["original"], "merge": [photos["foreign"]]}, headers=tenant.auth()
    )
    assert foreign.status_code == 404 and foreign.get_json()["code"] == "image_not_found"


def test_the_cli_and_mcp_say_the_same(live_server, tenant, photos, app):
    from mcp import Client as McpClient

    from app.cli import main
    from app.client import Client
    from app.mcp_server import build_server

    ambient = {key: None for key in os.environ if key.startswith("AEONTEL_")}
    env = ambient | {"AEONTEL_API_URL": live_server.url, "AEONTEL_TOKEN": tenant.write_token}
    env["AEONTEL_CONFIG"] = str(app.instance_path) + "/dupes-cli.json"
    similar = CliRunner().invoke(main, ["image", "similar", photos["original"], "--json"], env=env)
    assert similar.exit_code == 0, similar.output
    assert [n["image"]["fileId"] for n in json.loads(similar.stdout)["data"]] == [photos["copy"]]
    listed = CliRunner().invoke(main, ["duplicates", "list"], env=env)
    assert listed.exit_code == 0 and f"keep {photos['original']}" in listed.stdout, listed.output

    async def run() -> None:
        with Client(live_server.url, tenant.write_token) as api:
            async with McpClient(build_server(api)) as session:
                found = await session.call_tool("similar_images", {"file_id": photos["original"]})
                assert not found.is_error, found.content
                assert [n["image"]["fileId"] for n in found.structured_content["data"]] == [photos["copy"]]
                groups = await session.call_tool("list_duplicates", {})
                assert groups.structured_content["data"][0]["keep"] == photos["original"]
                merged = await session.call_tool(
                    "merge_duplicates", {"keep": photos["original"], "merge": [photos["copy"]]}
                )
                assert not merged.is_error and merged.structured_content["trashed"][0]["id"] == photos["copy"]

    anyio.run(run)


def test_the_cli_upload_skips_files_the_workspace_has(live_server, tenant, app, tmp_path, corpus):
    from app.cli import main

    known = tmp_path / "known.jpg"
    known.write_bytes((corpus / "Nikon_D70.jpg").read_bytes())
    upload_over_http(live_server, tenant, known.read_bytes(), "first.jpg")
    fresh = tmp_path / "fresh.txt"
    fresh.write_bytes(b"never seen " + os.urandom(8).hex().encode())
    ambient = {key: None for key in os.environ if key.startswith("AEONTEL_")}
    env = ambient | {"AEONTEL_API_URL": live_server.url, "AEONTEL_TOKEN": tenant.write_token}
    env["AEONTEL_CONFIG"] = str(app.instance_path) + "/dupes-upload-cli.json"
    done = CliRunner().invoke(main, ["file", "upload", str(known), str(fresh), "--project", tenant.project_id], env=env)
    assert done.exit_code == 0, done.output
    assert "already in the library" in done.stdout and "skipped 1 file already in the library" in done.stderr
    again = CliRunner().invoke(
        main, ["file", "upload", str(known), "--project", tenant.project_id, "--keep-duplicates", "--json"], env=env
    )
    assert again.exit_code == 0 and not json.loads(again.stdout).get("skipped"), again.output
