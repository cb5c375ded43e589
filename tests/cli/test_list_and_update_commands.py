"""`aeontel image update`, sorting/filtering/counting lists, `file list`, exit codes, tables, and `login` prompts."""

import fcntl
import json
import os
import pty
import select
import subprocess
import termios
import time
from pathlib import Path

import requests

from app.cli.remote.text import display_width, table, truncate
from app.client import Client
from tests.cli.conftest import AEONTEL
from tests.services import ThreadedServer


def test_update_changes_each_field_and_refuses_bad_values(aeontel, images, live_server, tenant):
    file_id = images[-1]
    done = aeontel("image", "update", file_id, "--alt", "A sunset", "--focal", "0.25,0.5", "--name", "Sunset.jpg")
    assert done.exit_code == 0, done.stderr
    fields = dict(line.split(": ", 1) for line in done.stdout.splitlines())
    assert (fields["alt text"], fields["focal point"], fields["name"], fields["decorative"]) == (
        "A sunset",
        "0.25,0.5",
        "Sunset.jpg",
        "no",
    )
    image = requests.get(f"{live_server.url}/api/images/{file_id}", headers=tenant.auth(), timeout=10).json()
    assert (image["altText"], image["focalPoint"], image["name"]) == ("A sunset", {"x": 0.25, "y": 0.5}, "Sunset.jpg")
    decorative = json.loads(aeontel("image", "update", file_id, "--decorative", "--focal-reset", "--json").stdout)
    assert (decorative["decorative"], decorative["altText"], decorative["focalPoint"]) == (True, None, None)
    for args in (
        ["--focal", "2,0"],
        ["--focal", "a,b"],
        ["--focal", "0.5"],
        [],
        ["--focal", "0.5,0.5", "--focal-reset"],
        ["--alt", "x", "--decorative"],
        ["--alt", "x" * 1001],
    ):
        refused = aeontel("image", "update", file_id, *args)
        assert refused.exit_code == 2, (args, refused.stdout, refused.stderr)
    assert aeontel("image", "update", "fil_00000000000000000000000000", "--alt", "x").exit_code == 3


def test_lists_sort_filter_count_and_a_bad_cursor_is_a_usage_error(aeontel, images, tenant):
    by_name = json.loads(aeontel("image", "list", "--sort", "name", "--json").stdout)
    assert [item["name"] for item in by_name["data"]] == ["Beach-Sunset.jpg", "portrait.jpg", "team.jpg"]
    by_size = json.loads(aeontel("image", "list", "--sort=-size", "--json").stdout)
    sizes = [item["size"] for item in by_size["data"]]
    assert sizes == sorted(sizes, reverse=True)
    # By date taken: EXIF DateTimeOriginal (Nikon 2008-03, Canon 2008-05), else the upload time (the portrait).
    by_taken = json.loads(aeontel("image", "list", "--sort", "taken", "--limit", "1", "--all", "--json").stdout)
    assert [item["name"] for item in by_taken["data"]] == ["team.jpg", "Beach-Sunset.jpg", "portrait.jpg"]
    files_by_taken = json.loads(aeontel("file", "list", "--sort=-taken", "--json").stdout)
    assert [item["name"] for item in files_by_taken["data"]] == ["portrait.jpg", "Beach-Sunset.jpg", "team.jpg"]
    assert files_by_taken["data"][1]["takenAt"].startswith("2008-05-30T15:56:01")
    assert aeontel("image", "list", "--sort", "taken_at").exit_code == 2
    counted = aeontel("image", "list", "--limit", "1", "--count", "--sort", "name")
    assert counted.exit_code == 0 and "3 images in all" in counted.stderr
    cursor = counted.stderr.split("--cursor ")[1].split()[0]
    following = aeontel("image", "list", "--limit", "1", "--sort", "name", "--cursor", cursor, "--json")
    assert [item["name"] for item in json.loads(following.stdout)["data"]] == ["portrait.jpg"]
    wrong_query = aeontel("image", "list", "--cursor", cursor)
    assert wrong_query.exit_code == 2 and "invalid_cursor" in wrong_query.stderr
    assert aeontel("image", "list", "--cursor", "zzzz").exit_code == 2
    assert aeontel("image", "list", "--created-after", "yesterday").exit_code == 2
    bogus = aeontel("image", "list", "--format", "bogus")
    assert bogus.exit_code == 2 and "invalid_parameter" in bogus.stderr
    unfiltered = aeontel("image", "list", "--query", "", "--json")  # an empty filter is no filter, not a 400
    assert unfiltered.exit_code == 0 and len(json.loads(unfiltered.stdout)["data"]) == 3, unfiltered.stderr
    assert json.loads(aeontel("image", "list", "--no-alt-text", "--format", "jpeg", "--json").stdout)["data"]
    assert json.loads(aeontel("image", "list", "--has-alt-text", "--json").stdout)["data"] == []
    everything = json.loads(aeontel("image", "list", "--all", "--limit", "1", "--count", "--json").stdout)
    assert len(everything["data"]) == 3 and everything["total"] == 3

    files = aeontel("file", "list", "--sort", "name", "--status", "ready")
    assert files.exit_code == 0, files.stderr
    lines = files.stdout.splitlines()
    assert lines[0].split() == ["ID", "NAME", "TYPE", "SIZE", "STATUS", "CREATED"]
    assert [line.split()[1] for line in lines[1:]] == ["Beach-Sunset.jpg", "portrait.jpg", "team.jpg"]
    assert all("ready, image ready" in line for line in lines[1:])
    assert aeontel("file", "list", "--status", "done").exit_code == 2


