"""`aeontel image|file delete [--permanent]`, `aeontel file restore`, `aeontel trash list|empty` against the live
server."""

from __future__ import annotations

import json

import requests


def exists(live_server, tenant, path: str) -> bool:
    response = requests.get(f"{live_server.url}{path}", headers=tenant.auth("read"), timeout=10)
    assert response.status_code in (200, 404), response.text
    return response.status_code == 200


def test_delete_lists_in_the_trash_and_restore_brings_back_the_same_url(aeontel, images, live_server, tenant, run_jobs):
    url = requests.get(f"{live_server.url}/api/images/{images[0]}", headers=tenant.auth("read"), timeout=10).json()[
        "url"
    ]
    deleted = aeontel("image", "delete", images[0], "--yes")
    assert deleted.exit_code == 0 and "in the trash until" in deleted.stdout
    removed = aeontel("file", "delete", images[1], "--yes")
    assert removed.exit_code == 0 and f"aeontel file restore {images[1]}" in removed.stdout
    assert not exists(live_server, tenant, f"/api/images/{images[0]}")

    listed = aeontel("trash", "list")
    assert listed.exit_code == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["ID", "NAME", "SIZE", "DELETED", "KEPT", "UNTIL"]
    assert [line.split()[0] for line in lines[1:]] == images[:2]
    as_json = json.loads(aeontel("trash", "list", "--json").stdout)
    assert all(item["purgeAfter"] and item["deletedAt"] for item in as_json["data"])

    restored = aeontel("file", "restore", images[0], "fil_missing")
    assert restored.exit_code == 3 and restored.stdout.startswith(f"restored {images[0]} (processing)")
    assert "not_in_trash" in restored.stderr
    run_jobs()
    back = requests.get(f"{live_server.url}/api/images/{images[0]}", headers=tenant.auth("read"), timeout=10).json()
    assert back["url"] == url and requests.get(url, timeout=10).status_code == 200

    refused = aeontel("trash", "empty")
    assert refused.exit_code == 2 and "--yes" in refused.stderr
    emptied = aeontel("trash", "empty", "--yes")
    assert emptied.exit_code == 0 and emptied.stdout == "removed 1 file for good\n"
    assert aeontel("trash", "list").stdout == "the trash is empty\n"
    assert aeontel("file", "restore", images[1]).exit_code == 3


def test_permanent_deletes_skip_the_trash(aeontel, images, live_server, tenant):
    gone = aeontel("image", "delete", images[0], "--permanent", "--yes")
    assert gone.exit_code == 0 and gone.stdout == f"deleted {images[0]} for good\n"
    aeontel("file", "delete", images[1], "--yes")
    purged = aeontel("file", "delete", images[1], "--permanent", "--yes")  # out of the trash, for good
    assert purged.exit_code == 0 and purged.stdout == f"deleted {images[1]} for good\n"
    assert aeontel("trash", "list").stdout == "the trash is empty\n"
    read_only = aeontel("file", "restore", images[2], env={"AEONTEL_TOKEN": tenant.read_token})
    assert read_only.exit_code == 1 and "insufficient_scope" in read_only.stderr
