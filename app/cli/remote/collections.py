"""`aeontel collection …` and `aeontel image tag …`: organise images through the API."""

from __future__ import annotations

import json

import click

from app.cli.remote.common import EXIT_USAGE, api_options, confirm, fail, human_time, print_json, show
from app.cli.remote.text import table
from app.client import Client


def organise_filters(command):
    """--collection and --tag on `image list`, `image facets` and `file list`: the query engine's `collection` and
    `tag` filters."""
    command = click.option(
        "--tag",
        "tag",
        multiple=True,
        metavar="TAG",
        help="Only those carrying this tag, in any case; repeat for those carrying every one.",
    )(command)
    return click.option("--collection", "collection", metavar="ID", help="Only those in this collection.")(command)


def parse_query(raw: str | None) -> dict | None:
    """--query: GET /api/images's filters as a JSON object, e.g. '{"tag": ["beach"], "q": "IMG"}'."""
    if raw is None:
        return None
    try:
        query = json.loads(raw)
    except ValueError:
        fail('--query is a JSON object of list filters, e.g. \'{"tag": ["beach"]}\'', EXIT_USAGE)
    if not isinstance(query, dict):
        fail('--query is a JSON object of list filters, e.g. \'{"tag": ["beach"]}\'', EXIT_USAGE)
    return query


def _selection(file_ids: tuple[str, ...], query: str | None) -> tuple[list[str] | None, dict | None]:
    if bool(file_ids) == (query is not None):
        fail("give image ids or --query, not both (nor neither)", EXIT_USAGE)
    return (list(file_ids) or None), parse_query(query)


QUERY_OPTION = click.option(
    "--query",
    "query",
    metavar="JSON",
    help='Every image GET /api/images would list with these filters, e.g. \'{"tag": ["beach"]}\' (all pages).',
)


def collection_table(collections: list[dict]) -> str:
    rows = [("ID", "NAME", "IMAGES", "PROJECT", "UPDATED")]
    rows += [
        (c["id"], c["name"], f"{c['imageCount']:,}", c["projectId"], human_time(c.get("updatedAt")))
        for c in collections
    ]
    return table(rows, {1: 40})


def tag_table(tags: list[dict]) -> str:
    return table([("TAG", "IMAGES")] + [(t["name"], f"{t['useCount']:,}") for t in tags], {})


@click.group("collection")
def collection() -> None:
    """Collections: named groups of a project's images (an image can be in any number)."""


@collection.command("list")
@click.option("--project", "project_id", metavar="ID", help="Only this project's collections.")
@click.option("--json", "as_json", is_flag=True, help="Print the API's JSON.")
@api_options
def collection_list(client: Client, settings, project_id, as_json) -> None:
    """List collections by name."""
    show(client.list_collections(project_id), as_json, collection_table, "no collections")


@collection.command("create")
@click.argument("name")
@click.option("--project", "project_id", metavar="ID", help="The project [default: from `aeontel login`].")
@click.option("--json", "as_json", is_flag=True, help="Print the Collection JSON.")
@api_options
def collection_create(client: Client, settings, name, project_id, as_json) -> None:
    """Create an empty collection in a project."""
    project_id = project_id or settings.project_id
    if not project_id:
        fail("which project? give --project ID (or set one with `aeontel login --project`)", EXIT_USAGE)
    created = client.create_collection(project_id, name)
    print_json(created) if as_json else click.echo(f"created {created['id']} {created['name']!r}")


@collection.command("rename")
@click.argument("collection_id")
@click.argument("name")
@api_options
def collection_rename(client: Client, settings, collection_id, name) -> None:
    """Rename a collection."""
    renamed = client.rename_collection(collection_id, name)
    click.echo(f"renamed {renamed['id']} to {renamed['name']!r}")


@collection.command("delete")
@click.argument("collection_id")
@click.option("--yes", "-y", is_flag=True, help="Do not ask; required when stdin is not a terminal.")
@api_options
def collection_delete(client: Client, settings, collection_id, yes) -> None:
    """Delete a collection; its images stay."""
    confirm(f"Delete collection {collection_id} (its images stay)?", yes)
    client.delete_collection(collection_id)
    click.echo(f"deleted collection {collection_id} (its images stay)")


@collection.command("add")
@click.argument("collection_id")
@click.argument("file_ids", nargs=-1, metavar="[IMAGE_ID...]")
@QUERY_OPTION
@api_options
def collection_add(client: Client, settings, collection_id, file_ids, query) -> None:
    """Add images to a collection: by id, or every image a --query matches."""
    ids, where = _selection(file_ids, query)
    answer = client.add_to_collection(collection_id, ids=ids, query=where)
    count = answer["collection"]["imageCount"]
    click.echo(f"added {answer['changed']:,} image(s) to {collection_id}; it holds {count:,}")


@collection.command("remove")
@click.argument("collection_id")
@click.argument("file_ids", nargs=-1, metavar="[IMAGE_ID...]")
@QUERY_OPTION
@api_options
def collection_remove(client: Client, settings, collection_id, file_ids, query) -> None:
    """Take images out of a collection (the images stay): by id, or every image a --query matches."""
    ids, where = _selection(file_ids, query)
    answer = client.remove_from_collection(collection_id, ids=ids, query=where)
    count = answer["collection"]["imageCount"]
    click.echo(f"removed {answer['changed']:,} image(s) from {collection_id}; it holds {count:,}")


def register_tag(image: click.Group) -> None:
    """`aeontel image tag` and `aeontel image tags` (suggestions) on the image group."""

    @image.command("tag")
    @click.argument("file_ids", nargs=-1, metavar="[IMAGE_ID...]")
    @click.option("--add", "add", multiple=True, metavar="TAG", help="A tag to add (repeat for more).")
    @click.option("--remove", "remove", multiple=True, metavar="TAG", help="A tag to remove (repeat for more).")
    @QUERY_OPTION
    @api_options
    def image_tag(client: Client, settings, file_ids, add, remove, query) -> None:
        """Add and remove tags on images: by id, or on every image a --query matches."""
        if not add and not remove:
            fail("nothing to change: give --add TAG or --remove TAG", EXIT_USAGE)
        ids, where = _selection(file_ids, query)
        answer = client.change_tags(ids=ids, query=where, add=list(add), remove=list(remove))
        click.echo(f"changed the tags of {answer['changed']:,} image(s)")

    @image.command("tags")
    @click.argument("prefix", required=False)
    @click.option("--limit", type=click.IntRange(1, 100), metavar="N", help="How many [default: 20].")
    @click.option("--json", "as_json", is_flag=True, help="Print the API's JSON.")
    @api_options
    def image_tags(client: Client, settings, prefix, limit, as_json) -> None:
        """The workspace's tags (starting with PREFIX, any case), most used first."""
        show(client.suggest_tags(prefix, limit), as_json, tag_table, "no tags")
