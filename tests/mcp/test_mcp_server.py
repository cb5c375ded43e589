"""The MCP server driven by the official SDK's own client, over stdio and over streamable HTTP."""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path

import anyio
import requests
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

from app.domain import queries

AEONTEL = Path(sys.executable).with_name("aeontel")
MISSING = "fil_00000000000000000000000000"


def structured(result) -> dict:
    """A successful call carries the structured content and the same data as JSON text."""
    assert not result.is_error, result.content
    assert json.loads(result.content[0].text) == result.structured_content
    return result.structured_content


async def exercise_versions(session: ClientSession, file_id: str) -> None:
    """replace_image answers the pending version; list_versions shows it beside the current one; a restore while it
    is pending is refused with the API's code. (The worker runs later: tests/api/test_versions.py follows it.)"""
    new_bytes = Path(__file__).parents[1] / "corpus" / "Nikon_D70.jpg"
    pending = structured(await session.call_tool("replace_image", {"file_id": file_id, "path": str(new_bytes)}))
    assert (pending["number"], pending["state"], pending["fileId"]) == (2, "pending", file_id)
    listed = structured(await session.call_tool("list_versions", {"file_id": file_id}))
    assert [(v["number"], v["state"]) for v in listed["data"]] == [(2, "pending"), (1, "current")]
    busy = await session.call_tool("restore_version", {"file_id": file_id, "number": 1})
    assert busy.is_error and "version_current" in busy.content[0].text
    unreadable = await session.call_tool("replace_image", {"file_id": file_id, "path": "/nonexistent/x.jpg"})
    assert unreadable.is_error and "file_unreadable" in unreadable.content[0].text


