"""`aeontel duplicates …` and `aeontel image similar`: near duplicates through the API (the hash backfill, which works
on the database, joins the group from app/cli/admin.py)."""

from __future__ import annotations

import json

import click

from app.cli.remote.common import NAME_COLUMNS, api_options, human_size, print_json
from app.cli.remote.text import table
from app.client import Client


def similar_table(found: list[dict]) -> str:
    rows = [("ID", "DISTANCE", "NAME", "SIZE", "DIMENSIONS")]
    rows += [
        (
            n["image"]["fileId"],
            str(n["distance"]),
            n["image"].get("name") or "-",
            human_size(n["image"].get("size")),
            f"{n['image'].get('width')}x{n['image'].get('height')}",
        )
        for n in found
    ]
    return table(rows, {2: NAME_COLUMNS})


@click.command("similar")
@click.argument("file_id")
@click.option("--threshold", type=click.IntRange(0, 12), help="At most this many differing bits of 64 (default 12).")
@click.option("--limit", type=click.IntRange(1, 50), help="How many (default 20).")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON answer.")
@api_options
def image_similar(client: Client, settings, file_id: str, threshold, limit, as_json: bool) -> None:
    """Near duplicates of an image: the same photo resized, recompressed, re-exported or slightly cropped."""
    found = client.similar_images(file_id, threshold, limit)
    if as_json:
        print_json(found)
    elif not found["data"]:
        click.echo("no similar images")
    else:
        click.echo(similar_table(found["data"]))


@click.group("duplicates")
def duplicates_group() -> None:
    """Near duplicates: list the groups, merge one, and (on the server) backfill the hashes of older images."""


@duplicates_group.command("list")
@click.option("--project", "project_id", metavar="ID", help="Only this project's images.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per group.")
@api_options
def duplicates_list(client: Client, settings, project_id, as_json: bool) -> None:
    """Every group of near duplicates, each under its oldest image (marked `keep`)."""
    count = 0
    for group in client.iter_duplicates(project_id):
        count += 1
        if as_json:
            click.echo(json.dumps(group))
            continue
        click.echo(f"group {count}: keep {group['keep']}")
        for near in group["images"]:
            mark = "keep" if near["image"]["fileId"] == group["keep"] else f"{near['distance']:>4}"
            click.echo(f"  {mark}  {near['image']['fileId']}  {near['image'].get('name') or '-'}")
    if not as_json:
        click.echo(f"{count} group{'s' if count != 1 else ''} of near duplicates", err=True)


@duplicates_group.command("merge")
@click.argument("keep")
@click.argument("others", nargs=-1, required=True, metavar="OTHER...")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON answer.")
@api_options
def duplicates_merge(client: Client, settings, keep: str, others: tuple[str, ...], as_json: bool) -> None:
    """Keep KEEP; the OTHER images go to the trash (restore with `aeontel file restore`) after their alt text and
    focal point are carried over where KEEP has none."""
    merged = client.merge_duplicates(keep, list(others))
    if as_json:
        print_json(merged)
        return
    gained = ", ".join(merged["changed"]) or "nothing"
    click.echo(f"kept {keep} (gained: {gained}); {len(merged['trashed'])} moved to the trash")
    for trashed in merged["trashed"]:
        click.echo(f"  {trashed['id']} restorable until {trashed.get('restorableUntil') or 'never (trash is off)'}")
