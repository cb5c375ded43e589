"""One project listed through every face — the gallery's HTML, the API, the CLI (`--json`) and MCP (the official
client) — with every sort and every filter, a search and several pages: the same ids in the same order, because
every face translates its parameters into the one query engine (app/domain/queries.py)."""

from __future__ import annotations

import hashlib
import html
import io
import json
import os
import re
from urllib.parse import urlencode

import anyio
import pytest
import requests
from click.testing import CliRunner
from PIL import Image as PILImage

from tests.imagesd_support import damaged_jpeg
from tests.web.gallery_web_support import Member, make_user

API_PAGE = 4  # small pages, so every list of the API, the CLI and MCP spans several
SORTS = ("-created", "created", "-name", "name", "-size", "size", "-taken", "taken")


def png(shade: int, side: int) -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", (side, side), (shade, 255 - shade, 90)).save(buffer, "PNG")
    return buffer.getvalue()


def upload(server, tenant, name: str, data: bytes, query: str = "") -> str:
    response = requests.post(
        f"{server.url}/api/files{query}",
        headers=tenant.auth(),
        timeout=30,
        data={"project_id": tenant.project_id},
        files={"file": (name, data)},
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


@pytest.fixture
def project(live_server, tenant, run_jobs, corpus) -> dict:
    """A project with ready PNG and JPEG images (names in mixed case, equal sizes to test the tiebreak), a failed
    image, other files, one still processing, alt text set and decorative, and two files in the trash."""
    ids = {}
    names = ["sunrise.png", "Beach.png", "beach-2.png", "Team.png", "zebra.png", "Sun-dial.png", "alpha.png"]
    for number, name in enumerate(names * 5):  # 35 ready images: more than the gallery's page of 30
        stem, _, ext = name.rpartition(".")
        label = f"{stem}-{number:02d}.{ext}" if number >= len(names) else name
        ids[label] = upload(live_server, tenant, label, png(number * 7 % 250, 4 + number % 3))
    canon = (corpus / "Canon_40D.jpg").read_bytes()
    ids["Canon.JPG"] = upload(live_server, tenant, "Canon.JPG", canon)
    ids["Canon copy.JPG"] = upload(live_server, tenant, "Canon copy.JPG", canon, "?duplicates=allow")  # same bytes
    ids["bomb.png"] = upload(live_server, tenant, "bomb.png", damaged_jpeg())  # stored, then fails for good
    for name in ("notes.txt", "Readme.txt", "sun.csv"):
        ids[name] = upload(live_server, tenant, name, name.encode() * 3)
    run_jobs()
    ids["late.png"] = upload(live_server, tenant, "late.png", png(3, 5))  # processing: no job has run for it
    write = tenant.auth("write")
    for name, change in (("Beach.png", {"altText": "A beach"}), ("zebra.png", {"decorative": True})):
        answer = requests.patch(f"{live_server.url}/api/images/{ids[name]}", json=change, headers=write, timeout=10)
        assert answer.status_code == 200, answer.text
    for name in ("alpha.png", "notes.txt"):
        answer = requests.delete(f"{live_server.url}/api/files/{ids[name]}", headers=write, timeout=10)
        assert answer.status_code == 200 and answer.json()["restorableUntil"], answer.text
    middle = requests.get(f"{live_server.url}/api/files/{ids['Team-10.png']}", headers=write, timeout=10).json()
    # A collection of the sun images and a tag on the beach ones (and on one of them a second tag).
    api = live_server.url + "/api"
    made = requests.post(f"{api}/collections", json={"projectId": tenant.project_id, "name": "Sun"}, headers=write)
    collection = made.json()["id"]
    added = requests.post(f"{api}/collections/{collection}/images", json={"query": {"q": "sun"}}, headers=write)
    assert added.json()["changed"] >= 5, added.text
    requests.post(f"{api}/collections/{collection}/images", json={"query": {"q": "beach-2"}}, headers=write)
    tagged = requests.post(f"{api}/images/tags", json={"query": {"q": "beach"}, "add": ["Beach"]}, headers=write)
    assert tagged.json()["changed"] >= 5, tagged.text
    requests.post(f"{api}/images/tags", json={"query": {"q": "beach-2"}, "add": ["Two"]}, headers=write)
    return {
        "ids": ids,
        "middle": middle["createdAt"],
        "collection": collection,
        "sha256": hashlib.sha256(canon).hexdigest(),
    }


def api_walk(server, tenant, path: str, params: dict) -> tuple[list[str], int, int]:
    """(ids in order, pages, total) of a list through the API, following next_cursor."""
    found, cursor, pages, total = [], None, 0, None
    while True:
        query = params | {"limit": API_PAGE, "count": "true"} | ({"cursor": cursor} if cursor else {})
        answer = requests.get(f"{server.url}{path}?{urlencode(query)}", headers=tenant.auth("read"), timeout=10)
        assert answer.status_code == 200, answer.text
        page = answer.json()
        found += [item.get("fileId") or item["id"] for item in page["data"]]
        pages, total = pages + 1, page["total"]
        if not page["has_more"]:
            return found, pages, total
        cursor = page["next_cursor"]


def gallery_walk(member: Member, path: str, params: dict) -> tuple[list[str], int | None, int]:
    """(tile ids in order, the "all that match" count, pages) of a gallery view, following its Load more links."""
    url, found, matching, pages = f"{path}?{urlencode(params)}", [], None, 0
    while url:
        page = member.client.get(url, headers=member.htmx())
        assert page.status_code == 200, page.text
        found += re.findall(r'<li id="(?:tile|trashed)-(fil_[0-9a-z]+)"', page.text)
        counted = re.search(r'data-matching="(\d+)"', page.text)
        matching = int(counted.group(1)) if counted else matching
        more = re.search(r'<li id="more"[^>]*>\s*<a href="([^"]+)"', page.text)
        url, pages = (html.unescape(more.group(1)) if more else None), pages + 1
    return found, matching, pages


def cli_walk(cli_env: dict, command: list[str]) -> tuple[list[str], int]:
    """(ids, total) of `aeontel … list --json --all --count` in this process (Click's runner, real HTTP)."""
    from app.cli import main

    ambient = {key: None for key in os.environ if key.startswith("AEONTEL_")}
    done = CliRunner().invoke(
        main, [*command, "--json", "--all", "--count", "--limit", str(API_PAGE)], env=ambient | cli_env
    )
    assert done.exit_code == 0, done.output
    page = json.loads(done.stdout)
    return [item.get("fileId") or item["id"] for item in page["data"]], page["total"]


def cli_flags(params: dict) -> list[str]:
    """The API's parameters as the CLI's flags: the same names, dashes for underscores (booleans as on/off flags)."""
    flags = []
    for name, value in params.items():
        if name == "is_image":
            flags.append("--is-image" if value == "true" else "--not-image")
        elif name == "has_alt_text":
            flags.append("--has-alt-text" if value == "true" else "--no-alt-text")
        else:
            flags += [{"q": "--query", "project_id": "--project"}.get(name, "--" + name.replace("_", "-")), value]
    return flags


async def mcp_walk(session, tool: str, params: dict) -> tuple[list[str], int]:
    """(ids, total) of an MCP list tool, following next_cursor."""
    arguments = {name: {"true": True, "false": False}.get(value, value) for name, value in params.items()}
    if "tag" in arguments:
        arguments["tag"] = [arguments["tag"]]  # a list there: images carrying every one
    found, cursor = [], None
    while True:
        result = await session.call_tool(tool, arguments | {"limit": API_PAGE, "count": True, "cursor": cursor})
        assert not result.is_error, result.content
        page = result.structured_content
        found += [item.get("fileId") or item["id"] for item in page["data"]]
        if not page["has_more"]:
            return found, page["total"]
        cursor = page["next_cursor"]


# (gallery view, the API's list and its parameters): every filter of the engine, each as every face spells it.
GALLERY_SORTS = {
    "-created": "newest",
    "created": "oldest",
    "name": "name",
    "-name": "name_desc",
    "-size": "size",
    "-taken": "taken",
    "taken": "taken_oldest",
}


def cases(middle: str, collection: str, sha256: str) -> list[tuple[dict | None, str, dict]]:
    return [
        ({"status": "all", "sha256": sha256}, "files", {"sha256": sha256}),
        ({"status": "all", "collection": collection}, "files", {"collection": collection}),
        ({"status": "ready", "tag": "BEACH"}, "images", {"tag": "BEACH"}),
        (
            {"status": "ready", "tag": "beach", "collection": collection},
            "images",
            {"tag": "beach", "collection": collection},
        ),
        ({"status": "all"}, "files", {"is_image": "true"}),
        ({"status": "ready"}, "files", {"is_image": "true", "image_state": "ready"}),
        ({"status": "processing"}, "files", {"image_state": "processing"}),
        ({"status": "failed"}, "files", {"image_state": "failed"}),
        ({"status": "files"}, "files", {"is_image": "false"}),
        ({"status": "all", "q": "SUN"}, "files", {"is_image": "true", "q": "SUN"}),
        ({"status": "all", "created_after": middle}, "files", {"is_image": "true", "created_after": middle}),
        ({"status": "all", "created_before": middle}, "files", {"is_image": "true", "created_before": middle}),
        (None, "files", {"status": "error"}),  # the file's own status: the gallery's "status" names its views
        (None, "files", {"q": "sun"}),
        ({"status": "ready"}, "images", {}),
        ({"status": "ready", "format": "png"}, "images", {"format": "png"}),
        ({"status": "ready", "has_alt_text": "true"}, "images", {"has_alt_text": "true"}),
        ({"status": "ready", "has_alt_text": "false", "q": "b"}, "images", {"has_alt_text": "false", "q": "b"}),
        ({"status": "ready", "orientation": "square"}, "images", {"orientation": "square"}),
        ({"status": "all", "min_width": "5", "max_height": "5"}, "files", {"min_width": "5", "max_height": "5"}),
        ({"status": "ready", "camera": "Canon EOS 40D"}, "images", {"camera": "Canon EOS 40D", "q": "CANÓN"}),
        (None, "images", {"taken_before": "2010-01-01", "min_size": "100", "source": "original"}),
    ]


def test_every_face_lists_the_same_ids_in_the_same_order(app, live_server, tenant, project):
    from mcp import Client as McpClient

    from app.client import Client
    from app.mcp_server import build_server

    make_user(app, tenant, "editor@example.com", "editor")
    member = Member(app, "editor@example.com", tenant)
    gallery_url = member.gallery_url
    trash_url = f"/w/{tenant.workspace_id}/p/{tenant.project_id}/trash"
    cli_env = {"AEONTEL_API_URL": live_server.url, "AEONTEL_TOKEN": tenant.read_token}
    cli_env["AEONTEL_CONFIG"] = str(app.instance_path) + "/cross-face-cli.json"
    seen = {"gallery pages": 0, "api pages": 0}

    async def compare_all() -> None:
        with Client(live_server.url, tenant.read_token) as api:
            async with McpClient(build_server(api)) as session:
                for view, kind, params in cases(project["middle"], project["collection"], project["sha256"]):
                    for sort in SORTS:
                        await compare(session, view, kind, params | {"project_id": tenant.project_id}, sort)
                for sort in SORTS:
                    await compare(session, None, "trash", {"project_id": tenant.project_id}, sort)

    async def compare(session, view, kind, params, sort) -> None:
        what = f"{kind} {params} sorted {sort}"
        api_ids, pages, total = api_walk(live_server, tenant, f"/api/{kind}", params | {"sort": sort})
        seen["api pages"] = max(seen["api pages"], pages)
        command = {"images": "image", "files": "file", "trash": "trash"}[kind]
        cli_ids, cli_total = cli_walk(cli_env, [command, "list", *cli_flags(params | {"sort": sort})])
        mcp_ids, mcp_total = await mcp_walk(session, f"list_{kind}", params | {"sort": sort})
        assert api_ids and cli_ids == api_ids and mcp_ids == api_ids, what
        assert cli_total == mcp_total == total == len(api_ids), what
        if view is not None and sort in GALLERY_SORTS:
            gallery_ids, matching, pages = gallery_walk(member, gallery_url, view | {"sort": GALLERY_SORTS[sort]})
            seen["gallery pages"] = max(seen["gallery pages"], pages)
            assert gallery_ids == api_ids and matching == total, what
        if kind == "trash" and sort == "-created":
            assert gallery_walk(member, trash_url, {})[0] == api_ids, what

    anyio.run(compare_all)
    assert seen["gallery pages"] >= 2 and seen["api pages"] >= 2  # paging was crossed on every face


def test_the_faces_offer_exactly_the_engines_parameters(app):
    """The API's list parameters, the CLI's list flags and the MCP list tools' arguments are the engine's names; so
    are those of the facet counts (`image facets`, `image_facets`), `sort` included."""
    import click

    from app.api.spec import DECLARED
    from app.cli import main
    from app.domain import queries
    from app.mcp_server import build_server
    from app.web import gallery

    tools = {tool.name: tool for tool in anyio.run(build_server(None).list_tools)}
    faces = (
        ("images", "api.list_images", "list_images", ("image", "list")),
        ("files", "api.list_files", "list_files", ("file", "list")),
        ("trash", "api.list_trash", "list_trash", ("trash", "list")),
        ("facets", "api.image_facets", "image_facets", ("image", "facets")),
    )
    for kind, endpoint, tool, command in faces:
        names = set(queries.FACET_PARAMETERS if kind == "facets" else queries.PARAMETERS[kind]) | {"workspace_id"}
        assert set(DECLARED[endpoint].names("query")) == names, kind  # what the API validates and documents
        mcp_names = set(tools[tool].input_schema["properties"]) - {"include_exif"}
        assert mcp_names == names, kind
        group = main
        for part in command:
            group = group.commands[part] if isinstance(group, click.Group) else group
        cli_names = {param.name for param in group.params} - {"api_url", "token", "all_pages", "as_json"}
        assert cli_names == names, kind
        sort_option = next(param for param in group.params if param.name == "sort")
        assert tuple(sort_option.type.choices) == queries.SORTS, kind
        assert tools[tool].input_schema["properties"]["sort"]["anyOf"][0]["enum"] == list(queries.SORTS), kind
    # The sorts: every face offers the engine's, in its order (the CLI and MCP keep their own copy: they speak HTTP).
    assert SORTS == queries.SORTS
    assert {engine for engine, _ in gallery.SORTS.values()} == set(queries.SORTS)


def test_the_http_faces_declare_the_engines_image_facts_once(app):
    """app.client's FACT_FILTERS, from which the CLI's options and the MCP tools' arguments are made, are the
    engine's facts and size bounds, with its choices."""
    from app.client import FACT_FILTERS
    from app.domain import photo_facts, queries

    names = [spec.name for spec in FACT_FILTERS]
    assert len(names) == len(set(names)) and set(names) == set(queries.FACTS + queries.SIZES)
    choices = {spec.name: spec.choices for spec in FACT_FILTERS if spec.choices}
    engine = {"orientation": photo_facts.ORIENTATIONS, "source": queries.SOURCES}
    assert choices == {**engine, "colour": photo_facts.COLOUR_FAMILIES}
