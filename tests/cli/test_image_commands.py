"""`aeontel image list|get|delete` against the live server, as a real process and in-process."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import requests

AEONTEL = Path(sys.executable).with_name("aeontel")


def image_exists(live_server, tenant, file_id: str) -> bool:
    response = requests.get(f"{live_server.url}/api/images/{file_id}", headers=tenant.auth("read"), timeout=10)
    assert response.status_code in (200, 404), response.text
    return response.status_code == 200


def test_list_prints_a_table_and_json(aeontel_proc, images, tenant):
    table = aeontel_proc("image", "list")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["ID", "NAME", "SIZE", "DIMENSIONS", "CREATED", "URL"]
    assert [line.split()[0] for line in lines[1:]] == images
    rows = {line.split()[1]: line for line in lines[1:]}
    assert set(rows) == {"Beach-Sunset.jpg", "team.jpg", "portrait.jpg"}
    assert " 100x68 " in rows["Beach-Sunset.jpg"] and " KB " in rows["Beach-Sunset.jpg"]
    assert rows["team.jpg"].rstrip().endswith("/public") and "http://127.0.0.1:" in rows["team.jpg"]
    assert table.stderr == ""

    as_json = aeontel_proc("image", "list", "--json")
    assert as_json.returncode == 0, as_json.stderr
    page = json.loads(as_json.stdout)
    assert page["object"] == "list" and page["has_more"] is False and page["next_cursor"] is None
    assert [item["fileId"] for item in page["data"]] == images
    assert {item["workspaceId"] for item in page["data"]} == {tenant.workspace_id}
    assert all(item["object"] == "image" and item["url"].endswith("/public") for item in page["data"])


def test_get_prints_details_and_json(aeontel_proc, aeontel, images):
    shown = aeontel_proc("image", "get", images[-1])
    assert shown.returncode == 0, shown.stderr
    fields = dict(line.split(":", 1) for line in shown.stdout.splitlines())
    assert fields["id"].strip() == images[-1] and fields["name"].strip() == "Beach-Sunset.jpg"
    assert fields["dimensions"].strip() == "100x68" and fields["type"].strip() == "image/jpeg"
    assert fields["url"].strip().endswith(f"/{images[-1]}/public")

    as_json = aeontel("image", "get", images[-1], "--json")
    assert as_json.exit_code == 0, as_json.stderr
    image = json.loads(as_json.stdout)
    assert (image["fileId"], image["name"], image["width"], image["height"]) == (
        images[-1],
        "Beach-Sunset.jpg",
        100,
        68,
    )
    assert image["exif"]["Make"] == "Canon"


def test_a_missing_image_exits_3_with_one_line(aeontel_proc, live_server):
    result = aeontel_proc("image", "get", "fil_00000000000000000000000000")
    assert result.returncode == 3 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ")
    assert "image_not_found" in result.stderr


def test_a_bad_token_exits_1_with_one_clear_line(aeontel_proc, images):
    result = aeontel_proc("image", "list", env={"AEONTEL_TOKEN": "aet_not-a-real-token"})
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr == "error: The API token is unknown or revoked. (invalid_token)\n"


def test_delete_without_a_terminal_refuses_unless_yes(aeontel_proc, aeontel, images, live_server, tenant):
    refused = aeontel_proc("image", "delete", images[0])
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr == "error: refusing to delete without --yes when not on a terminal\n"
    assert image_exists(live_server, tenant, images[0])

    deleted = aeontel_proc("image", "delete", images[0], "--yes")
    assert deleted.returncode == 0, deleted.stderr
    assert deleted.stdout.startswith(f"deleted {images[0]} (in the trash until ")
    assert deleted.stdout.rstrip().endswith(f"`aeontel file restore {images[0]}` brings it back)")
    assert not image_exists(live_server, tenant, images[0])
    again = aeontel("image", "get", images[0])
    assert again.exit_code == 3 and "image_not_found" in again.stderr


def test_delete_on_a_terminal_asks_first(cli_env, images, live_server, tenant):
    def delete(answer: str) -> subprocess.CompletedProcess:
        leader, follower = pty.openpty()
        try:
            process = subprocess.Popen(
                [str(AEONTEL), "image", "delete", images[1]],
                env=cli_env,
                stdin=follower,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            os.write(leader, answer.encode() + b"\n")
            out, err = process.communicate(timeout=60)
        finally:
            os.close(follower)
            os.close(leader)
        return subprocess.CompletedProcess(process.args, process.returncode, out, err)

    declined = delete("n")
    assert f"Delete {images[1]} (kept in the trash)? [y/N]" in declined.stdout
    assert declined.returncode == 1 and declined.stderr == "error: aborted, nothing deleted\n"
    assert image_exists(live_server, tenant, images[1])

    confirmed = delete("y")
    assert confirmed.returncode == 0, confirmed.stderr
    assert f"deleted {images[1]} (in the trash until" in confirmed.stdout
    assert not image_exists(live_server, tenant, images[1])


def test_list_pages_follow_cursors_and_filter(aeontel, images, tenant, other_tenant, app):
    first = aeontel("image", "list", "--limit", "2")
    assert first.exit_code == 0
    assert [line.split()[0] for line in first.stdout.splitlines()[1:]] == images[:2]
    hint = first.stderr.strip()
    assert hint.startswith("more images: --cursor ") and hint.endswith("(or --all)")
    cursor = hint.split()[3]

    rest = json.loads(aeontel("image", "list", "--limit", "2", "--cursor", cursor, "--json").stdout)
    assert [item["fileId"] for item in rest["data"]] == images[2:] and rest["has_more"] is False

    everything = aeontel("image", "list", "--limit", "1", "--all", "--json")
    assert everything.exit_code == 0 and everything.stderr == ""
    assert [item["fileId"] for item in json.loads(everything.stdout)["data"]] == images

    named = json.loads(aeontel("image", "list", "-q", "team", "--json").stdout)
    assert [item["name"] for item in named["data"]] == ["team.jpg"]

    from app.domain import accounts
    from app.extensions import db

    with app.app_context():
        empty_project = accounts.create_project(tenant.workspace_id, "Empty").id
        db.session.commit()
    assert aeontel("image", "list", "--project", empty_project).stdout == "no images\n"
    in_project = json.loads(aeontel("image", "list", "--project", tenant.project_id, "--json").stdout)
    assert len(in_project["data"]) == 3
    assert aeontel("image", "list", "--workspace", tenant.workspace_id, "--json").exit_code == 0
    elsewhere = aeontel("image", "list", "--workspace", other_tenant.workspace_id)
    assert elsewhere.exit_code == 3 and "workspace_not_found" in elsewhere.stderr
    theirs = aeontel("image", "list", "--json", env={"AEONTEL_TOKEN": other_tenant.read_token})
    assert json.loads(theirs.stdout)["data"] == []


def test_another_workspaces_image_is_not_found(aeontel, images, other_tenant):
    result = aeontel("image", "get", images[0], env={"AEONTEL_TOKEN": other_tenant.write_token})
    assert result.exit_code == 3 and "image_not_found" in result.stderr
    refused = aeontel("image", "delete", images[0], "--yes", env={"AEONTEL_TOKEN": other_tenant.write_token})
    assert refused.exit_code == 3


def test_delete_several_reports_each_and_exits_3_when_one_is_missing(aeontel, images, live_server, tenant):
    result = aeontel("image", "delete", images[0], "fil_missing", images[2], "--yes")
    assert result.exit_code == 3
    assert [line.split(" (")[0] for line in result.stdout.splitlines()] == [
        f"deleted {images[0]}",
        f"deleted {images[2]}",
    ]
    assert result.stderr.startswith("error: fil_missing: ") and "image_not_found" in result.stderr
    assert [image_exists(live_server, tenant, file_id) for file_id in images] == [False, True, False]


def test_a_read_token_cannot_delete(aeontel, images, tenant, live_server):
    result = aeontel("image", "delete", images[0], "--yes", env={"AEONTEL_TOKEN": tenant.read_token})
    assert result.exit_code == 1 and "insufficient_scope" in result.stderr
    assert image_exists(live_server, tenant, images[0])


def test_usage_errors_exit_2(aeontel, live_server):
    assert aeontel("image", "list", "--limit", "0").exit_code == 2
    assert aeontel("image", "get").exit_code == 2
    assert aeontel("image", "delete", "--yes").exit_code == 2
    missing_token = aeontel("image", "list", env={"AEONTEL_TOKEN": None})
    assert missing_token.exit_code == 2
    assert missing_token.stderr == "error: no API token: pass --token, set AEONTEL_TOKEN, or run `aeontel login`\n"


def test_an_unreachable_api_is_one_clear_line(aeontel):
    from tests.services import free_port

    url = f"http://127.0.0.1:{free_port()}"
    result = aeontel("image", "list", env={"AEONTEL_API_URL": url})
    assert result.exit_code == 1
    assert result.stderr == f"error: cannot reach the aeontel API at {url} (connection_failed)\n"


def test_options_win_over_the_environment(aeontel, images, live_server, tenant):
    result = aeontel(
        "image",
        "list",
        "--json",
        "--api-url",
        live_server.url,
        "--token",
        tenant.read_token,
        env={"AEONTEL_API_URL": "http://127.0.0.1:9", "AEONTEL_TOKEN": "aet_wrong"},
    )
    assert result.exit_code == 0, result.stderr
    assert len(json.loads(result.stdout)["data"]) == 3


def test_get_says_what_images_was_sent(aeontel, images, live_server, tenant, run_jobs):
    import requests

    from tests.masters_support import panorama_jpeg

    response = requests.post(
        f"{live_server.url}/api/files",
        headers=tenant.auth(),
        timeout=30,
        data={"project_id": tenant.project_id},
        files={"file": ("pano.jpg", panorama_jpeg())},
    )
    assert response.status_code == 201, response.text
    run_jobs()
    shown = aeontel("image", "get", response.json()["id"])
    assert shown.exit_code == 0, shown.stderr
    fields = dict(line.split(":", 1) for line in shown.stdout.splitlines())
    assert fields["sent to Images"].strip().startswith("a 12,000×1,846 JPEG master (")
    assert "made from the 13,000×2,000 JPEG original" in fields["sent to Images"]
    plain = dict(line.split(":", 1) for line in aeontel("image", "get", images[-1]).stdout.splitlines())
    assert plain["sent to Images"].strip() == "the original"
    as_json = json.loads(aeontel("image", "get", response.json()["id"], "--json").stdout)
    assert as_json["source"] == "master" and as_json["original"]["width"] == 13_000
