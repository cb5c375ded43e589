"""`aeontel image …`: list, get, update and delete images through the API."""

from __future__ import annotations

import functools

import click

from app.cli.remote.collections import organise_filters, register_tag
from app.cli.remote.common import (
    EXIT_USAGE,
    NAME_COLUMNS,
    api_options,
    delete_many,
    fact_options,
    fail,
    human_size,
    human_time,
    list_options,
    print_json,
    query_options,
    show_list,
)
from app.cli.remote.text import table
from app.client import Client


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


def crop_text(crop: dict) -> str:
    """`x,y,w,h (stored|focal point) URL`, or `auto (saliency) URL`: the rect `image crop --rect` takes."""
    rect = crop.get("rect")
    where = "auto (saliency)" if rect is None else f"{rect['x']},{rect['y']},{rect['width']},{rect['height']}"
    how = "" if rect is None else (" (focal point)" if crop.get("auto") else " (stored)")
    return f"{where}{how} {crop.get('url') or '(private: no flexible URL)'}"


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
        ("tags", ", ".join(image.get("tags") or [])),
        ("collections", ", ".join(image.get("collections") or [])),
    ]
    lines += [(f"crop {name}", crop_text(crop)) for name, crop in (image.get("crops") or {}).items()]
    return "\n".join(f"{key}: {value if value not in (None, '') else '-'}" for key, value in lines)


@click.group()
def image() -> None:
    """Images: list, inspect and delete them through the API (uploading a file with an image type makes one)."""


@image.command("list")
@click.option("--workspace", "workspace_id", metavar="ID", help="Only this workspace (a token sees only its own).")
@click.option("--project", "project_id", metavar="ID", help="Only images in this project.")
@click.option(
    "--query", "-q", "q", metavar="TEXT", help="Only images whose name or alt text contains TEXT (any case, accents)."
)
@fact_options
@organise_filters
@list_options
@api_options
def image_list(
    client: Client,
    settings,
    workspace_id,
    project_id,
    q,
    limit,
    cursor,
    all_pages,
    as_json,
    **filters,
) -> None:
    """List images, newest first (or as --sort says); filters combine with AND."""
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


def facets_text(answer: dict) -> str:
    """Per facet its values with counts, `Canon EOS R5 (1,204)`; `about` when the counts are estimates."""
    about = "" if answer.get("exact") else "about "
    lines = [f"{answer['total']:,} images" + ("" if answer.get("exact") else " (counts estimated)")]
    for name, values in answer["facets"].items():
        shown = ", ".join(f"{value['value']} ({about}{value['count']:,})" for value in values) or "-"
        lines.append(f"{name}: {shown}")
    return "\n".join(lines)


@image.command("facets")
@click.option("--workspace", "workspace_id", metavar="ID", help="Only this workspace (a token sees only its own).")
@click.option("--project", "project_id", metavar="ID", help="Only images in this project.")
@click.option("--query", "-q", "q", metavar="TEXT", help="Only images whose name or alt text contains TEXT.")
@fact_options
@organise_filters
@query_options
@click.option("--json", "as_json", is_flag=True, help="Print the API's facets JSON.")
@api_options
def image_facets(client: Client, settings, workspace_id, project_id, q, as_json, **filters) -> None:
    """Each facet's top values with counts among the images the filters match: `camera: Canon EOS R5 (1,204)`.

    Takes the filters of `image list` (--sort too, so a list's options can be passed as they are; it changes no
    count)."""
    answer = client.image_facets(workspace_id, project_id, q, **filters)
    if as_json:
        print_json(answer)
    else:
        click.echo(facets_text(answer))


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


@image.command("crop")
@click.argument("file_id")
@click.argument("preset")
@click.option("--rect", metavar="X,Y,W,H", help="The crop in the image's displayed pixels, of the preset's ratio.")
@click.option("--auto", "automatic", is_flag=True, help="Clear the stored crop (focal point, else saliency).")
@click.option("--json", "as_json", is_flag=True, help="Print the Image JSON.")
@api_options
def image_crop(client: Client, settings, file_id, preset, rect, automatic, as_json) -> None:
    """Set an image's crop for a workspace preset (hero, card, social …), or reset it to automatic."""
    if (rect is None) == (not automatic):
        fail("give --rect X,Y,W,H or --auto", EXIT_USAGE)
    value = None
    if rect is not None:
        parts = rect.split(",")
        if len(parts) != 4 or not all(part.strip().isdigit() for part in parts):
            fail("--rect is X,Y,W,H in whole pixels, e.g. 0,120,1600,900", EXIT_USAGE)
        value = dict(zip(("x", "y", "width", "height"), (int(part) for part in parts)))
    updated = client.update_image(file_id, crops={preset: value})
    if as_json:
        print_json(updated)
    else:
        click.echo(image_details(updated))


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


register_tag(image)
