"""Direct creator upload as Cloudflare documents it, driven by the official SDK and a plain HTTP upload to the URL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import cloudflare
import pytest
import requests
from imagesd_support import ACCOUNT_ID, decode, jpeg_bytes, png_bytes

from app.imagesd.store import Draft, Store, StoredImage


def listed_ids(cf) -> set[str]:
    return {image.id for image in cf.images.v2.list(account_id=ACCOUNT_ID, per_page=10_000).images}


def test_a_direct_upload_is_a_draft_until_the_file_is_posted_to_its_url(standin, cf):
    created = cf.images.v2.direct_uploads.create(
        account_id=ACCOUNT_ID,
        creator="user-7",
        require_signed_urls=False,
        expiry=datetime.now(UTC) + timedelta(hours=1),
    )
    assert created.id and created.upload_url == f"{standin.url}/upload/test-hash/{created.id}"
    draft = cf.images.v1.get(created.id, account_id=ACCOUNT_ID)
    assert draft.to_dict()["draft"] is True and draft.creator == "user-7"
    assert created.id not in listed_ids(cf), "drafts are not listed"
    assert requests.get(standin.delivery(created.id, "public"), timeout=10).status_code == 404

    # The browser's upload: multipart `file`, no credentials at all.
    uploaded = requests.post(created.upload_url, files={"file": ("cat.png", png_bytes((40, 30)))}, timeout=30)
    assert uploaded.status_code == 200, uploaded.text
    assert uploaded.json()["result"]["id"] == created.id and uploaded.json()["result"]["draft"] is False

    image = cf.images.v1.get(created.id, account_id=ACCOUNT_ID)
    assert image.to_dict()["draft"] is False and image.filename == "cat.png" and image.creator == "user-7"
    assert created.id in listed_ids(cf)
    delivered = requests.get(standin.delivery(created.id, "public"), timeout=30)
    assert delivered.status_code == 200 and decode(delivered.content).size == (40, 30)

    again = requests.post(created.upload_url, files={"file": ("dog.png", png_bytes())}, timeout=30)
    assert again.status_code == 404 and again.json()["errors"][0]["code"] == 5404, "an upload URL works once"


def test_a_direct_upload_with_a_custom_id_metadata_and_the_batch_host(standin, cf):
    answer = requests.post(
        f"{standin.api}/v2/direct_upload",
        headers=standin.auth,
        files={"id": (None, "direct/custom-1"), "metadata": (None, json.dumps({"fileId": "fil_1"}))},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    upload_url = answer.json()["result"]["uploadURL"]
    assert upload_url.endswith("/upload/test-hash/direct/custom-1")
    taken = standin.upload(jpeg_bytes(), id="direct/custom-1")
    assert taken.status_code == 409, "a pending draft holds its id"
    with pytest.raises(cloudflare.ConflictError):
        cf.images.v2.direct_uploads.create(account_id=ACCOUNT_ID, id="direct/custom-1")
    assert requests.post(upload_url, files={"file": ("a.jpg", jpeg_bytes())}, timeout=30).status_code == 200
    assert cf.images.v1.get("direct/custom-1", account_id=ACCOUNT_ID).meta == {"fileId": "fil_1"}

    token = requests.get(f"{standin.api}/v1/batch_token", headers=standin.auth, timeout=10).json()["result"]["token"]
    batch = requests.post(
        f"{standin.url}/batch/images/v2/direct_upload", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert batch.status_code == 200 and batch.json()["result"]["uploadURL"].startswith(f"{standin.url}/upload/")


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"expiry": lambda now: (now + timedelta(minutes=1)).isoformat()}, "between 2 minutes and 6 hours"),
        ({"expiry": lambda now: (now + timedelta(hours=7)).isoformat()}, "between 2 minutes and 6 hours"),
        ({"expiry": lambda now: "tomorrow"}, "ISO-8601"),
        ({"id": lambda now: "x", "requireSignedURLs": lambda now: "true"}, "custom id"),
    ],
)
def test_direct_upload_refuses_what_the_docs_do_not_allow(standin, fields, message):
    now = datetime.now(UTC)
    answer = requests.post(
        f"{standin.api}/v2/direct_upload",
        headers=standin.auth,
        files={name: (None, value(now)) for name, value in fields.items()},
        timeout=10,
    )
    assert answer.status_code == 400 and message in answer.json()["errors"][0]["message"]


def test_unknown_upload_urls_and_missing_files_are_refused(standin, cf):
    unknown = requests.post(f"{standin.url}/upload/test-hash/nope", files={"file": ("a.png", png_bytes())}, timeout=10)
    assert unknown.status_code == 404 and unknown.json()["errors"][0]["code"] == 5404
    created = cf.images.v2.direct_uploads.create(account_id=ACCOUNT_ID)
    empty = requests.post(created.upload_url, data={"x": "y"}, timeout=10)
    assert empty.status_code == 400 and "file" in empty.json()["errors"][0]["message"]
    broken = requests.post(created.upload_url, files={"file": ("a.png", b"not an image")}, timeout=10)
    assert broken.status_code == 415
    cf.images.v1.delete(created.id, account_id=ACCOUNT_ID)
    with pytest.raises(cloudflare.NotFoundError):
        cf.images.v1.get(created.id, account_id=ACCOUNT_ID)


def test_an_expired_draft_is_gone_and_its_url_makes_no_image(tmp_path):
    """Expiry with the clock passed in (the documented minimum is two minutes, too long to wait for)."""
    store = Store(tmp_path)
    store.initialize()
    now = 1_800_000_000.0
    store.insert_draft(Draft("late", {}, None, False, False, "2027-01-15T08:00:00.000Z", now + 120), now)
    assert store.get_draft("late", now + 119) is not None
    assert store.get_draft("late", now + 120) is None
    image = StoredImage(0, "late", "a.png", {}, None, False, False, "x", "png", 1, 1, 1, 1, False, "0" * 64, "b.png")
    assert store.complete_draft(image, now + 121) is None
    assert store.get_image("late") is None
    # The id is free again once its draft has expired.
    store.insert_draft(Draft("late", {}, None, False, False, "2027-01-15T08:05:00.000Z", now + 400), now + 200)
    assert store.complete_draft(image, now + 201).id == "late"