def test_an_unknown_project_is_not_found_everywhere(aeontel, tmp_path, tenant, live_server):
    path = tmp_path / "a.txt"
    path.write_text("words")
    upload_result = aeontel("file", "upload", str(path), "--project", "prj_nothere")
    assert upload_result.exit_code == 3 and "project_not_found" in upload_result.stderr
    assert aeontel("image", "list", "--project", "prj_nothere").exit_code == 3
    assert aeontel("file", "list", "--project", "prj_nothere").exit_code == 3


def test_tables_measure_display_width_and_truncate_long_names():
    assert display_width("写真.jpg") == 8 and display_width("🌅.png") == 6 and display_width("e\u0301") == 1
    assert truncate("a" * 50, 10) == "a" * 9 + "…" and truncate("写真写真写真", 6) == "写真…"
    assert display_width(truncate("写真写真写真", 5)) <= 5
    rendered = table(
        [("ID", "NAME", "URL"), ("1", "写真.jpg", "u1"), ("2", "plain.jpg", "u2"), ("3", "x" * 60, "u3")], {1: 40}
    ).splitlines()
    assert len({display_width(line[: line.rindex("  ") + 2]) for line in rendered}) == 1  # URLs start in one column
    assert "x" * 39 + "…" in rendered[3]


def test_login_on_a_terminal_asks_for_the_url_and_the_token(cli_env, live_server, tenant):
    env = {key: value for key, value in cli_env.items() if key not in ("AEONTEL_API_URL", "AEONTEL_TOKEN")}

    def login(url: str, token: str) -> subprocess.CompletedProcess:
        leader, follower = pty.openpty()

        def on_the_terminal():  # the pty becomes the controlling terminal, where getpass asks
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        try:
            process = subprocess.Popen(
                [str(AEONTEL), "login"],
                env=env,
                stdin=follower,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                preexec_fn=on_the_terminal,
            )
            os.write(leader, url.encode() + b"\n")
            seen, deadline = b"", time.monotonic() + 30
            while b"API token" not in seen:
                assert time.monotonic() < deadline, seen
                if select.select([leader], [], [], 1)[0]:
                    seen += os.read(leader, 1024)
            os.write(leader, token.encode() + b"\n")
            out, err = process.communicate(timeout=60)
        finally:
            os.close(follower)
            os.close(leader)
        return subprocess.CompletedProcess(process.args, process.returncode, out, err)

    refused = login(live_server.url, "aet_wrong")
    assert refused.returncode == 1 and "API URL" in refused.stdout
    assert (
        f"checking the token against {live_server.url} failed" in refused.stderr and "invalid_token" in refused.stderr
    )
    saved = login(live_server.url + "/", tenant.write_token)
    assert saved.returncode == 0, saved.stderr
    assert json.loads(Path(env["AEONTEL_CONFIG"]).read_text())["api_url"] == live_server.url


def test_the_client_waits_out_the_upload_limit(make_app, tenant, tmp_path):
    """A real server with a tight upload limit (3 a second): every upload lands, after waiting as told."""
    server = ThreadedServer(make_app(upload_rate_limit="3/1")).start()
    try:
        paths = []
        for n in range(10):
            paths.append(tmp_path / f"f{n}.txt")
            paths[-1].write_text(f"file {n}")
        with Client(server.url, tenant.write_token) as client:
            ids = [client.upload_file(path, tenant.project_id)["id"] for path in paths]
            assert len(set(ids)) == 10 and client.retried >= 2
        with Client(server.url, tenant.write_token, max_retries=1, max_wait=0.01) as impatient:
            outcomes = []
            for path in paths:
                try:
                    impatient.upload_file(path, tenant.project_id)
                    outcomes.append(201)
                except Exception as exc:  # noqa: BLE001 - the refusal is the point
                    outcomes.append(getattr(exc, "status", None))
            assert 429 in outcomes and impatient.retried <= len(paths)
    finally:
        server.stop()
