"""The official cloudflare SDK, pointed at the stand-in, is the judge of API compatibility."""

from __future__ import annotations

import json
import uuid
from datetime import datetime

import cloudflare
import pytest
import requests
from imagesd_support import ACCOUNT_HASH, ACCOUNT_ID, SIGNING_KEY, Route, corpus_bytes, decode, jpeg_bytes, png_bytes


def test_create_by_file_returns_the_image_object(cf, standin):
    image = cf.images.v1.create(
        account_id=ACCOUNT_ID,
        file=("gps_DSCN0010.jpg", corpus_bytes("gps_DSCN0010.jpg"), "image/jpeg"),
        metadata=json.dumps({"file_id": "f_123", "workspace": "acme"}),
        require_signed_urls=False,
        creator="editor-1",
    )
    uuid.UUID(image.id)
    assert image.filename == "gps_DSCN0010.jpg"
    assert image.meta == {"file_id": "f_123", "workspace": "acme"}
    assert image.creator == "editor-1"
    assert image.require_signed_urls is False
    assert isinstance(image.uploaded, datetime) and image.uploaded.tzinfo is not None
    assert f"{standin.url}/{ACCOUNT_HASH}/{image.id}/public" in image.variants
    assert f"{standin.url}/{ACCOUNT_HASH}/{image.id}/thumbnail" in image.variants

    raw = requests.get(f"{standin.api}/v1/{image.id}", headers=standin.auth, timeout=10).json()
    assert raw["success"] is True and raw["errors"] == [] and raw["messages"] == []
    assert raw["result"]["metadata"] == raw["result"]["meta"]
    assert raw["result"]["draft"] is False


def test_create_by_url_sends_the_presigned_query_unchanged(cf, origin):
    query = (
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20250101%2Fauto%2Fs3%2Faws4_request"
        "&X-Amz-Date=20250101T000000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Signature=ab%7Ecd"
    )
    url = origin.add(
        "/bucket/ws1/photo.jpg", Route(body=corpus_bytes("Canon_40D.jpg"), headers={"Content-Type": "image/jpeg"})
    )
    image = cf.images.v1.create(account_id=ACCOUNT_ID, url=f"{url}?{query}")
    assert f"/bucket/ws1/photo.jpg?{query}" in origin.seen
    assert image.filename == "photo.jpg"
    fetched = cf.images.v1.get(image.id, account_id=ACCOUNT_ID)
    assert fetched.id == image.id and fetched.variants == image.variants


def test_get_and_delete(cf, standin):
    image = cf.images.v1.create(account_id=ACCOUNT_ID, file=("a.png", png_bytes(), "image/png"))
    assert cf.images.v1.get(image.id, account_id=ACCOUNT_ID).filename == "a.png"
    cf.images.v1.delete(image.id, account_id=ACCOUNT_ID)
    with pytest.raises(cloudflare.NotFoundError) as caught:
        cf.images.v1.get(image.id, account_id=ACCOUNT_ID)
    assert caught.value.status_code == 404
    assert caught.value.body["errors"][0]["code"] == 5404
    assert requests.get(standin.delivery(image.id, "public"), timeout=10).status_code == 404


def test_blob_returns_the_original_bytes(cf):
    original = corpus_bytes("Nikon_D70.jpg")
    image = cf.images.v1.create(account_id=ACCOUNT_ID, file=("n.jpg", original, "image/jpeg"))
    assert cf.images.v1.blobs.get(image.id, account_id=ACCOUNT_ID).read() == original


def test_edit_changes_metadata_and_privacy(cf):
    image = cf.images.v1.create(account_id=ACCOUNT_ID, file=("e.png", png_bytes(), "image/png"))
    edited = cf.images.v1.edit(
        image.id, account_id=ACCOUNT_ID, metadata={"alt": "a red square"}, require_signed_urls=True
    )
    assert edited.meta == {"alt": "a red square"}
    assert edited.require_signed_urls is True
    assert cf.images.v1.get(image.id, account_id=ACCOUNT_ID).require_signed_urls is True


def test_custom_id_with_slashes_and_conflict(cf, standin):
    custom = f"workspaces/acme/{uuid.uuid4().hex}"
    image = cf.images.v1.create(account_id=ACCOUNT_ID, id=custom, file=("c.jpg", jpeg_bytes(), "image/jpeg"))
    assert image.id == custom
    assert f"{standin.url}/{ACCOUNT_HASH}/{custom}/public" in image.variants
    # SDK 5.x percent-encodes path parameters itself, so the id goes in as it is and travels as %2F.
    assert cf.images.v1.get(custom, account_id=ACCOUNT_ID).id == custom
    assert requests.get(standin.delivery(custom, "w=10"), timeout=10).status_code == 200
    with pytest.raises(cloudflare.ConflictError) as caught:
        cf.images.v1.create(account_id=ACCOUNT_ID, id=custom, file=("c.jpg", jpeg_bytes(), "image/jpeg"))
    assert caught.value.body["errors"][0]["code"] == 5409
    assert custom in caught.value.body["errors"][0]["message"]


