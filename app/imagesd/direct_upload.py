"""Direct creator upload, as Cloudflare documents it: `POST v2/direct_upload` reserves an id and answers a one-time
`uploadURL`; a browser then POSTs the multipart `file` there without credentials. Until then the image is a draft
(`GET v1/<id>` shows `draft: true`, lists leave it out), and the URL stops working at its expiry."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from flask import Blueprint, request

from .api import api, batch, bool_field, check_custom_id, metadata_field, original_record, read_file
from .errors import ApiError, bad_request
from .store import Draft, IdTaken, utc_now_iso
from .views import envelope, image_json, imagesd

# Cloudflare: expiry at least 2 minutes and at most 6 hours ahead, 30 minutes when not given.
MIN_EXPIRY = timedelta(minutes=2)
MAX_EXPIRY = timedelta(hours=6)
DEFAULT_EXPIRY = timedelta(minutes=30)

upload_host = Blueprint("images_upload", __name__, url_prefix="/upload")


def _expiry(raw: str | None, now: datetime) -> datetime:
    """The documented window: now + 2 min to now + 6 h, ISO-8601; 30 minutes when the field is absent."""
    if not raw:
        return now + DEFAULT_EXPIRY
    try:
        when = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise bad_request(f"expiry must be an ISO-8601 date and time, not {raw!r}.") from None
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    if not now + MIN_EXPIRY <= when <= now + MAX_EXPIRY:
        raise bad_request("expiry must be between 2 minutes and 6 hours from now.")
    return when


def upload_url(image_id: str) -> str:
    settings = imagesd().settings
    return f"{settings.public_url}/upload/{settings.account_hash}/{quote(image_id, safe='/')}"


def create_direct_upload():
    """`POST v2/direct_upload` (multipart fields id, metadata, requireSignedURLs, expiry, creator) → {id, uploadURL}."""
    ctx = imagesd()
    form = request.form
    dotted = sorted(name for name in form if name.startswith(("metadata.", "metadata[")))
    if dotted:
        raise bad_request(f"metadata must be one JSON text field, not separate fields ({dotted[0]}).")
    if request.files:
        raise bad_request("v2/direct_upload takes no file: POST the file to the uploadURL it answers.")
    custom_id = form.get("id") or None
    if custom_id is not None:
        check_custom_id(custom_id)
    require_signed = bool_field("requireSignedURLs", form.get("requireSignedURLs"))
    if custom_id and require_signed:
        raise bad_request("Images with a custom id cannot require signed URLs.")
    now = datetime.now(UTC)
    draft = Draft(
        id=custom_id or ctx.new_id(),
        meta=metadata_field(form["metadata"]) if form.get("metadata") else {},
        creator=form.get("creator") or None,
        require_signed=require_signed,
        custom_id=bool(custom_id),
        created=utc_now_iso(),
        expires=_expiry(form.get("expiry"), now).timestamp(),
    )
    try:
        ctx.store.insert_draft(draft, now.timestamp())
    except IdTaken:
        raise ApiError(409, 5409, f"An image with the id {draft.id!r} already exists.") from None
    return envelope({"id": draft.id, "uploadURL": upload_url(draft.id)})


api.add_url_rule("/v2/direct_upload", view_func=create_direct_upload, methods=["POST"])
batch.add_url_rule("/v2/direct_upload", view_func=create_direct_upload, methods=["POST"])


@upload_host.post("/<account_hash>/<path:image_id>")
def upload_to_draft(account_hash: str, image_id: str):
    """The one-time upload: no credentials, the multipart `file`, accepted while the draft is live."""
    ctx = imagesd()
    draft = ctx.store.get_draft(image_id, time.time()) if account_hash == ctx.settings.account_hash else None
    if draft is None:
        raise ApiError(404, 5404, "This upload URL is unknown, already used or expired; ask for a new one.")
    upload = request.files.get("file")
    if upload is None:
        raise bad_request("Send the image as a multipart file part named file.")
    data = read_file(upload, ctx.settings.max_upload_bytes)
    record, path = original_record(
        data,
        upload.filename or None,
        image_id=draft.id,
        custom_id=draft.custom_id,
        meta=draft.meta,
        creator=draft.creator,
        require_signed=draft.require_signed,
    )
    stored = ctx.store.complete_draft(record, time.time())
    if stored is None:
        path.unlink(missing_ok=True)
        raise ApiError(404, 5404, "This upload URL is unknown, already used or expired; ask for a new one.")
    return envelope(image_json(stored))
