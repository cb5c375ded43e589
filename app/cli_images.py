"""`aeontel image|file|login|mcp`: commands that talk to the JSON API through `app.client`, never to the database.

Exit codes: 0 success, 1 failure, 2 usage error, 3 not found. Errors go to stderr as one `error: …` line.
"""

from __future__ import annotations

import functools
import json
import sys
from datetime import datetime
from pathlib import Path

import click

from app.cli_text import table
from app.client import ApiError, AuthError, Client, NotFoundError, load_settings, write_config

EXIT_FAILURE, EXIT_USAGE, EXIT_NOT_FOUND = 1, 2, 3
BAR_THRESHOLD = 1024 * 1024
NAME_COLUMNS = 40
SORTS = ("-created", "created", "-name", "name", "-size", "size")


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


def dimensions(image: dict) -> str:
    return f"{image['width']}x{image['height']}" if image.get("width") and image.get("height") else "-"


def image_table(images: list[dict]) -> str:
    rows = [("ID", "NAME", "SIZE", "DIMENSIONS", "CREATED", "URL")]
    rows += [
        (
            i["fileId"],
            i.get("name") or "-",
            human_size(i.get("size")),
            dimensions(i),
            human_time(i.get("createdAt")),
            i.get("url") or "-",
        )
        for i in images
    ]
    return table(rows, {1: NAME_COLUMNS})


def file_table(found: list[dict]) -> str:
    rows = [("ID", "NAME", "TYPE", "SIZE", "STATUS", "CREATED")]
    rows += [
        (
            f["id"],
            f.get("name") or "-",
            f.get("mimeType") or "-",
            human_size(f.get("size")),
            file_status(f),
            human_time(f.get("createdAt")),
        )
        for f in found
    ]
    return table(rows, {1: NAME_COLUMNS})


def file_status(file: dict) -> str:
    """The file's status, and for an image file where its image stands (`ready, image processing`)."""
    image = file.get("image")
    return (
        f"{file.get('status')}, image {image['status']}"
        if image and file.get("status") == "ready"
        else str(file.get("status"))
    )


def focal_text(image: dict) -> str | None:
    point = image.get("focalPoint")
    return f"{point['x']:g},{point['y']:g}" if point else "centre"


def sent_to_images(image: dict) -> str:
    """Which bytes Images was sent: the original, or a master made because the original breaks its limits."""
    master, original = image.get("master"), image.get("original") or {}
    if image.get("source") != "master" or not master:
        return "the original"
    return (
        f"a {master['width']:,}×{master['height']:,} {str(master['format']).upper()} master "
        f"({human_size(master['size'])}) made from the {original.get('width', 0):,}×{original.get('height', 0):,} "
        f"{str(original.get('format', '')).upper()} original ({human_size(original.get('size'))}), kept unchanged"
    )


def image_details(image: dict) -> str:
    """`label: value` lines, one per field, so that `grep '^url: '` and people read them alike."""
    lines = [
        ("id", image["fileId"]),
        ("name", image.get("name")),
        ("type", image.get("mimeType")),
        ("dimensions", dimensions(image)),
        ("size", human_size(image.get("size"))),
        ("format", image.get("format")),
        ("project", image.get("projectId")),
        ("workspace", image.get("workspaceId")),
        ("created", human_time(image.get("createdAt"))),
        ("url", image.get("url")),
        ("sent to Images", sent_to_images(image)),
    ]
    lines += [(f"variant {name}", url) for name, url in sorted((image.get("variants") or {}).items())]
    lines += [
        ("alt text", image.get("altText")),
        ("decorative", "yes" if image.get("decorative") else "no"),
        ("focal point", focal_text(image)),
    ]
    return "\n".join(f"{key}: {value if value not in (None, '') else '-'}" for key, value in lines)


def list_options(command):
    """Sort, time filters, total and paging: the same on `image list` and `file list`."""
    for option in reversed(
        [
            click.option(
                "--sort",
                type=click.Choice(SORTS),
                help="Order by created, name or size; '-' is descending [default: -created, newest first].",
            ),
            click.option("--created-after", metavar="TIME", help="Only those uploaded after this ISO 8601 date/time."),
            click.option(
                "--created-before", metavar="TIME", help="Only those uploaded before this ISO 8601 date/time."
            ),
            click.option("--count", is_flag=True, default=None, help="Also print how many match in all (on stderr)."),
            click.option(
                "--limit", type=click.IntRange(1, 100), metavar="N", help="Page size (the API's default when left out)."
            ),
            click.option(
                "--cursor",
                metavar="CURSOR",
                help="Start after this cursor (printed when more pages exist); "
                "give the same filters and --sort with it.",
            ),
            click.option("--all", "all_pages", is_flag=True, help="Follow cursors and list everything."),
            click.option("--json", "as_json", is_flag=True, help="Print the API's list JSON instead of a table."),
        ]
    ):
        command = option(command)
    return command


