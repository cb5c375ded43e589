"""What every command that talks to the API shares: exit codes, `--api-url/--token`, the list options, the output helpers.

Exit codes: 0 success, 1 failure, 2 usage error, 3 not found. Errors go to stderr as one `error: …` line."""

from __future__ import annotations

import functools
import json
import sys
from datetime import datetime

import click

from app.client import FACT_FILTERS, ApiError, Client, Filter, NotFoundError, load_settings

EXIT_FAILURE, EXIT_USAGE, EXIT_NOT_FOUND = 1, 2, 3


NAME_COLUMNS = 40


SORTS = ("-created", "created", "-name", "name", "-size", "size", "-taken", "taken")


def fail(message: str, code: int = EXIT_FAILURE):
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def exit_code_for(error: ApiError) -> int:
    """Not found is 3; a 400 naming a parameter (a bad --cursor, --sort, --focal, …) is a usage error, 2."""
    if isinstance(error, NotFoundError):
        return EXIT_NOT_FOUND
    if error.status == 400 and error.body.get("parameter"):
        return EXIT_USAGE
    return EXIT_FAILURE


def api_options(command):
    """--api-url and --token on every command that calls the API; a client is passed in as `client`."""

    @click.option(
        "--api-url",
        envvar="AEONTEL_API_URL",
        metavar="URL",
        help="The aeontel web app [env AEONTEL_API_URL; default from `aeontel login`, else http://127.0.0.1:5000].",
    )
    @click.option(
        "--token",
        envvar="AEONTEL_TOKEN",
        metavar="TOKEN",
        help="An API token [env AEONTEL_TOKEN; default from `aeontel login`].",
    )
    @functools.wraps(command)
    def wrapper(*args, api_url, token, **kwargs):
        try:
            settings = load_settings(api_url, token)
        except ApiError as exc:
            fail(str(exc))
        if not settings.token:
            fail("no API token: pass --token, set AEONTEL_TOKEN, or run `aeontel login`", EXIT_USAGE)
        with Client.from_settings(settings) as client:
            try:
                return command(*args, client=client, settings=settings, **kwargs)
            except ApiError as exc:
                fail(str(exc), exit_code_for(exc))

    return wrapper


def print_json(data) -> None:
    click.echo(json.dumps(data, indent=2))


def human_size(size: int | None) -> str:
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def human_time(stamp: str | None) -> str:
    if not stamp:
        return "-"
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return stamp


def _apply(command, options: list):
    """`options` on `command`, the first listed first in its help."""
    for option in reversed(options):
        command = option(command)
    return command


def query_options(command):
    """Sort and the upload-time filters: the same on `image list`, `file list`, `trash list` and `image facets`."""
    return _apply(
        command,
        [
            click.option(
                "--sort",
                type=click.Choice(SORTS),
                help="Order by created, name, size or taken (date taken, else uploaded); '-' is descending "
                "[default: -created, newest first].",
            ),
            click.option("--created-after", metavar="TIME", help="Only those uploaded after this ISO 8601 date/time."),
            click.option(
                "--created-before", metavar="TIME", help="Only those uploaded before this ISO 8601 date/time."
            ),
        ],
    )


def list_options(command):
    """Sort, time filters, total and paging: the same on `image list`, `file list` and `trash list`."""
    paging = [
        click.option("--count", is_flag=True, default=None, help="Also print how many match in all (on stderr)."),
        click.option(
            "--limit", type=click.IntRange(1, 100), metavar="N", help="Page size (the API's default when left out)."
        ),
        click.option(
            "--cursor",
            metavar="CURSOR",
            help="Start after this cursor (printed when more pages exist); give the same filters and --sort with it.",
        ),
        click.option("--all", "all_pages", is_flag=True, help="Follow cursors and list everything."),
        click.option("--json", "as_json", is_flag=True, help="Print the API's list JSON instead of a table."),
    ]
    return query_options(_apply(command, paging))


