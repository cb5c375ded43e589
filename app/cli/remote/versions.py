"""`aeontel file replace`, `aeontel file versions` and `aeontel file version-restore`: an image's bytes replaced under
the same id, and its history, through the API."""

from __future__ import annotations

import sys

import click

from app.cli.remote.common import EXIT_FAILURE, api_options, human_size, human_time, print_json
from app.cli.remote.files import file_group
from app.cli.remote.text import table
from app.client import Client

WAIT_HELP = "Follow the new version until it is current (or failed)."


def version_line(version: dict) -> str:
    said = f"v{version['number']} of {version['fileId']}: {version['state']}"
    if version.get("error"):
        said += f" ({version['error']['code']}: {version['error']['message']})"
    return said


def _finish(client: Client, version: dict, wait: bool, timeout: float, as_json: bool) -> None:
    if wait:
        version = client.wait_for_version(version["fileId"], version["number"], timeout=timeout)
    if as_json:
        print_json(version)
    else:
        click.echo(version_line(version))
    sys.exit(EXIT_FAILURE if version["state"] == "failed" or (wait and version["state"] == "pending") else 0)


@file_group.command("replace")
@click.argument("file_id")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, readable=True))
@click.option("--name", help="Rename the file once the new version is current (else it keeps its name).")
@click.option("--wait", is_flag=True, help=WAIT_HELP)
@click.option("--timeout", type=float, default=120.0, show_default=True, help="Seconds --wait waits.")
@click.option("--json", "as_json", is_flag=True, help="Print the version's JSON.")
@api_options
def file_replace(client: Client, settings, file_id, path, name, wait, timeout, as_json) -> None:
    """Replace an image's bytes: they become its next version, under the same id and stable URL.

    Alt text, focal point, crops and every other field stay. The current version keeps serving until the new one is
    ready; a replace that fails (a damaged file) leaves it serving and says why (exit 1)."""
    _finish(client, client.replace_file(file_id, path, name=name), wait, timeout, as_json)


@file_group.command("versions")
@click.argument("file_id")
@click.option("--json", "as_json", is_flag=True, help="Print the list's JSON.")
@api_options
def file_versions(client: Client, settings, file_id, as_json) -> None:
    """List an image's versions, newest first: number, state, date, size, dimensions and who made it."""
    found = client.list_versions(file_id)
    if as_json:
        print_json(found)
        return
    rows = [("VERSION", "STATE", "CREATED", "SIZE", "DIMENSIONS", "BY")]
    for v in found["data"]:
        size = f"{v['width']}x{v['height']}" if v.get("width") else "-"
        by = v.get("createdBy") or "-"
        if v.get("restoredFrom"):
            by += f" (restored v{v['restoredFrom']})"
        rows.append((f"v{v['number']}", v["state"], human_time(v["createdAt"]), human_size(v["size"]), size, by))
    click.echo(table(rows))


@file_group.command("version-restore")
@click.argument("file_id")
@click.argument("number", type=click.IntRange(1))
@click.option("--wait", is_flag=True, help=WAIT_HELP)
@click.option("--timeout", type=float, default=120.0, show_default=True, help="Seconds --wait waits.")
@click.option("--json", "as_json", is_flag=True, help="Print the new version's JSON.")
@api_options
def file_version_restore(client: Client, settings, file_id, number, wait, timeout, as_json) -> None:
    """Make an old version current again, as a new version (nothing in the history is lost)."""
    _finish(client, client.restore_version(file_id, number), wait, timeout, as_json)
