"""`aeontel view …`: saved views (a named query of a project) through the API; a token's views are its own."""

from __future__ import annotations

import click

from app.cli.remote.common import EXIT_USAGE, api_options, delete_each, fail, print_json, show
from app.cli.remote.images import image_table
from app.cli.remote.text import table
from app.client import Client


@click.group("view")
def view() -> None:
    """Saved views: a name for a project's filters, search and sort (the list parameters of `aeontel image list`)."""


@view.command("list")
@click.option("--project", "project_id", metavar="ID", help="Only this project's views.")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON list.")
@api_options
def view_list(client: Client, settings, project_id, as_json) -> None:
    """Your saved views, by name."""
    show(client.list_views(project_id=project_id or None), as_json, view_table, "no saved views")


def view_table(views: list[dict]) -> str:
    rows = [("ID", "NAME", "LAYOUT", "QUERY")]
    return table(rows + [(v["id"], v["name"], v["layout"], v["query"] or "-") for v in views], {1: 40})


@view.command("create")
@click.argument("name")
@click.option(
    "--project", "project_id", metavar="ID", help="The project the view lists [default from `aeontel login`]."
)
@click.option(
    "--query",
    default="",
    metavar="PARAMS",
    help="List parameters as a query string, e.g. 'has_alt_text=false&sort=-size' (any filter `image list` takes).",
)
@click.option("--layout", type=click.Choice(["grid", "table"]), default="grid", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the JSON answer.")
@api_options
def view_create(client: Client, settings, name, project_id, query, layout, as_json) -> None:
    """Save a view; prints its id and its gallery URL (anyone in the workspace can open it)."""
    project_id = project_id or settings.project_id
    if not project_id:
        fail("say which project with --project", EXIT_USAGE)
    made = client.create_view(project_id, name, query, layout)
    if as_json:
        print_json(made)
        return
    click.echo(made["id"])
    click.echo(made["url"], err=True)


@view.command("show")
@click.argument("view_id")
@click.option("--limit", type=click.IntRange(1, 100), default=20, show_default=True, help="How many of its images.")
@click.option("--json", "as_json", is_flag=True, help="Print the view and a page of its images as JSON.")
@api_options
def view_show(client: Client, settings, view_id, limit, as_json) -> None:
    """A saved view (yours or shared with you by id) and the first page of its images."""
    found = client.get_view(view_id)
    images = client.run_view(view_id, limit=limit, count=True)
    if as_json:
        print_json({"view": found, "images": images})
        return
    click.echo(f"{found['name']}  ({found['layout']})  {found['query'] or 'no filters'}")
    click.echo(found["url"])
    click.echo(f"{images.get('total', len(images['data'])):,} image(s)")
    if images["data"]:
        click.echo(image_table(images["data"]))


@view.command("delete")
@click.argument("view_ids", nargs=-1, required=True, metavar="VIEW_ID...")
@click.option("--yes", "-y", is_flag=True, help="Do not ask; required when stdin is not a terminal.")
@api_options
def view_delete(client: Client, settings, view_ids, yes) -> None:
    """Delete your views (the images they list are untouched)."""
    delete_each(view_ids, yes, client.delete_view)
