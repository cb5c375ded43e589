"""Delivery URLs: /<account_hash>/<image_id>/<variant or options>, rendered once and then served from the disk cache."""

from __future__ import annotations

import hashlib
import time
from urllib.parse import quote

from flask import Blueprint, Response, jsonify, request

from app.delivery_signing import verify_signed_path

from . import render, svg
from .errors import ApiError, DeliveryError
from .options import Transform, from_variant, parse_flexible
from .store import StoredImage, atomic_write
from .views import imagesd

delivery = Blueprint("images_delivery", __name__)

EXTENSIONS = {"jpeg": "jpg", "png": "png", "gif": "gif", "webp": "webp", "avif": "avif", "svg": "svg"}
SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"


def _raw_target() -> tuple[str, str]:
    """The path and query exactly as the client sent them, which is what a signature covers."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if raw:
        path, _, query = raw.partition("?")
        return path, query
    return quote(request.environ.get("PATH_INFO", "")), request.environ.get("QUERY_STRING", "")


def _check_signature(image: StoredImage, exempt: bool) -> int | None:
    """Return the seconds the signed URL stays valid, None when the image is public; raise 403 when it fails."""
    if not image.require_signed or exempt:
        return None
    path, query = _raw_target()
    keys = [value for _name, value in imagesd().store.keys()]  # noqa: SIM118 - the signing keys
    problem = verify_signed_path(path, query, keys)
    if problem:
        raise DeliveryError(403, 9425, problem)
    return max(0, int(request.args.get("exp", "0")) - int(time.time()))


def _resolve(image: StoredImage, variant: str, config: dict) -> tuple[Transform, bool, int | None]:
    """Turn the last URL segment into a transform, whether it skips signing, and its browser TTL if it sets one."""
    ctx = imagesd()
    if "=" in variant:
        if not config.get("flexible_variants", False):
            raise DeliveryError(403, 9429, "Flexible variants are turned off for this account.")
        if image.require_signed:
            raise DeliveryError(403, 9429, "Flexible variants cannot be used with images that require signed URLs.")
        return parse_flexible(variant), False, None
    named = ctx.store.get_variant(variant)
    if named is None:
        raise DeliveryError(404, 9404, f"Variant {variant} not found.")
    return from_variant(named.options), named.never_require_signed, named.options.get("browser_ttl")


def _etag_matches(etag: str) -> bool:
    header = request.headers.get("If-None-Match", "")
    candidates = [item.strip().removeprefix("W/") for item in header.split(",")]
    return "*" in candidates or etag in candidates


@delivery.get("/<account_hash>/<path:image_id>/<variant>")
def deliver(account_hash: str, image_id: str, variant: str):
    ctx = imagesd()
    if account_hash == "client" and image_id.startswith("v4/"):
        raise ApiError(404, 5404, "No such API route.")
    if account_hash != ctx.settings.account_hash:
        raise DeliveryError(404, 9404, f"Account hash {account_hash} not found.")
    image = ctx.store.get_image(image_id)
    if image is None:
        raise DeliveryError(404, 9404, f"Image {image_id} not found.")
    config = ctx.store.config()
    transform, exempt, variant_ttl = _resolve(image, variant, config)
    signed_for = _check_signature(image, exempt)

    size = render.output_size(image.width, image.height, transform, image.frames)
    accept = request.headers.get("Accept", "")
    fmt = render.choose_format(image.kind, image.alpha, image.frames > 1, transform, accept, size)
    if fmt == "json":
        return jsonify(
            {
                "width": size[0],
                "height": size[1],
                "original": {
                    "file_size": image.size,
                    "width": image.width,
                    "height": image.height,
                    "format": render.MIME["svg"] if image.kind == "svg" else f"image/{image.kind}",
                },
            }
        )

    key = hashlib.sha256(f"{image.sha256}|{transform.cache_text()}|{fmt}".encode()).hexdigest()[:32]
    etag = f'"{key}"'
    headers = {"ETag": etag, "Cache-Control": _cache_control(variant_ttl or config.get("browser_ttl"), signed_for)}
    if transform.format == "auto" and image.kind != "svg":
        headers["Vary"] = "Accept"
    if fmt == "svg":
        headers["Content-Security-Policy"] = SVG_POLICY
        headers["X-Content-Type-Options"] = "nosniff"
    if _etag_matches(etag):
        return Response(status=304, headers=headers)

    if not ctx.settings.derivative_cache:
        data = _render(image, transform, fmt)
        return Response(data, mimetype=render.MIME[fmt], headers=headers)
    path = ctx.store.cache_dir(image.blob) / f"{key}.{EXTENSIONS[fmt]}"
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        data = _render(image, transform, fmt)
        atomic_write(path, data)
    return Response(data, mimetype=render.MIME[fmt], headers=headers)


def _render(image: StoredImage, transform: Transform, fmt: str) -> bytes:
    try:
        original = imagesd().store.blob_path(image.blob).read_bytes()
    except FileNotFoundError:
        raise DeliveryError(404, 9404, f"Image {image.id} not found.") from None
    if fmt == "svg":
        try:
            return svg.sanitize(original)
        except svg.SvgError as exc:
            raise DeliveryError(415, 9520, str(exc)) from None
    try:
        return render.render(original, transform, fmt)
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise DeliveryError(415, 9520, f"The image could not be processed ({exc}).") from None


def _cache_control(ttl: int | None, signed_for: int | None) -> str:
    ttl = ttl or imagesd().settings.browser_ttl
    if signed_for is not None:
        return f"private, max-age={min(ttl, signed_for)}"
    return f"public, max-age={ttl}, stale-while-revalidate=7200"