@click.group()
def image() -> None:
    """Images: list, inspect and delete them through the API (uploading a file with an image type makes one)."""


@image.command("list")
@click.option("--workspace", "workspace_id", metavar="ID", help="Only this workspace (a token sees only its own).")
@click.option("--project", "project_id", metavar="ID", help="Only images in this project.")
@click.option("--query", "-q", "q", metavar="TEXT", help="Only images whose name contains TEXT.")
@click.option("--format", "image_format", metavar="FORMAT", help="Only this format (jpeg, png, webp, gif, svg, …).")
@click.option(
    "--has-alt-text/--no-alt-text",
    "has_alt_text",
    default=None,
    help="Only images with alt text / only those still to describe (no alt text, not decorative).",
)
@list_options
@api_options
def image_list(
    client: Client,
    settings,
    workspace_id,
    project_id,
    q,
    image_format,
    has_alt_text,
    limit,
    cursor,
    all_pages,
    as_json,
    **filters,
) -> None:
    """List images, newest first (or as --sort says)."""
    filters.update(format=image_format, has_alt_text=has_alt_text)
    show_list(
        client.list_images,
        client.iter_images,
        image_table,
        "images",
        as_json,
        all_pages,
        workspace_id,
        project_id,
        q,
        limit,
        cursor,
        **filters,
    )


def show_list(list_page, iterate, render, noun, as_json, all_pages, *args, **filters) -> None:
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
    click.echo(render(page["data"]) if page["data"] else f"no {noun}")
    if page.get("has_more"):
        click.echo(f"more {noun}: --cursor {page['next_cursor']} (or --all)", err=True)
    if "total" in page:
        click.echo(f"{page['total']} {noun} in all", err=True)


@image.command("update")
@click.argument("file_id")
@click.option("--alt", "alt_text", metavar="TEXT", help="New alt text (an empty string removes it).")
@click.option(
    "--decorative/--no-decorative", default=None, help="Mark the image as decoration (no alt text) or as content."
)
@click.option(
    "--focal",
    metavar="X,Y",
    callback=lambda ctx, param, value: parse_focal(value),
    help="Focal point, each from 0 to 1 from the top left, e.g. 0.5,0.3; crops keep it in frame.",
)
@click.option("--focal-reset", is_flag=True, help="Crops centre the image again.")
@click.option("--name", metavar="NAME", help="A new display name for the file.")
@click.option("--json", "as_json", is_flag=True, help="Print the Image JSON.")
@api_options
def image_update(client: Client, settings, file_id, alt_text, decorative, focal, focal_reset, name, as_json) -> None:
    """Edit an image's alt text, decorative flag, focal point or name."""
    if focal is not None and focal_reset:
        fail("give --focal or --focal-reset, not both", EXIT_USAGE)
    changes = {
        key: value
        for key, value in (("altText", alt_text), ("decorative", decorative), ("name", name))
        if value is not None
    }
    if focal is not None or focal_reset:
        changes["focalPoint"] = {"x": focal[0], "y": focal[1]} if focal else None
    if not changes:
        fail(
            "nothing to change: give --alt, --decorative/--no-decorative, --focal, --focal-reset or --name", EXIT_USAGE
        )
    updated = client.update_image(file_id, **changes)
    if as_json:
        print_json(updated)
    else:
        click.echo(image_details(updated))


def parse_focal(value: str | None) -> tuple[float, float] | None:
    if value is None:
        return None
    try:
        x, y = (float(part) for part in value.split(","))
    except ValueError:
        raise click.BadParameter("give X,Y, two numbers from 0 to 1, e.g. 0.5,0.3") from None
    if not (0 <= x <= 1 and 0 <= y <= 1):
        raise click.BadParameter("X and Y must each be from 0 to 1")
    return x, y


@image.command("get")
@click.argument("file_id")
@click.option("--json", "as_json", is_flag=True, help="Print the Image JSON.")
@api_options
def image_get(client: Client, settings, file_id: str, as_json: bool) -> None:
    """Show one image by its file id."""
    found = client.get_image(file_id)
    if as_json:
        print_json(found)
    else:
        click.echo(image_details(found))


