"""The subset of the Cloudflare Images API the product uses, under /client/v4/accounts/<account_id>/images."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote

from flask import Blueprint, Response, g, request

from . import fetch as fetcher
from .errors import ApiError, bad_request, not_found
from .options import validate_variant_options
from .probe import MIME_TYPES, probe
from .settings import AVIF_MAX_SIDE
from .store import IdTaken, StoredImage, StoredVariant, atomic_write, utc_now_iso
from .views import draft_json, envelope, image_json, imagesd

api = Blueprint("images_api", __name__, url_prefix="/client/v4/accounts/<account_id>/images")

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
VARIANT_NAME = re.compile(r"^[A-Za-z0-9]{1,99}$")
KEY_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_METADATA_BYTES = 1024
MAX_VARIANTS = 100


batch = Blueprint("images_batch", __name__, url_prefix="/batch/images")

# The calls the fault switch fails: the image calls provisioning makes, not the account setup (variants, keys, config,
# batch tokens), so a test's fault plan is spent by the product's uploads and not by the setup that precedes them.
IMAGE_ENDPOINTS = frozenset(
    {
        "create_image",
        "list_images_v1",
        "list_images_v2",
        "get_image",
        "edit_image",
        "delete_image",
        "image_blob",
    }
)


def _inject_fault() -> None:
    ctx = imagesd()
    if not ctx.has_faults or (request.endpoint or "").rpartition(".")[2] not in IMAGE_ENDPOINTS:
        return
    status = ctx.store.take_fault()
    if status is not None:
        code = 5429 if status == 429 else 5503
        reason = "Too many requests" if status == 429 else "Service temporarily unavailable"
        raise ApiError(
            status,
            code,
            f"{reason} (injected by IMAGESD_FAULTS); retry after {ctx.settings.fault_retry_after} s.",
            headers={"Retry-After": str(ctx.settings.fault_retry_after)},
        )


def _credential() -> str:
    """Who is calling: the bearer token, or the legacy X-Auth-Email + X-Auth-Key pair; raise 401 otherwise."""
    settings = imagesd().settings
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), settings.api_token.encode()):
        return "token:" + hashlib.sha256(token.strip().encode()).hexdigest()[:16]
    email, key = request.headers.get("X-Auth-Email"), request.headers.get("X-Auth-Key")
    if email is not None and key is not None:
        if hmac.compare_digest(
            email.strip().lower().encode(), settings.api_email.lower().encode()
        ) and hmac.compare_digest(key.strip().encode(), settings.api_key.encode()):
            return "key:" + email.strip().lower()
        raise ApiError(401, 10000, "Authentication error: X-Auth-Email and X-Auth-Key do not match.")
    raise ApiError(401, 10000, "Authentication error: send Authorization: Bearer <API token>.")


def _spend_rate_limit(credential: str) -> None:
    rule = imagesd().settings.rate_limit_rule
    if rule is None:
        return
    limit, window, block = rule
    allowed, remaining, reset = imagesd().store.spend(credential, limit, window, block, time.time())
    g.rate_headers = {
        "Ratelimit": f'"default";r={remaining};t={math.ceil(reset)}',
        "Ratelimit-Policy": f'"default";q={limit};w={int(window)}',
    }
    if not allowed:
        raise ApiError(
            429,
            971,
            f"More than {limit} requests per {int(window)} seconds reached. Please wait and "
            "consider throttling your request speed.",
            headers={"Retry-After": str(math.ceil(reset)), **g.rate_headers},
        )


@api.before_request
def check_request() -> Response | None:
    credential = _credential()
    account_id = g.get("account_id")
    if account_id != imagesd().settings.account_id:
        raise ApiError(404, 5404, f"Account {account_id} not found.")
    _spend_rate_limit(credential)
    _inject_fault()
    return None


@api.after_request
@batch.after_request
def rate_headers(response: Response) -> Response:
    response.headers.update(g.get("rate_headers") or {})
    return response


@batch.before_request
def check_batch_request() -> Response | None:
    """The batch host takes only batch tokens, and their requests do not count against the global limit."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not _valid_batch_token(token.strip()):
        raise ApiError(
            401, 10000, "Authentication error: send Authorization: Bearer <batch token from v1/batch_token>."
        )
    _inject_fault()
    return None