async def exercise(session: ClientSession, images: list[str], live_server, tenant, failed: str) -> None:
    init = await session.initialize()
    assert init.server_info.name == "aeontel-images" and "no tool to create an image" in init.instructions

    tools = {tool.name: tool for tool in (await session.list_tools()).tools}
    assert set(tools) == {
        "list_images",
        "image_facets",
        "list_files",
        "get_image",
        "update_image",
        "set_crop",
        "delete_image",
        "create_upload_url",
        "import_file_from_url",
        "retry_file",
        "list_trash",
        "restore_file",
        "similar_images",
        "list_duplicates",
        "merge_duplicates",
        "replace_image",
        "list_versions",
        "restore_version",
        "list_collections",
        "create_collection",
        "add_to_collection",
        "tag_images",
        "suggest_tags",
        "list_views",
        "run_view",
    }
    assert tools["merge_duplicates"].annotations.destructive_hint is True
    assert tools["similar_images"].annotations.read_only_hint is True
    await exercise_versions(session, images[1])
    assert tools["create_upload_url"].input_schema["required"] == ["project_id"]
    made = structured(
        await session.call_tool(
            "create_upload_url", {"project_id": tenant.project_id, "max_bytes": 5000, "alt_text": "Sky"}
        )
    )
    assert made["maxBytes"] == 5000 and made["uploadUrl"].startswith(f"{live_server.url}/api/uploads/")
    # Bytes of this run only: known bytes would answer the library's file (200) instead of storing one.
    note = f"hello {uuid.uuid4()}".encode()
    used = requests.post(made["uploadUrl"], files={"file": ("note.txt", note)}, timeout=10)
    assert used.status_code == 201 and used.json()["file"]["projectId"] == tenant.project_id
    requests.delete(
        f"{live_server.url}/api/files/{used.json()['file']['id']}?permanent=true", headers=tenant.auth(), timeout=10
    )
    bad = await session.call_tool("create_upload_url", {"project_id": "prj_nope"})
    assert bad.is_error and "project_not_found" in bad.content[0].text
    # The server's own address is no public one: the import says so (tests/api/test_url_import.py fetches for real).
    refused = await session.call_tool(
        "import_file_from_url", {"url": f"{live_server.url}/healthz", "project_id": tenant.project_id}
    )
    assert refused.is_error and "url_address_refused" in refused.content[0].text
    listing = tools["list_images"]
    assert set(listing.input_schema["properties"]) == {"workspace_id", "include_exif", *queries.PARAMETERS["images"]}
    assert all(tool.input_schema["additionalProperties"] is False for tool in tools.values())
    assert not listing.input_schema.get("required")
    assert listing.input_schema["properties"]["limit"]["anyOf"][0] == {"maximum": 100, "minimum": 1, "type": "integer"}
    assert "next_cursor" in listing.description and listing.annotations.read_only_hint is True
    assert {"data", "has_more", "next_cursor"} <= set(listing.output_schema["properties"])
    for name in ("get_image", "delete_image"):
        assert tools[name].input_schema["required"] == ["file_id"]
        assert tools[name].input_schema["properties"]["file_id"]["type"] == "string"
        assert tools[name].description and tools[name].output_schema
    assert tools["get_image"].annotations.read_only_hint is True
    assert tools["get_image"].annotations.destructive_hint is False
    assert tools["delete_image"].annotations.destructive_hint is True
    assert tools["delete_image"].annotations.read_only_hint is False
    assert "trash" in tools["delete_image"].description and "cannot be undone" in tools["delete_image"].description
    assert tools["delete_image"].input_schema["properties"]["permanent"]["default"] is False
    assert tools["list_trash"].annotations.read_only_hint is True
    assert tools["list_files"].annotations.read_only_hint is True and "image_state" in tools["list_files"].description
    assert tools["restore_file"].input_schema["required"] == ["file_id"]
    assert tools["retry_file"].input_schema["required"] == ["file_id"]
    assert tools["retry_file"].annotations.destructive_hint is False and "waiting" in tools["retry_file"].description

    page = structured(await session.call_tool("list_images", {}))
    assert page["object"] == "list" and [item["fileId"] for item in page["data"]] == images
    # "find landscape photos without alt text", then which cameras took them
    found = structured(await session.call_tool("list_images", {"orientation": "landscape", "has_alt_text": False}))
    assert [item["fileId"] for item in found["data"]] == [i["fileId"] for i in page["data"] if i["width"] > i["height"]]
    facets = structured(await session.call_tool("image_facets", {"orientation": "landscape"}))
    assert facets["total"] == len(found["data"]) and facets["exact"] is True
    assert sum(value["count"] for value in facets["facets"]["orientation"]) == facets["total"]
    # list_images's arguments pass as they are: sort is taken and changes no count
    sorted_facets = await session.call_tool("image_facets", {"orientation": "landscape", "sort": "-size"})
    assert structured(sorted_facets) == facets
    crossed = await session.call_tool("image_facets", {"min_width": 10, "max_width": 5})
    assert crossed.is_error and "invalid_range" in crossed.content[0].text
    assert page["has_more"] is False and page["next_cursor"] is None
    first = structured(await session.call_tool("list_images", {"limit": 1, "project_id": tenant.project_id}))
    assert [item["fileId"] for item in first["data"]] == images[:1] and first["has_more"] is True
    second = structured(
        await session.call_tool(
            "list_images", {"limit": 1, "cursor": first["next_cursor"], "project_id": tenant.project_id}
        )
    )
    assert [item["fileId"] for item in second["data"]] == images[1:] and second["has_more"] is False
    mine = structured(await session.call_tool("list_images", {"workspace_id": tenant.workspace_id}))
    assert len(mine["data"]) == 2

    image = structured(await session.call_tool("get_image", {"file_id": images[-1], "include_exif": True}))
    assert (image["fileId"], image["name"], image["width"], image["height"]) == (
        images[-1],
        "Beach-Sunset.jpg",
        100,
        68,
    )
    assert image["workspaceId"] == tenant.workspace_id and image["url"].endswith(f"/{images[-1]}/public")
    assert image["exif"]["Make"] == "Canon" and "placeholder" in image  # fields beyond the schema pass through

    missing = await session.call_tool("get_image", {"file_id": MISSING})
    assert missing.is_error and missing.structured_content is None
    assert "image_not_found" in missing.content[0].text and MISSING in missing.content[0].text
    elsewhere = await session.call_tool("list_images", {"workspace_id": "ws_someone_else"})
    assert elsewhere.is_error and "workspace_not_found" in elsewhere.content[0].text
    invalid = await session.call_tool("list_images", {"limit": 0})
    assert invalid.is_error and "limit" in invalid.content[0].text

    refused = await session.call_tool("retry_file", {"file_id": images[-1]})
    assert refused.is_error and "not_retryable" in refused.content[0].text
    retried = structured(await session.call_tool("retry_file", {"file_id": failed}))
    assert retried["id"] == failed and retried["image"]["status"] == "processing"
    # Filters and sort reach the API; unknown arguments are refused instead of ignored.
    found = structured(await session.call_tool("list_images", {"q": "team", "count": True}))
    assert [item["name"] for item in found["data"]] == ["team.jpg"] and found["total"] == 1
    by_name = structured(await session.call_tool("list_images", {"sort": "name"}))
    assert [item["name"] for item in by_name["data"]] == ["Beach-Sunset.jpg", "team.jpg"]
    by_taken = structured(await session.call_tool("list_images", {"sort": "-taken", "limit": 1}))
    assert [item["name"] for item in by_taken["data"]] == ["Beach-Sunset.jpg"]  # EXIF 2008-05, the Nikon 2008-03
    following = await session.call_tool("list_images", {"sort": "-taken", "cursor": by_taken["next_cursor"]})
    assert [item["name"] for item in structured(following)["data"]] == ["team.jpg"]
    files_by_taken = structured(await session.call_tool("list_files", {"sort": "taken"}))
    assert [item["name"] for item in files_by_taken["data"]][:2] == ["team.jpg", "Beach-Sunset.jpg"]  # then the bomb
    compact = by_name["data"][0]
    assert compact.get("exif") is None and compact.get("placeholder") is None and compact["url"]
    for arguments in ({"query": "team"}, {"sort_by": "name"}, {"q": "x", "unknown": 1}):
        refused = await session.call_tool("list_images", arguments)
        assert refused.is_error and next(iter(set(arguments) - {"q"})) in refused.content[0].text, arguments
    bad_sort = await session.call_tool("list_images", {"sort": "newest"})
    assert bad_sort.is_error
    refused = await session.call_tool("get_image", {"file_id": images[0], "verbose": True})
    assert refused.is_error and "verbose" in refused.content[0].text

    edited = structured(
        await session.call_tool(
            "update_image", {"file_id": images[-1], "alt_text": "A sunset", "focal_x": 0.3, "focal_y": 0.6}
        )
    )
    assert (edited["altText"], edited["focalPoint"]) == ("A sunset", {"x": 0.3, "y": 0.6})
    assert (
        requests.get(f"{live_server.url}/api/images/{images[-1]}", headers=tenant.auth(), timeout=10).json()["altText"]
        == "A sunset"
    )
    reset = structured(await session.call_tool("update_image", {"file_id": images[-1], "reset_focal_point": True}))
    assert reset["focalPoint"] is None and reset["altText"] == "A sunset"
    cropped = structured(
        await session.call_tool(
            "set_crop", {"file_id": images[-1], "preset": "card", "x": 0, "y": 0, "width": 68, "height": 68}
        )
    )
    assert cropped["crops"]["card"]["rect"] == {"x": 0, "y": 0, "width": 68, "height": 68}
    assert "trim=0;32;0;0" in cropped["crops"]["card"]["url"] and cropped["crops"]["card"]["auto"] is False
    got = structured(await session.call_tool("get_image", {"file_id": images[-1]}))
    assert got["crops"]["card"] == cropped["crops"]["card"] and got["crops"]["hero"]["auto"] is True
    reset = structured(
        await session.call_tool("set_crop", {"file_id": images[-1], "preset": "card", "automatic": True})
    )
    assert reset["crops"]["card"]["auto"] is True
    for arguments in ({"preset": "card", "x": 0}, {"preset": "card"}, {"preset": "nope", "automatic": True}):
        refused = await session.call_tool("set_crop", {"file_id": images[-1], **arguments})
        assert refused.is_error, arguments
    nothing = await session.call_tool("update_image", {"file_id": images[-1]})
    assert nothing.is_error and "Nothing to change" in nothing.content[0].text
    half = await session.call_tool("update_image", {"file_id": images[-1], "focal_x": 0.5})
    assert half.is_error and "together" in half.content[0].text
    out_of_range = await session.call_tool("update_image", {"file_id": images[-1], "focal_x": 2, "focal_y": 0})
    assert out_of_range.is_error
    both = await session.call_tool("update_image", {"file_id": images[-1], "alt_text": "x", "decorative": True})
    assert both.is_error and "alt_text_on_decorative" in both.content[0].text
    # A pixel bomb fails for good since durable retries (only passing failures are retried): refused by name.
    bomb = await session.call_tool("retry_file", {"file_id": failed})
    assert bomb.is_error and "not_retryable" in bomb.content[0].text

    deleted = structured(await session.call_tool("delete_image", {"file_id": images[0]}))
    assert (
        deleted
        == {"object": "image", "fileId": images[0], "deleted": True, "restorableUntil": deleted["restorableUntil"]}
        and deleted["restorableUntil"]
    )
    assert (
        requests.get(f"{live_server.url}/api/images/{images[0]}", headers=tenant.auth(), timeout=10).status_code == 404
    )
    again = await session.call_tool("delete_image", {"file_id": images[0]})
    assert again.is_error and "image_not_found" in again.content[0].text
    left = structured(await session.call_tool("list_images", {}))
    assert [item["fileId"] for item in left["data"]] == images[1:]
    trashed = structured(await session.call_tool("list_trash", {}))
    assert [item["id"] for item in trashed["data"]] == [images[0]] and trashed["data"][0]["purgeAfter"]
    restored = structured(await session.call_tool("restore_file", {"file_id": images[0]}))
    assert restored["id"] == images[0] and restored["image"]["status"] == "processing"
    assert structured(await session.call_tool("list_trash", {}))["data"] == []
    not_there = await session.call_tool("restore_file", {"file_id": images[0]})
    assert not_there.is_error and "not_in_trash" in not_there.content[0].text
    gone = structured(await session.call_tool("delete_image", {"file_id": images[1], "permanent": True}))
    assert gone["restorableUntil"] is None
    assert structured(await session.call_tool("list_trash", {}))["data"] == []


