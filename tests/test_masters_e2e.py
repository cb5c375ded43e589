"""Originals the images service would not take become images through a master that fits; the originals stay."""

import io

import pytest
import requests
from imagesd_support import ACCOUNT_ID, TOKEN
from PIL import Image as PILImage

from app.domain.files import File
from app.domain.images import Image
from app.extensions import db
from tests import masters_support as make
from tests.factories import upload_over_http as upload

LIMIT_BYTES, LIMIT_SIDE, LIMIT_PIXELS = 10 * 1024 * 1024, 12_000, 100_000_000

INPUTS = {
    "panorama.jpg": make.panorama_jpeg,
    "heavy.jpg": make.heavy_jpeg,
    "huge.png": make.huge_png,
    "scan.tif": make.two_page_tiff,
    "logo.bmp": make.bmp,
    "print.jpg": lambda: make.cmyk_jpeg(make.cmyk_profile()),
    "cutout.png": make.alpha_png,
    "photo.jxl": lambda: make.encode(PILImage.new("RGB", (320, 200), (20, 90, 200)), "JXL"),
    # Issue 20: formats and modes that failed or stayed plain files; AVIF is never sent as it is.
    "layers.psd": lambda: make.psd(make.picture()),
    "scan16.tif": lambda: make.encode(make.sixteen_bit("I;16B"), "TIFF"),
    "tiny.jpg": lambda: make.encode(PILImage.new("CMYK", (3, 5), (0, 200, 0, 0)), "JPEG"),
    "photo.avif": lambda: make.encode(make.picture(), "AVIF"),
    "moving.avif": make.animated_avif,
    "big.tif": make.bigtiff,
    "photo.j2k": make.j2k_codestream,
}


@pytest.fixture
def big_uploads(app, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_UPLOAD_BYTES", 100 * 1024 * 1024)
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 101 * 1024 * 1024)
    # Building a master of 11 MB of noise takes seconds on a busy machine; the tests' 3-second lease would time the
    # job out (its RQ timeout is twice the lease). Production's lease is 45 s.
    monkeypatch.setitem(app.config, "PROVISION_LEASE_SECONDS", 60)


def stored_copy(images_service, cf_image_id: str) -> bytes:
    """The bytes the images service keeps for this image: what it was sent."""
    response = requests.get(
        f"{images_service.url}/client/v4/accounts/{ACCOUNT_ID}/images/v1/{cf_image_id}/blob",
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.content


def test_every_original_over_a_limit_or_in_a_refused_format_becomes_an_image(
    app, tenant, live_server, run_jobs, images_service, big_uploads
):
    originals = {name: build() for name, build in INPUTS.items()}
    ids = {name: upload(live_server, tenant, data, name) for name, data in originals.items()}
    run_jobs(30)
    for name, file_id in ids.items():
        with app.app_context():
            file, image = db.session.get(File, file_id), db.session.get(Image, file_id)
            assert image is not None, f"{name}: {file.status} {file.error_code} {file.error_message}"
            cf_image_id = image.cf_image_id
        body = requests.get(f"{live_server.url}/api/images/{file_id}", headers=tenant.auth("read"), timeout=30).json()
        assert body["source"] == "master", name
        assert body["original"]["size"] == len(originals[name])
        sent = stored_copy(images_service, cf_image_id)
        assert len(sent) <= LIMIT_BYTES and len(sent) == body["master"]["size"], name
        with PILImage.open(io.BytesIO(sent)) as master:
            assert master.format in ("JPEG", "PNG", "WEBP"), name
            assert max(master.size) <= LIMIT_SIDE and master.width * master.height <= LIMIT_PIXELS, name
            assert (
                master.size == (body["master"]["width"], body["master"]["height"]) == (body["width"], body["height"])
            ), name
        content = requests.get(
            f"{live_server.url}/api/files/{file_id}/content", headers=tenant.auth("read"), timeout=60
        )
        assert content.status_code == 200 and content.content == originals[name], f"{name}: the original changed"
    assert body_of(live_server, tenant, ids["scan.tif"])["master"]["width"] == 640  # the first page of the TIFF
    cutout = body_of(live_server, tenant, ids["cutout.png"])
    assert cutout["master"]["format"] in ("png", "webp")  # transparency kept
    panorama = body_of(live_server, tenant, ids["panorama.jpg"])
    assert (panorama["width"], panorama["original"]["width"]) == (12_000, 13_000)
    assert panorama["height"] == 2000 * 12_000 // 13_000  # scaled only as far as the limit requires


def test_cmyk_print_jpeg_is_converted_through_its_profile(app, tenant, live_server, run_jobs, images_service):
    file_id = upload(live_server, tenant, make.cmyk_jpeg(make.cmyk_profile()), "print.jpg")
    run_jobs(10)
    with app.app_context():
        image = db.session.get(Image, file_id)
        assert image is not None and image.source == "master"
        sent = stored_copy(images_service, image.cf_image_id)
    with PILImage.open(io.BytesIO(sent)) as master:
        assert master.mode == "RGB"
        red, green, blue = master.convert("RGB").getpixel((200, 150))
        # The profile maps cyan ink to a clear blue-green; a naive inversion without it would be (0, 255, 255).
        assert red < 80 and green > 120 and blue > 150 and (red, green, blue) != (0, 255, 255)


def body_of(server, tenant, file_id: str) -> dict:
    return requests.get(f"{server.url}/api/images/{file_id}", headers=tenant.auth("read"), timeout=30).json()


def test_a_jpeg_whose_data_ends_early_fails_as_damaged_without_retry(app, tenant, live_server, run_jobs):
    file_id = upload(live_server, tenant, make.lying_jpeg(), "lying.jpg")
    run_jobs(10)
    body = requests.get(f"{live_server.url}/api/files/{file_id}", headers=tenant.auth("read"), timeout=30).json()
    assert body["status"] == "error"
    assert body["error"]["code"] == "image_damaged" and "damaged" in body["error"]["message"]
    assert body["error"]["retryable"] is False
    with app.app_context():
        assert db.session.get(Image, file_id) is None


def test_the_master_is_no_orphan_to_doctor_and_goes_with_its_file(app, tenant, live_server, run_jobs):
    from pathlib import Path

    from app.domain import doctor

    file_id = upload(live_server, tenant, make.bmp(), "logo.bmp")
    run_jobs(10)
    root = Path(app.config["STORAGE_ROOT"]) / tenant.workspace_id
    assert (root / f"{file_id}.master").is_file() and (root / file_id).is_file()
    with app.app_context():
        assert [f for f in doctor.run().findings if f.kind == "orphan_object"] == []
    deleted = requests.delete(
        f"{live_server.url}/api/files/{file_id}?permanent=true", headers=tenant.auth(), timeout=30
    )
    assert deleted.status_code in (200, 204), deleted.text
    run_jobs(10)
    assert not (root / f"{file_id}.master").exists() and not (root / file_id).exists()
