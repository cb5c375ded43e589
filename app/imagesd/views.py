"""What the API and delivery blueprints share: the per-app context, the envelope and the image object."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from urllib.parse import quote

from flask import current_app, jsonify

from .settings import ImagesdSettings
from .store import Draft, Store, StoredImage


@dataclass
class Imagesd:
    settings: ImagesdSettings
    store: Store
    has_faults: bool

    def new_id(self) -> str:
        return str(uuid.uuid4())

    def delivery_base(self, image_id: str) -> str:
        return f"{self.settings.public_url}/{self.settings.account_hash}/{quote(image_id, safe='/')}"


def imagesd() -> Imagesd:
    return current_app.extensions["imagesd"]


def envelope(result, status: int = 200, result_info: dict | None = None):
    body = {"success": True, "errors": [], "messages": [], "result": result}
    if result_info is not None:
        body["result_info"] = result_info
    return jsonify(body), status


def error_envelope(status: int, code: int, message: str, headers: dict | None = None):
    body = {"success": False, "errors": [{"code": code, "message": message}], "messages": [], "result": None}
    response = jsonify(body)
    response.status_code = status
    response.headers.update(headers or {})
    return response


def image_json(image: StoredImage, variant_names: list[str] | None = None) -> dict:
    ctx = imagesd()
    base = ctx.delivery_base(image.id)
    if variant_names is None:
        variant_names = [variant.id for variant in ctx.store.variants()]
    return {
        "id": image.id,
        "filename": image.filename,
        "meta": image.meta,
        "metadata": image.meta,
        "creator": image.creator,
        "uploaded": image.uploaded,
        "requireSignedURLs": image.require_signed,
        "variants": [f"{base}/{name}" for name in variant_names],
        "draft": False,
    }


def draft_json(draft: Draft) -> dict:
    """A direct upload not yet made, as `GET v1/<id>` shows it on Cloudflare: the image object with `draft: true`."""
    base = imagesd().delivery_base(draft.id)
    return {
        "id": draft.id,
        "filename": None,
        "meta": draft.meta,
        "metadata": draft.meta,
        "creator": draft.creator,
        "uploaded": draft.created,
        "requireSignedURLs": draft.require_signed,
        "variants": [f"{base}/{variant.id}" for variant in imagesd().store.variants()],
        "draft": True,
    }