def test_over_stdio(images, failed_file, live_server, tenant, server_env, server_log):
    params = StdioServerParameters(command=str(AEONTEL), args=["mcp"], env=server_env)

    async def run() -> None:
        async with stdio_client(params, errlog=server_log) as (read, write), ClientSession(read, write) as session:
            await exercise(session, images, live_server, tenant, failed_file)

    anyio.run(run)


def test_over_streamable_http(images, failed_file, live_server, tenant, http_server):
    async def run() -> None:
        async with streamable_http_client(http_server) as (read, write), ClientSession(read, write) as session:
            await exercise(session, images, live_server, tenant, failed_file)

    anyio.run(run)


def test_a_bad_token_or_a_dead_api_is_a_tool_error_not_a_crash(live_server):
    """In-process (the SDK's Client connects to the server object directly): the error paths need no subprocess."""
    from mcp import Client as McpClient

    from app.client import Client
    from app.mcp_server import build_server
    from tests.services import free_port

    async def call(api: Client, tool: str, arguments: dict):
        async with McpClient(build_server(api)) as session:
            return await session.call_tool(tool, arguments)

    async def run() -> None:
        with Client(live_server.url, "aet_bad") as api:
            result = await call(api, "list_images", {})
            assert result.is_error and result.content[0].text == (
                "Error executing tool list_images: The API token is unknown or revoked. (invalid_token)"
            )
        with Client(f"http://127.0.0.1:{free_port()}", "aet_x") as api:
            result = await call(api, "get_image", {"file_id": "fil_x"})
            assert result.is_error and "connection_failed" in result.content[0].text

    anyio.run(run)


