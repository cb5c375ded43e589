"""`aeontel file …`, `aeontel upload-url create` and `aeontel trash …`: files, one-time upload URLs and the trash through the API."""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path

import click

from app.cli.remote.collections import organise_filters
from app.cli.remote.common import (
    EXIT_FAILURE,
    EXIT_USAGE,
    NAME_COLUMNS,
    api_options,
    delete_many,
    exit_code_for,
    fact_options,
    fail,
    human_size,
    human_time,
    list_options,
    print_json,
    show_list,
    worst_of,
)
from app.cli.remote.images import dimensions
from app.cli.remote.text import table
from app.client import ApiError, AuthError, Client

BAR_THRESHOLD = 1024 * 1024


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


@click.group("file")
def file_group() -> None:
    """Files: upload, inspect, retry, delete and restore them (a file whose bytes are an image becomes an image)."""


@file_group.command("list")
@click.option("--workspace", "workspace_id", metavar="ID", help="Only this workspace (a token sees only its own).")
@click.option("--project", "project_id", metavar="ID", help="Only files in this project.")
@click.option(
    "--query", "-q", "q", metavar="TEXT", help="Only files whose name (or alt text) contains TEXT, any case or accents."
)
@click.option("--status", type=click.Choice(["pending", "ready", "error"]), help="Only files in this state.")
@click.option(
    "--is-image/--not-image", "is_image", default=None, help="Only image files / only files that are no image."
)
@click.option(
    "--image-state",
    type=click.Choice(["ready", "processing", "failed"]),
    help="Only image files whose image is ready, still processing, or failed.",
)
@click.option("--sha256", metavar="HEX", help="Only files with exactly these bytes (their SHA-256).")
@fact_options
@organise_filters
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
@click.option(
    "--keep-duplicates",
    is_flag=True,
    help="Upload files the workspace already has as new files too (by default they are skipped).",
)
@api_options
def file_upload(client: Client, settings, paths, project_id, wait, timeout, as_json, keep_duplicates) -> None:
    """Upload files into a project.

    Each file can be up to the API's upload limit (100 MiB by default). Photos over the images service's limits
    (10 MB, 12,000 px, 100 megapixels) and TIFF, BMP, JPEG XL or CMYK files are scaled to fit it; the original
    is kept as uploaded. Each file is hashed here first and a file the workspace already has (the same bytes, in
    any project) is skipped without being sent; the last line says how many were skipped."""
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
                known = None if keep_duplicates else client.known_file(source)
                if known is not None:
                    bar.update(source.stat().st_size)
                    uploaded.append((source, {**known, "duplicateOf": known["id"]}))
                    continue
                duplicates = "allow" if keep_duplicates else None
                uploaded.append((source, client.upload_file(source, project_id, bar.update, duplicates=duplicates)))
            except ApiError as exc:
                if exc.status is None or isinstance(exc, AuthError):
                    raise  # every other file would fail the same way
                uploaded.append((source, exc))
    codes, skipped = report_uploads(client, uploaded, wait, timeout, as_json)
    if skipped and not as_json:
        click.echo(f"skipped {skipped} file{'s' if skipped != 1 else ''} already in the library", err=True)
    sys.exit(worst_of(codes))


def report_uploads(client: Client, uploaded: list, wait: bool, timeout: float, as_json: bool) -> tuple[set, int]:
    """One line (or JSON object) per file: uploaded, skipped as already in the library, or failed; with `wait`,
    followed until its image is ready or failed. Returns the exit codes met and how many were skipped."""
    codes = set()
    skipped = 0
    for source, file in uploaded:
        if isinstance(file, ApiError):
            click.echo(f"error: {source}: {file}", err=True)
            codes.add(exit_code_for(file))
            continue
        result = {"path": str(source), "file": file, "image": None}
        if file.get("duplicateOf"):
            skipped += 1
            result["skipped"] = True
            if as_json:
                click.echo(json.dumps(result))
            else:
                click.echo(f"{source}: already in the library as {file['id']} ({file['name']}); skipped")
            continue
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
    return codes, skipped


@file_group.command("import")
@click.argument("urls", nargs=-1, required=True)
@click.option(
    "--project",
    "project_id",
    envvar="AEONTEL_PROJECT",
    metavar="ID",
    help="The project to import into [env AEONTEL_PROJECT; default from `aeontel login --project`].",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per URL.")
@api_options
def file_import(client: Client, settings, urls, project_id, as_json) -> None:
    """Import files from URLs: the server fetches each one (public addresses only, within the upload limit) and
    stores it like an upload. A URL it cannot take is reported with the reason, and the others are still imported."""
    project_id = project_id or settings.project_id
    if not project_id:
        fail("say which project with --project, AEONTEL_PROJECT or `aeontel login --project`", EXIT_USAGE)
    codes = set()
    for url in urls:
        try:
            file = client.import_url(url, project_id)
        except ApiError as exc:
            if exc.status is None or isinstance(exc, AuthError):
                raise  # every other URL would fail the same way
            click.echo(f"error: {url}: {exc}", err=True)
            codes.add(exit_code_for(exc))
            continue
        click.echo(json.dumps({"url": url, "file": file}) if as_json else upload_line(url, file, None, False))
    sys.exit(worst_of(codes))


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
@click.option("--workspace", "workspace_id", metavar="ID", help="Only this workspace (a token sees only its own).")
@click.option("--project", "project_id", metavar="ID", help="Only this project's trash.")
@click.option(
    "--query", "-q", "q", metavar="TEXT", help="Only files whose name (or alt text) contains TEXT, any case or accents."
)
@click.option(
    "--is-image/--not-image", "is_image", default=None, help="Only image files / only files that are no image."
)
@list_options
@api_options
def trash_list(client: Client, settings, workspace_id, project_id, q, limit, cursor, all_pages, as_json, **filters):
    """List the files in the trash with the time each is kept until, newest first (or as --sort says)."""
    show_list(
        client.list_trash,
        client.iter_trash,
        trash_table,
        "files in the trash",
        as_json,
        all_pages,
        workspace_id,
        project_id,
        q,
        limit,
        cursor,
        empty="the trash is empty",
        **filters,
    )


def trash_table(items: list[dict]) -> str:
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
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows)


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


def upload_line(source: Path | str, file: dict, found: dict | None, waited: bool) -> str:
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
