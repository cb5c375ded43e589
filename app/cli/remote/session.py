"""`aeontel login` (remember the API URL and token) and `aeontel mcp` (the MCP server over the API)."""

from __future__ import annotations

import sys

import click

from app.cli.remote.common import EXIT_USAGE, exit_code_for, fail
from app.client import ApiError, Client, load_settings, write_config


@click.command()
@click.option("--api-url", metavar="URL", help="The aeontel web app to remember.")
@click.option("--token", metavar="TOKEN", help="The API token to remember (prompted for on a terminal).")
@click.option("--project", "project_id", metavar="ID", help="A default project for `aeontel file upload`.")
@click.option("--no-verify", is_flag=True, help="Save without checking the token against the API.")
def login(api_url: str | None, token: str | None, project_id: str | None, no_verify: bool) -> None:
    """Remember the API URL and token in the user config file (0600), checking the token first."""
    try:
        current = load_settings()
    except ApiError as exc:
        fail(str(exc))
    if not token and not sys.stdin.isatty():
        fail("pass --token (there is no terminal to ask on)", EXIT_USAGE)
    if not api_url:
        api_url = click.prompt("API URL", default=current.api_url) if sys.stdin.isatty() else current.api_url
    api_url = api_url.strip().rstrip("/")
    if not api_url.startswith(("http://", "https://")):
        fail(f"the API URL must start with http:// or https://, not {api_url!r}", EXIT_USAGE)
    if not token:
        token = click.prompt("API token", hide_input=True).strip()
    if not no_verify:
        with Client(api_url, token, max_retries=0) as client:
            try:
                client.list_images(limit=1)
            except ApiError as exc:
                fail(f"not saved: checking the token against {api_url} failed: {exc}", exit_code_for(exc))
    path = write_config(api_url=api_url, token=token, project_id=project_id)
    click.echo(f"saved {api_url} and the token to {path}")


@click.command("mcp")
@click.option("--http", "use_http", is_flag=True, help="Serve streamable HTTP instead of stdio.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address for --http (loopback by default).")
@click.option("--port", type=click.IntRange(1, 65535), default=8765, show_default=True, help="Port for --http.")
@click.option("--api-url", envvar="AEONTEL_API_URL", metavar="URL", help="The aeontel web app [env AEONTEL_API_URL].")
@click.option("--token", envvar="AEONTEL_TOKEN", metavar="TOKEN", help="An API token [env AEONTEL_TOKEN].")
def mcp_command(use_http: bool, host: str, port: int, api_url: str | None, token: str | None) -> None:
    """Run the MCP server (tools list_images, get_image, update_image, delete_image) over stdio or streamable HTTP."""
    from app.mcp_server import serve

    try:
        settings = load_settings(api_url, token)
    except ApiError as exc:
        fail(str(exc))
    if not settings.token:
        fail("no API token: set AEONTEL_TOKEN or run `aeontel login`", EXIT_USAGE)
    serve(settings, http=use_http, host=host, port=port)