@image.command("delete")
@click.argument("file_ids", nargs=-1, required=True, metavar="FILE_ID...")
@click.option("--permanent", is_flag=True, help="Remove for good at once (bytes included), also out of the trash.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask; required when stdin is not a terminal.")
@api_options
def image_delete(client: Client, settings, file_ids: tuple[str, ...], permanent: bool, yes: bool) -> None:
    """Delete images and their files: they go to the workspace's trash (restore with `aeontel file restore`) and
    their CDN copies are removed at once; --permanent removes them for good."""
    delete_many(file_ids, "images", permanent, yes, functools.partial(client.delete_image, permanent=permanent))


def delete_many(file_ids: tuple[str, ...], what: str, permanent: bool, yes: bool, delete) -> None:
    """Shared by `image delete` and `file delete`: asks on a terminal, then deletes each id and says where it went."""
    if not yes:
        if not sys.stdin.isatty():
            fail("refusing to delete without --yes when not on a terminal", EXIT_USAGE)
        which = file_ids[0] if len(file_ids) == 1 else f"{len(file_ids)} {what} ({', '.join(file_ids)})"
        question = f"Delete {which} for good?" if permanent else f"Delete {which} (kept in the trash)?"
        if not click.confirm(question, default=False):
            fail("aborted, nothing deleted")
    codes = set()
    for file_id in file_ids:
        try:
            answer = delete(file_id)
        except ApiError as exc:
            if exc.status is None:
                fail(str(exc))  # the API is unreachable: the other ids would fail the same way
            click.echo(f"error: {file_id}: {exc}", err=True)
            codes.add(exit_code_for(exc))
            continue
        until = answer.get("restorableUntil")
        click.echo(
            f"deleted {file_id} (in the trash until {human_time(until)}; `aeontel file restore {file_id}` "
            "brings it back)"
            if until
            else f"deleted {file_id} for good"
        )
    sys.exit(worst_of(codes))


@click.group("file")
def file_group() -> None:
    """Files: upload, inspect, retry, delete and restore them (a file whose bytes are an image becomes an image)."""


@file_group.command("list")
@click.option("--workspace", "workspace_id", metavar="ID", help="Only this workspace (a token sees only its own).")
@click.option("--project", "project_id", metavar="ID", help="Only files in this project.")
@click.option("--query", "-q", "q", metavar="TEXT", help="Only files whose name contains TEXT.")
@click.option("--status", type=click.Choice(["pending", "ready", "error"]), help="Only files in this state.")
@list_options
@api_options
def file_list(
    client: Client, settings, workspace_id, project_id, q, status, limit, cursor, all_pages, as_json, **filters
) -> None:
    """List files, newest first (or as --sort says); an image file's STATUS says where its image stands."""
    show_list(
        client.list_files,
        client.iter_files,
        file_table,
        "files",
        as_json,
        all_pages,
        workspace_id,
        project_id,
        q,
        limit,
        cursor,
        status=status,
        **filters,
    )


@file_group.command("upload")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, readable=True))
@click.option(
    "--project",
    "project_id",
    envvar="AEONTEL_PROJECT",
    metavar="ID",
    help="The project to upload into [env AEONTEL_PROJECT; default from `aeontel login --project`].",
)
@click.option("--wait", is_flag=True, help="Follow each upload until its image is ready or failed.")
@click.option("--timeout", type=float, default=120.0, show_default=True, help="Seconds --wait waits for each file.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per file.")
@api_options
def file_upload(client: Client, settings, paths, project_id, wait, timeout, as_json) -> None:
    """Upload files into a project.

    Each file can be up to the API's upload limit (100 MiB by default). Photos over the images service's limits
    (10 MB, 12,000 px, 100 megapixels) and TIFF, BMP, JPEG XL or CMYK files are scaled to fit it; the original
    is kept as uploaded."""
    project_id = project_id or settings.project_id
    if not project_id:
        fail("say which project with --project, AEONTEL_PROJECT or `aeontel login --project`", EXIT_USAGE)
    sources = [Path(p) for p in paths]
    total = sum(p.stat().st_size for p in sources)
    uploaded: list[tuple[Path, dict | ApiError]] = []
    show_bar = not as_json and sys.stderr.isatty() and (total >= BAR_THRESHOLD or len(sources) > 3)
    with click.progressbar(
        length=total, label="uploading", file=sys.stderr, show_pos=False, hidden=not show_bar
    ) as bar:
        for source in sources:
            try:
                uploaded.append((source, client.upload_file(source, project_id, progress=bar.update)))
            except ApiError as exc:
                if exc.status is None or isinstance(exc, AuthError):
                    raise  # every other file would fail the same way
                uploaded.append((source, exc))
    codes = set()
    for source, file in uploaded:
        if isinstance(file, ApiError):
            click.echo(f"error: {source}: {file}", err=True)
            codes.add(exit_code_for(file))
            continue
        result = {"path": str(source), "file": file, "image": None}
        if wait:
            try:
                result["file"], result["image"] = client.wait_for_file(file["id"], timeout=timeout)
            except ApiError as exc:
                click.echo(f"error: {source}: {exc}", err=True)
                codes.add(EXIT_FAILURE)
                continue
            if result["file"]["status"] == "error":
                codes.add(EXIT_FAILURE)
        if as_json:
            click.echo(json.dumps(result))
        else:
            click.echo(upload_line(source, result["file"], result["image"], wait))
    sys.exit(worst_of(codes))


