"""`aeontel file replace`, `aeontel file versions` and `aeontel file version-restore` against the live server."""

from __future__ import annotations

import json

import requests


def test_replace_list_and_restore_versions(aeontel, images, live_server, tenant, run_jobs, corpus, tmp_path):
    before = requests.get(f"{live_server.url}/api/images/{images[0]}", headers=tenant.auth("read"), timeout=10).json()
    replaced = aeontel("file", "replace", images[0], str(corpus / "Nikon_D70.jpg"), "--name", "fixed.jpg")
    assert replaced.exit_code == 0, replaced.stderr
    assert replaced.stdout.strip() == f"v2 of {images[0]}: pending"
    again = aeontel("file", "replace", images[0], str(corpus / "Nikon_D70.jpg"))
    assert again.exit_code == 1 and "replace_in_progress" in again.stderr
    run_jobs()
    waited = aeontel("file", "replace", images[0], str(corpus / "Canon_40D.jpg"), "--json")
    assert waited.exit_code == 0 and json.loads(waited.stdout)["number"] == 3
    run_jobs()

    listed = aeontel("file", "versions", images[0])
    assert listed.exit_code == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["VERSION", "STATE", "CREATED", "SIZE", "DIMENSIONS", "BY"]
    assert [line.split()[:2] for line in lines[1:]] == [["v3", "current"], ["v2", "previous"], ["v1", "previous"]]
    assert json.loads(aeontel("file", "versions", images[0], "--json").stdout)["data"][1]["name"] == "fixed.jpg"

    restored = aeontel("file", "version-restore", images[0], "1")
    assert restored.exit_code == 0 and restored.stdout.strip() == f"v4 of {images[0]}: pending"
    busy = aeontel("file", "version-restore", images[0], "2")
    assert busy.exit_code == 1 and "replace_in_progress" in busy.stderr
    run_jobs()
    after = requests.get(f"{live_server.url}/api/images/{images[0]}", headers=tenant.auth("read"), timeout=10).json()
    assert after["version"] == 4 and after["name"] == "fixed.jpg" and after["url"] == before["url"]
    assert (after["width"], after["height"]) == (before["width"], before["height"])
    missing = aeontel("file", "versions", "fil_missing")
    assert missing.exit_code == 3

    damaged = tmp_path / "cut.jpg"
    whole = (corpus / "Nikon_D70.jpg").read_bytes()
    damaged.write_bytes(whole[: len(whole) // 2])
    aeontel("file", "replace", images[1], str(damaged))
    run_jobs()
    failed = aeontel("file", "replace", images[1], str(damaged), "--wait", "--timeout", "0")
    assert failed.exit_code == 1 and "v3" in failed.stdout and "pending" in failed.stdout
    run_jobs()
    shown = aeontel("file", "versions", images[1], "--json")
    states = [v["state"] for v in json.loads(shown.stdout)["data"]]
    assert states == ["failed", "failed", "current"]