@api.url_value_preprocessor
def take_account(_endpoint, values) -> None:
    g.account_id = (values or {}).pop("account_id", None)
    _decode_image_id(values)


@batch.url_value_preprocessor
def take_image_id(_endpoint, values) -> None:
    _decode_image_id(values)


def _decode_image_id(values) -> None:
    """The raw-path middleware leaves an encoded `/` (%2F) encoded so it routes as part of the id; decode it here."""
    if values and "image_id" in values and request.environ.get("imagesd.raw_path"):
        values["image_id"] = unquote(values["image_id"])


def _batch_signature(expires: int) -> str:
    settings = imagesd().settings
    message = f"batch|{settings.account_id}|{expires}".encode()
    return hmac.new(settings.api_token.encode(), message, hashlib.sha256).hexdigest()


def _valid_batch_token(token: str) -> bool:
    expires, _, signature = token.partition(".")
    if not expires.isdigit() or int(expires) < time.time():
        return False
    return hmac.compare_digest(signature.encode(), _batch_signature(int(expires)).encode())


@api.get("/v1/batch_token")
def batch_token():
    expires = int(time.time()) + imagesd().settings.batch_token_ttl
    expires_at = datetime.fromtimestamp(expires, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return envelope({"token": f"{expires}.{_batch_signature(expires)}", "expiresAt": expires_at})


def bool_field(name: str, raw: str | None) -> bool:
    if raw is None or raw == "":
        return False
    value = raw.strip().lower()
    if value not in {"true", "false"}:
        raise bad_request(f"{name} must be true or false, not {raw!r}.")
    return value == "true"


def metadata_field(value: object) -> dict:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise bad_request(f"metadata must be JSON text ({exc.msg} at character {exc.pos}).") from None
    if not isinstance(value, dict):
        raise bad_request("metadata must be a JSON object of keys and values.")
    size = len(json.dumps(value, separators=(",", ":")).encode())
    if size > MAX_METADATA_BYTES:
        raise bad_request(f"metadata is {size} bytes; the limit is {MAX_METADATA_BYTES} bytes.")
    return value


def check_custom_id(value: str) -> str:
    if len(value) > 1024:
        raise bad_request(f"The custom id is {len(value)} characters long; the limit is 1024.")
    if value.startswith("/") or value.endswith("/"):
        raise bad_request("A custom id cannot start or end with '/'.")
    if UUID.match(value):
        raise bad_request("A custom id cannot be a UUID; Images reserves those for the ids it generates.")
    if any(ord(char) < 32 or ord(char) == 127 for char in value):
        raise bad_request("A custom id cannot contain control characters.")
    return value


def read_file(storage, max_bytes: int) -> bytes:
    data = storage.stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise fetcher.too_large(len(data), max_bytes, at_least=True)
    return data


@api.post("/v1")
def create_image():
    ctx = imagesd()
    settings = ctx.settings
    form, files = request.form, request.files
    dotted = sorted(name for name in list(form) + list(files) if name.startswith(("metadata.", "metadata[")))
    if dotted:
        raise bad_request(f"metadata must be one JSON text field, not separate fields ({dotted[0]}).")
    upload, url = files.get("file"), form.get("url")
    if upload is None and "file" in form:
        raise bad_request("file must be sent as a file part of the multipart body.")
    if upload is not None and url:
        raise bad_request("Send either a file or a url, not both.")
    if upload is None and not url:
        raise bad_request("Send the image as a multipart file part named file, or a url field.")
    custom_id = form.get("id") or None
    if custom_id is not None:
        check_custom_id(custom_id)
    metadata = metadata_field(form["metadata"]) if form.get("metadata") else {}
    require_signed = bool_field("requireSignedURLs", form.get("requireSignedURLs"))
    if custom_id and require_signed:
        raise bad_request("Images with a custom id cannot require signed URLs.")
    if custom_id and (ctx.store.get_image(custom_id) or ctx.store.get_draft(custom_id, time.time())):
        raise ApiError(409, 5409, f"An image with the id {custom_id!r} already exists.")
    if upload is not None:
        data, filename = read_file(upload, settings.max_upload_bytes), upload.filename or None
    else:
        fetched = fetcher.fetch(
            url,
            max_bytes=settings.max_upload_bytes,
            connect_timeout=settings.fetch_connect_timeout,
            read_timeout=settings.fetch_read_timeout,
            total_timeout=settings.fetch_total_timeout,
        )
        data, filename = fetched.data, fetched.filename
    record, path = original_record(
        data,
        filename,
        image_id=custom_id or ctx.new_id(),
        custom_id=bool(custom_id),
        meta=metadata,
        creator=form.get("creator") or None,
        require_signed=require_signed,
    )
    try:
        stored = ctx.store.insert_image(record)
    except IdTaken:
        path.unlink(missing_ok=True)
        raise ApiError(409, 5409, f"An image with the id {record.id!r} already exists.") from None
    return envelope(image_json(stored))


def _check_avif(width: int, height: int, avif_uploads: str) -> None:
    """No kinder than the documentation: AVIF is an upload format on Enterprise only, capped at 1,200 px there."""
    if avif_uploads != "enterprise":
        raise ApiError(
            415,
            5415,
            "AVIF uploads need a Cloudflare Enterprise plan (IMAGESD_AVIF_UPLOADS=enterprise on the stand-in); "
            "upload PNG, GIF, JPEG, WebP, SVG or HEIC.",
        )
    if max(width, height) > AVIF_MAX_SIDE:
        raise ApiError(
            422,
            5422,
            f"The AVIF image is {max(width, height)} px on its longest side; a hosted AVIF is limited to "
            f"{AVIF_MAX_SIDE} px.",
        )


def original_record(data: bytes, filename: str | None, **fields) -> tuple[StoredImage, Path]:
    """Check the bytes (probe raises the documented refusals), write them as an original, and describe the image."""
    ctx = imagesd()
    found = probe(data)
    if found.kind == "avif":
        _check_avif(found.width, found.height, ctx.settings.avif_uploads)
    blob, path = ctx.store.new_blob_path(found.kind)
    atomic_write(path, data)
    record = StoredImage(
        seq=0,
        id=fields["image_id"],
        filename=filename,
        meta=fields["meta"],
        creator=fields["creator"],
        require_signed=fields["require_signed"],
        custom_id=fields["custom_id"],
        uploaded=utc_now_iso(),
        kind=found.kind,
        size=len(data),
        width=found.width,
        height=found.height,
        frames=found.frames,
        alpha=found.alpha,
        sha256=hashlib.sha256(data).hexdigest(),
        blob=blob,
    )
    return record, path


def _image_or_404(image_id: str) -> StoredImage:
    image = imagesd().store.get_image(image_id)
    if image is None:
        raise not_found(f"Image {image_id} not found.")
    return image


def _per_page(default: int) -> int:
    raw = request.args.get("per_page")
    if raw is None or raw == "":
        return default
    try:
        value = int(float(raw))
    except ValueError:
        raise bad_request(f"per_page must be a number, not {raw!r}.") from None
    if not 10 <= value <= 10_000:
        raise bad_request(f"per_page must be between 10 and 10000, not {value}.")
    return value


def _variant_names() -> list[str]:
    return [variant.id for variant in imagesd().store.variants()]


def _creator() -> str | None:
    return request.args.get("creator") if "creator" in request.args else None


@api.get("/v1")
def list_images_v1():
    try:
        page = int(float(request.args.get("page") or 1))
    except ValueError:
        raise bad_request(f"page must be a number, not {request.args.get('page')!r}.") from None
    if page < 1:
        raise bad_request("page must be 1 or more.")
    per_page = _per_page(1000)
    images = imagesd().store.list_images(creator=_creator(), limit=per_page, offset=(page - 1) * per_page)
    result_info = {
        "page": page,
        "per_page": per_page,
        "count": len(images),
        "total_count": imagesd().store.count_images(),
    }
    names = _variant_names()
    return envelope({"images": [image_json(image, names) for image in images]}, result_info=result_info)


V2_PARAMETERS = frozenset({"per_page", "sort_order", "continuation_token", "creator"})


@api.get("/v2")
def list_images_v2():
    unknown = sorted(set(request.args) - V2_PARAMETERS)
    if unknown:
        raise bad_request(
            f"The stand-in does not implement the v2 list parameter {unknown[0]!r} (it knows "
            f"{', '.join(sorted(V2_PARAMETERS))}); it refuses it instead of returning every image."
        )
    per_page = _per_page(1000)
    sort_order = request.args.get("sort_order") or "desc"
    if sort_order not in {"asc", "desc"}:
        raise bad_request(f"sort_order must be asc or desc, not {sort_order!r}.")
    after = None
    token = request.args.get("continuation_token")
    if token:
        try:
            after = int(base64.urlsafe_b64decode(token.encode() + b"==").decode())
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise bad_request("continuation_token is not one this server issued.") from None
    images = imagesd().store.list_images(
        creator=_creator(), after_seq=after, descending=sort_order == "desc", limit=per_page + 1
    )
    more = len(images) > per_page
    images = images[:per_page]
    next_token = base64.urlsafe_b64encode(str(images[-1].seq).encode()).decode().rstrip("=") if more else None
    names = _variant_names()
    return envelope({"images": [image_json(image, names) for image in images], "continuation_token": next_token})


@api.get("/v1/<path:image_id>")
def get_image(image_id: str):
    draft = imagesd().store.get_draft(image_id, time.time())
    if draft is not None:
        return envelope(draft_json(draft))
    return envelope(image_json(_image_or_404(image_id)))


@api.patch("/v1/<path:image_id>")
def edit_image(image_id: str):
    image = _image_or_404(image_id)
    body = _json_body()
    changes: dict = {}
    if "metadata" in body:
        changes["meta"] = metadata_field(body["metadata"])
    if "requireSignedURLs" in body:
        if not isinstance(body["requireSignedURLs"], bool):
            raise bad_request("requireSignedURLs must be true or false.")
        if body["requireSignedURLs"] and image.custom_id:
            raise bad_request("Images with a custom id cannot require signed URLs.")
        changes["require_signed"] = body["requireSignedURLs"]
    if "creator" in body:
        if not isinstance(body["creator"], str):
            raise bad_request("creator must be a string.")
        changes["creator"] = body["creator"]
    updated = imagesd().store.update_image(image_id, **changes)
    if updated is None:
        raise not_found(f"Image {image_id} not found.")
    return envelope(image_json(updated))


@api.delete("/v1/<path:image_id>")
def delete_image(image_id: str):
    if not imagesd().store.delete_image(image_id) and not imagesd().store.delete_draft(image_id):
        raise not_found(f"Image {image_id} not found.")
    return envelope({})


@api.get("/v1/<path:image_id>/blob")
def image_blob(image_id: str):
    image = _image_or_404(image_id)
    data = imagesd().store.blob_path(image.blob).read_bytes()
    return Response(data, mimetype=MIME_TYPES[image.kind])


@api.get("/v1/stats")
def stats():
    return envelope({"count": {"allowed": 100_000, "current": imagesd().store.count_images()}})


def _json_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    return body


def _variant_json(variant: StoredVariant) -> dict:
    return {"id": variant.id, "options": variant.options, "neverRequireSignedURLs": variant.never_require_signed}


def _never_require(body: dict, default: bool) -> bool:
    value = body.get("neverRequireSignedURLs", default)
    if not isinstance(value, bool):
        raise bad_request("neverRequireSignedURLs must be true or false.")
    return value


@api.post("/v1/variants")
def create_variant():
    body = _json_body()
    name = body.get("id")
    if not isinstance(name, str) or not VARIANT_NAME.match(name):
        raise bad_request("A variant id must be 1 to 99 letters or digits.")
    store = imagesd().store
    if len(store.variants()) >= MAX_VARIANTS:
        raise bad_request(f"An account can have at most {MAX_VARIANTS} variants.")
    variant = StoredVariant(name, validate_variant_options(body.get("options")), _never_require(body, False))
    if not store.insert_variant(variant):
        raise ApiError(409, 5409, f"A variant named {name!r} already exists.")
    return envelope({"variant": _variant_json(variant)})


@api.get("/v1/variants")
def list_variants():
    return envelope({"variants": {variant.id: _variant_json(variant) for variant in imagesd().store.variants()}})


def _variant_or_404(name: str) -> StoredVariant:
    variant = imagesd().store.get_variant(name)
    if variant is None:
        raise not_found(f"Variant {name} not found.")
    return variant


@api.get("/v1/variants/<name>")
def get_variant(name: str):
    return envelope({"variant": _variant_json(_variant_or_404(name))})


@api.patch("/v1/variants/<name>")
def edit_variant(name: str):
    current = _variant_or_404(name)
    body = _json_body()
    options = validate_variant_options(body["options"]) if "options" in body else current.options
    variant = StoredVariant(name, options, _never_require(body, current.never_require_signed))
    imagesd().store.update_variant(variant)
    return envelope({"variant": _variant_json(variant)})


@api.delete("/v1/variants/<name>")
def delete_variant(name: str):
    if name == "public":
        raise bad_request("The public variant always exists and cannot be deleted.")
    if not imagesd().store.delete_variant(name):
        raise not_found(f"Variant {name} not found.")
    return envelope({})


def _keys_json() -> dict:
    return {"keys": [{"name": name, "value": value} for name, value in imagesd().store.keys()]}  # noqa: SIM118


@api.get("/v1/keys")
def list_keys():
    return envelope(_keys_json())


@api.put("/v1/keys/<name>")
def put_key(name: str):
    if not KEY_NAME.match(name):
        raise bad_request("A key name must be 1 to 64 letters, digits, '-' or '_'.")
    imagesd().store.put_key(name)
    return envelope(_keys_json())


@api.delete("/v1/keys/<name>")
def delete_key(name: str):
    if not imagesd().store.delete_key(name):
        raise not_found(f"Signing key {name} not found.")
    return envelope(_keys_json())


@api.get("/v1/config")
def get_config():
    return envelope(imagesd().store.config())


@api.patch("/v1/config")
def edit_config():
    body = _json_body()
    changes = {}
    if "flexible_variants" in body:
        if not isinstance(body["flexible_variants"], bool):
            raise bad_request("flexible_variants must be true or false.")
        changes["flexible_variants"] = body["flexible_variants"]
    if "browser_ttl" in body:
        ttl = body["browser_ttl"]
        if isinstance(ttl, bool) or not isinstance(ttl, int) or not 3600 <= ttl <= 31_536_000:
            raise bad_request("browser_ttl must be a whole number of seconds between 3600 and 31536000.")
        changes["browser_ttl"] = ttl
    if not changes:
        raise bad_request("Send flexible_variants or browser_ttl.")
    return envelope(imagesd().store.set_config(changes))


for rule, view, methods in [
    ("/v1", create_image, ["POST"]),
    ("/v2", list_images_v2, ["GET"]),
    ("/v1/<path:image_id>", get_image, ["GET"]),
    ("/v1/<path:image_id>", edit_image, ["PATCH"]),
    ("/v1/<path:image_id>", delete_image, ["DELETE"]),
]:
    batch.add_url_rule(rule, endpoint=view.__name__, view_func=view, methods=methods)