def worst_of(codes: set[int]) -> int:
    """A failure outranks a usage error, which outranks not found; 0 when everything went well."""
    for code in (EXIT_FAILURE, EXIT_USAGE, EXIT_NOT_FOUND):
        if code in codes:
            return code
    return 0


@click.group("upload-url")
def upload_url_group() -> None:
    """One-time upload URLs: a browser posts one file to the URL with no token of its own."""


@upload_url_group.command("create")
@click.option(
    "--project",
    "project_id",
    envvar="AEONTEL_PROJECT",
    metavar="ID",
    help="The project the file goes to [env AEONTEL_PROJECT; default from `aeontel login --project`].",
)
@click.option(
    "--max-bytes",
    type=click.IntRange(min=1),
    help="The largest file the URL accepts (default: the server's upload limit).",
)
@click.option("--expires-in", type=click.IntRange(30, 3600), help="Seconds the URL stays usable (default 300).")
@click.option("--alt-text", help="Alt text for the image the file becomes.")
@click.option("--name", help="The file's name, instead of the one the uploader sends.")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON answer.")
@api_options
def upload_url_create(client: Client, settings, project_id, max_bytes, expires_in, alt_text, name, as_json) -> None:
    """Make a one-time upload URL; it prints the URL (its secret is shown only once)."""
    project_id = project_id or settings.project_id
    if not project_id:
        fail("say which project with --project, AEONTEL_PROJECT or `aeontel login --project`", EXIT_USAGE)
    made = client.create_upload_url(
        project_id, max_bytes=max_bytes, expires_in=expires_in, alt_text=alt_text, name=name
    )
    if as_json:
        print_json(made)
    else:
        click.echo(made["uploadUrl"])
        click.echo(
            f"one file up to {human_size(made['maxBytes'])} until {made['expiresAt']}: "
            f"curl -F file=@photo.jpg '{made['uploadUrl']}'",
            err=True,
        )


@file_group.command("get")
@click.argument("file_id")
@click.option("--json", "as_json", is_flag=True, help="Print the File JSON.")
@api_options
def file_get(client: Client, settings, file_id: str, as_json: bool) -> None:
    """Show one file and where its image is: processing, waiting for the images service, ready or failed."""
    found = client.get_file(file_id)
    if as_json:
        print_json(found)
    else:
        click.echo(
            f"{found['id']}  {found['name']}  {found['mimeType']}  {human_size(found.get('size'))}  {file_state(found)}"
        )


@file_group.command("retry")
@click.argument("file_ids", nargs=-1, required=True, metavar="FILE_ID...")
@api_options
def file_retry(client: Client, settings, file_ids: tuple[str, ...]) -> None:
    """Retry making the image of failed files (or try waiting ones now instead of after their backoff)."""
    each_file(file_ids, client.retry_file, lambda file_id, found: f"queued {file_id} again ({file_state(found)})")


def each_file(file_ids, act, said) -> None:
    """`act` on every id; a refused one is reported on stderr and the others still go; exits with the worst code."""
    codes = set()
    for file_id in file_ids:
        try:
            found = act(file_id)
        except ApiError as exc:
            if exc.status is None:
                fail(str(exc))  # the API is unreachable: the other ids would fail the same way
            click.echo(f"error: {file_id}: {exc}", err=True)
            codes.add(exit_code_for(exc))
            continue
        click.echo(said(file_id, found))
    sys.exit(worst_of(codes))