def test_a_page_of_50_images_is_compact_unless_exif_is_asked_for(live_server, tenant, corpus, run_jobs):
    """What a page costs an assistant's context, in bytes of the tool's JSON text."""
    from mcp import Client as McpClient

    from app.client import Client
    from app.mcp_server import build_server

    for n in range(50):
        response = requests.post(
            f"{live_server.url}/api/files?duplicates=allow",  # fifty files of the same photo, on purpose
            headers=tenant.auth(),
            timeout=30,
            data={"project_id": tenant.project_id},
            files={"file": (f"photo-{n}.jpg", (corpus / "Canon_40D.jpg").read_bytes())},
        )
        assert response.status_code == 201
    run_jobs()

    async def run() -> tuple[int, int]:
        with Client(live_server.url, tenant.write_token) as api:
            async with McpClient(build_server(api)) as session:
                small = await session.call_tool("list_images", {"limit": 50})
                full = await session.call_tool("list_images", {"limit": 50, "include_exif": True})
                assert len(small.structured_content["data"]) == len(full.structured_content["data"]) == 50
                return len(small.content[0].text.encode()), len(full.content[0].text.encode())

    small, full = anyio.run(run)
    print(f"list_images, 50 images: {small} bytes compact, {full} bytes with EXIF")
    assert small * 3 < full