def fact_option(spec: Filter):
    """The option of one image-fact filter (the API's parameter, dashed; a yes/no one is `--has-x/--no-x`)."""
    flag = "--" + spec.name.replace("_", "-")
    if spec.kind is bool:
        off = "--no-" + spec.name.removeprefix("has_").replace("_", "-")
        return click.option(f"{flag}/{off}", spec.name, default=None, help=spec.description)
    kind = click.Choice(spec.choices) if spec.choices else click.IntRange(0, spec.maximum) if spec.kind is int else None
    return click.option(flag, spec.name, type=kind, metavar=spec.metavar or None, help=spec.description)


def fact_options(command):
    """The image facts, the same on `image list`, `image facets` and `file list`, as `app.client` declares them."""
    for spec in reversed(FACT_FILTERS):
        command = fact_option(spec)(command)
    return command


def show_list(list_page, iterate, render, noun, as_json, all_pages, *args, empty=None, **filters) -> None:
    """One page (or every page with --all) as a table or JSON; the next cursor and the total go to stderr."""
    if all_pages:
        total = list_page(*args[:3], limit=1, **filters)["total"] if filters.get("count") else None
        page = {"object": "list", "data": list(iterate(*args, **filters)), "has_more": False, "next_cursor": None}
        if total is not None:
            page["total"] = total
    else:
        page = list_page(*args, **filters)
    if as_json:
        print_json(page)
        return
    click.echo(render(page["data"]) if page["data"] else empty or f"no {noun}")
    if page.get("has_more"):
        click.echo(f"more {noun}: --cursor {page['next_cursor']} (or --all)", err=True)
    if "total" in page:
        click.echo(f"{page['total']} {noun} in all", err=True)


def show(answer: dict, as_json: bool, render, empty: str | None) -> None:
    """A list the API answered: its JSON with --json, else its `data` rendered, or `empty` when there is none."""
    if as_json:
        print_json(answer)
    elif answer["data"]:
        click.echo(render(answer["data"]))
    elif empty is not None:
        click.echo(empty)


def confirm(question: str, yes: bool) -> None:
    """Asks before deleting, on a terminal; anywhere else --yes is required."""
    if yes:
        return
    if not sys.stdin.isatty():
        fail("refusing to delete without --yes when not on a terminal", EXIT_USAGE)
    if not click.confirm(question, default=False):
        fail("aborted, nothing deleted")


def each(ids: tuple[str, ...], act) -> None:
    """`act` on every id, printing the line it returns; a refused one is an `error: <id>: …` line and the worst exit
    code ends the command, an API that cannot be reached ends it at once."""
    codes = set()
    for one in ids:
        try:
            click.echo(act(one))
        except ApiError as exc:
            if exc.status is None:
                fail(str(exc))  # the other ids would fail the same way
            click.echo(f"error: {one}: {exc}", err=True)
            codes.add(exit_code_for(exc))
    sys.exit(worst_of(codes))


def delete_each(ids: tuple[str, ...], yes: bool, delete) -> None:
    """Asks (or takes --yes), then `delete(id)` for each id, saying `deleted <id>`."""
    confirm(f"Delete {', '.join(ids)}?", yes)

    def deleted(one: str) -> str:
        delete(one)
        return f"deleted {one}"

    each(ids, deleted)


def delete_many(file_ids: tuple[str, ...], what: str, permanent: bool, yes: bool, delete) -> None:
    """Shared by `image delete` and `file delete`: asks on a terminal, then deletes each id and says where it went."""
    which = file_ids[0] if len(file_ids) == 1 else f"{len(file_ids)} {what} ({', '.join(file_ids)})"
    confirm(f"Delete {which} for good?" if permanent else f"Delete {which} (kept in the trash)?", yes)

    def deleted(file_id: str) -> str:
        until = delete(file_id).get("restorableUntil")
        if until:
            restore = f"`aeontel file restore {file_id}` brings it back"
            return f"deleted {file_id} (in the trash until {human_time(until)}; {restore})"
        return f"deleted {file_id} for good"

    each(file_ids, deleted)


def worst_of(codes: set[int]) -> int:
    """A failure outranks a usage error, which outranks not found; 0 when everything went well."""
    for code in (EXIT_FAILURE, EXIT_USAGE, EXIT_NOT_FOUND):
        if code in codes:
            return code
    return 0