@file_group.command("delete")
@click.argument("file_ids", nargs=-1, required=True, metavar="FILE_ID...")
@click.option("--permanent", is_flag=True, help="Remove for good at once (bytes included), also out of the trash.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask; required when stdin is not a terminal.")
@api_options
def file_delete(client: Client, settings, file_ids: tuple[str, ...], permanent: bool, yes: bool) -> None:
    """Delete files (and their images): into the workspace's trash, or for good with --permanent."""
    delete_many(file_ids, "files", permanent, yes, functools.partial(client.delete_file, permanent=permanent))


@file_group.command("restore")
@click.argument("file_ids", nargs=-1, required=True, metavar="FILE_ID...")
@api_options
def file_restore(client: Client, settings, file_ids: tuple[str, ...]) -> None:
    """Bring files back from the trash; an image is provisioned again under the same delivery URL."""
    each_file(file_ids, client.restore_file, lambda file_id, found: f"restored {file_id} ({file_state(found)})")


@click.group("trash")
def trash_group() -> None:
    """The trash: deleted files kept for the workspace's retention period (30 days unless set otherwise)."""


@trash_group.command("list")
@click.option("--project", "project_id", metavar="ID", help="Only this project's trash.")
@click.option("--json", "as_json", is_flag=True, help="Print the API's list JSON instead of a table.")
@api_options
def trash_list(client: Client, settings, project_id, as_json) -> None:
    """List the files in the trash with the time each is kept until."""
    items = list(client.iter_trash(project_id=project_id, limit=100))
    if as_json:
        print_json({"object": "list", "data": items, "has_more": False, "next_cursor": None})
        return
    if not items:
        click.echo("the trash is empty")
        return
    rows = [("ID", "NAME", "SIZE", "DELETED", "KEPT UNTIL")]
    rows += [
        (
            f["id"],
            f.get("name") or "-",
            human_size(f.get("size")),
            human_time(f.get("deletedAt")),
            human_time(f.get("purgeAfter")),
        )
        for f in items
    ]
    widths = [max(len(row[col]) for row in rows) for col in range(len(rows[0]))]
    click.echo("\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows))


@trash_group.command("empty")
@click.option("--project", "project_id", metavar="ID", help="Only this project's trash.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask; required when stdin is not a terminal.")
@api_options
def trash_empty(client: Client, settings, project_id, yes) -> None:
    """Remove every file in the trash for good, now."""
    if not yes:
        if not sys.stdin.isatty():
            fail("refusing to empty the trash without --yes when not on a terminal", EXIT_USAGE)
        if not click.confirm("Remove everything in the trash for good?", default=False):
            fail("aborted, nothing removed")
    purged = client.empty_trash(project_id)["purged"]
    click.echo(f"removed {purged} file{'s' if purged != 1 else ''} for good")


def file_state(file: dict) -> str:
    """One phrase for where a file is; `waiting` says that nothing is lost and nothing needs doing."""
    image = file.get("image")
    if file["status"] == "error" or (image or {}).get("status") == "failed":
        error = (image or {}).get("error") or {}
        message = (file.get("error") or {}).get("message") or error.get("detail") or "unknown error"
        return f"failed: {message} ({(file.get('error') or {}).get('code') or error.get('code')})"
    if image is None:
        return file["status"] if file["status"] != "ready" else "ready (not an image)"
    if image["status"] == "waiting":
        return (
            f"waiting for the images service - retrying automatically (attempt {image['attempts']}, "
            f"next at {image.get('nextAttemptAt') or '-'})"
        )
    return {"ready": "image ready", "processing": "processing"}.get(image["status"], image["status"])


def upload_line(source: Path, file: dict, found: dict | None, waited: bool) -> str:
    if file["status"] == "error":
        error = file.get("error") or {}
        return f"{source}: {file['id']} failed: {error.get('message') or 'unknown error'} ({error.get('code')})"
    if found is not None:
        return f"{source}: {file['id']} ready, image {dimensions(found)} {human_size(found.get('size'))} {found.get('url')}"
    if waited:
        return f"{source}: {file['id']} ready (not an image: {file.get('mimeType')})"
    if (file.get("image") or {}).get("status") == "waiting":
        return f"{source}: {file['id']} uploaded ({file_state(file)})"
    return f"{source}: {file['id']} uploaded ({file['status']})"


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


def register(group: click.Group) -> None:
    for command in (image, file_group, upload_url_group, trash_group, login, mcp_command):
        group.add_command(command)