def test_an_assistant_organises_images_into_collections_and_tags(images, live_server, tenant):
    """In-process over the SDK's client: make a collection, fill it by query, tag by ids, and filter by both."""
    from mcp import Client as McpClient

    from app.client import Client
    from app.mcp_server import build_server

    async def run() -> None:
        with Client(live_server.url, tenant.write_token) as api:
            async with McpClient(build_server(api)) as session:
                made = structured(
                    await session.call_tool("create_collection", {"project_id": tenant.project_id, "name": "Team"})
                )
                added = structured(
                    await session.call_tool("add_to_collection", {"collection_id": made["id"], "query": {"q": "team"}})
                )
                assert added["changed"] == 1 and added["collection"]["imageCount"] == 1
                listed = structured(await session.call_tool("list_collections", {"project_id": tenant.project_id}))
                assert [(c["name"], c["imageCount"]) for c in listed["data"]] == [("Team", 1)]
                tagged = structured(await session.call_tool("tag_images", {"ids": images[:2], "add": ["People"]}))
                assert tagged["changed"] == 2
                found = structured(
                    await session.call_tool("list_images", {"tag": ["people"], "collection": made["id"]})
                )
                assert [(i["name"], i["tags"], i["collections"]) for i in found["data"]] == [
                    ("team.jpg", ["People"], [made["id"]])
                ]
                suggested = structured(await session.call_tool("suggest_tags", {"prefix": "PE"}))
                assert suggested["data"] == [{"object": "tag", "name": "People", "useCount": 2}]
                both = await session.call_tool("tag_images", {"ids": images[:1], "query": {}, "add": ["x"]})
                assert both.is_error and "ids or query" in both.content[0].text
                bad = await session.call_tool("tag_images", {"ids": images[:1], "add": ["a,b"]})
                assert bad.is_error and "invalid_tag" in bad.content[0].text
                files = structured(await session.call_tool("list_files", {"tag": ["PEOPLE"]}))
                assert len(files["data"]) == 2

    anyio.run(run)