def test_v2_list_pages_with_continuation_token(cf):
    creator = f"lister-{uuid.uuid4().hex[:8]}"
    made = [
        cf.images.v1.create(
            account_id=ACCOUNT_ID, file=(f"{i}.png", png_bytes((8, 8), (i, i, i)), "image/png"), creator=creator
        ).id
        for i in range(12)
    ]
    first = cf.images.v2.list(account_id=ACCOUNT_ID, per_page=10, creator=creator, sort_order="asc")
    assert [image.id for image in first.images] == made[:10]
    assert first.continuation_token
    second = cf.images.v2.list(
        account_id=ACCOUNT_ID,
        per_page=10,
        creator=creator,
        sort_order="asc",
        continuation_token=first.continuation_token,
    )
    assert [image.id for image in second.images] == made[10:]
    assert second.continuation_token is None
    newest = cf.images.v2.list(account_id=ACCOUNT_ID, per_page=10, creator=creator)
    assert [image.id for image in newest.images] == made[::-1][:10]


def test_v1_list_is_paged(standin, cf):
    creator = f"v1-{uuid.uuid4().hex[:8]}"
    for i in range(11):
        cf.images.v1.create(account_id=ACCOUNT_ID, file=(f"{i}.png", png_bytes((4, 4)), "image/png"), creator=creator)
    page = requests.get(
        f"{standin.api}/v1", params={"page": 2, "per_page": 10, "creator": creator}, headers=standin.auth, timeout=10
    )
    body = page.json()
    assert page.status_code == 200 and len(body["result"]["images"]) == 1
    assert body["result_info"]["page"] == 2 and body["result_info"]["per_page"] == 10


def test_variants_create_and_list(cf, standin):
    name = f"hero{uuid.uuid4().hex[:6]}"
    created = cf.images.v1.variants.create(
        account_id=ACCOUNT_ID,
        id=name,
        options={"fit": "cover", "width": 120, "height": 80, "metadata": "none"},
        never_require_signed_urls=True,
    )
    assert created.variant.id == name
    assert created.variant.options.width == 120 and created.variant.options.fit == "cover"
    assert created.variant.never_require_signed_urls is True
    try:
        listed = requests.get(f"{standin.api}/v1/variants", headers=standin.auth, timeout=10).json()["result"][
            "variants"
        ]
        assert {"public", "thumbnail", name} <= set(listed)
        # The SDK reads the same list: every variant by name, with the options it was made with.
        through_sdk = cf.images.v1.variants.list(account_id=ACCOUNT_ID).to_dict()["variants"]
        assert set(through_sdk) == set(listed)
        assert through_sdk[name] == {
            "id": name,
            "options": {"fit": "cover", "width": 120, "height": 80, "metadata": "none"},
            "neverRequireSignedURLs": True,
        }
        got = cf.images.v1.variants.get(name, account_id=ACCOUNT_ID)
        assert got.variant.options.height == 80

        image = cf.images.v1.create(
            account_id=ACCOUNT_ID, file=("v.jpg", corpus_bytes("mobile_jolla.jpg"), "image/jpeg")
        )
        assert f"{standin.url}/{ACCOUNT_HASH}/{image.id}/{name}" in image.variants
        response = requests.get(standin.delivery(image.id, name), headers={"Accept": "image/jpeg"}, timeout=30)
        assert decode(response.content).size == (120, 80)

        edited = cf.images.v1.variants.edit(
            name, account_id=ACCOUNT_ID, options={"fit": "scale-down", "width": 60, "height": 60, "metadata": "none"}
        )
        assert edited.variant.options.fit == "scale-down"
        assert decode(requests.get(standin.delivery(image.id, name), timeout=30).content).size == (60, 45)
    finally:
        cf.images.v1.variants.delete(name, account_id=ACCOUNT_ID)
    with pytest.raises(cloudflare.NotFoundError):
        cf.images.v1.variants.get(name, account_id=ACCOUNT_ID)


def test_public_variant_cannot_be_deleted(cf):
    with pytest.raises(cloudflare.BadRequestError) as caught:
        cf.images.v1.variants.delete("public", account_id=ACCOUNT_ID)
    assert "cannot be deleted" in caught.value.body["errors"][0]["message"]
    assert cf.images.v1.variants.get("public", account_id=ACCOUNT_ID).variant.id == "public"


def test_duplicate_variant_is_a_conflict(cf):
    with pytest.raises(cloudflare.ConflictError):
        cf.images.v1.variants.create(
            account_id=ACCOUNT_ID, id="thumbnail", options={"fit": "cover", "width": 1, "height": 1, "metadata": "none"}
        )


def test_keys_list_update_delete(cf):
    keys = cf.images.v1.keys.list(account_id=ACCOUNT_ID).keys
    assert [(key.name, key.value) for key in keys] == [("default", SIGNING_KEY)]
    updated = cf.images.v1.keys.update("rotation", account_id=ACCOUNT_ID).keys
    values = {key.name: key.value for key in updated}
    assert set(values) == {"default", "rotation"} and len(values["rotation"]) >= 32
    remaining = cf.images.v1.keys.delete("rotation", account_id=ACCOUNT_ID).keys
    assert [key.name for key in remaining] == ["default"]
