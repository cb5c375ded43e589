"""The MCP tools of saved views, through the SDK's own client connected to the server object (in-process), against
the live API: list the token's views, run one into its images, and a bad id is a tool error."""

from __future__ import annotations

import json

import anyio
import requests


def structured(result) -> dict:
    assert not result.is_error, result.content
    assert json.loads(result.content[0].text) == result.structured_content
    return result.structured_content


def test_list_views_and_run_a_view_into_its_images(images, live_server, tenant):
    from mcp import Client as McpClient

    from app.client import Client
    from app.mcp_server import build_server

    made = requests.post(
        f"{live_server.url}/api/views",
        headers=tenant.auth(),
        json={"projectId": tenant.project_id, "name": "Sunsets", "query": "q=sunset&sort=name"},
        timeout=10,
    )
    assert made.status_code == 201, made.text
    view = made.json()

    async def run() -> None:
        with Client(live_server.url, tenant.write_token) as api:
            async with McpClient(build_server(api)) as session:
                tools = {tool.name: tool for tool in (await session.list_tools()).tools}
                assert tools["run_view"].input_schema["required"] == ["view_id"]
                assert tools["list_views"].annotations.read_only_hint is True
                listed = structured(await session.call_tool("list_views", {}))
                assert [(v["id"], v["name"], v["query"]) for v in listed["data"]] == [
                    (view["id"], "Sunsets", "q=sunset&sort=name")
                ]
                assert structured(await session.call_tool("list_views", {"project_id": tenant.project_id}))["data"]
                ran = structured(await session.call_tool("run_view", {"view_id": view["id"], "count": True}))
                assert [image["name"] for image in ran["data"]] == ["Beach-Sunset.jpg"] and ran["total"] == 1
                assert "exif" not in ran["data"][0]  # compact, as list_images
                missing = await session.call_tool("run_view", {"view_id": "viw_nope"})
                assert missing.is_error and "view_not_found" in missing.content[0].text
                typo = await session.call_tool("run_view", {"view_id": view["id"], "sort": "name"})
                assert typo.is_error

    anyio.run(run)
    assert images
