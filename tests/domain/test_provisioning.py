"""Uploads become images: the job against the stand-in over HTTP, a real Redis queue, the real corpus."""

import io
import struct
import time

import pytest
import requests
from imagesd_support import jpeg_bytes
from PIL import Image as PILImage
from sqlalchemy import event as sa_event
from sqlalchemy import func, select

from app.domain import image_edits, images, services
from app.domain.events import Event
from app.domain.files import File
from app.domain.images import Image, Provisioning
from app.extensions import db
from tests.factories import upload_over_http
from tests.services import deadline_for, wait_until


@pytest.fixture
def client(live_server):
    """Uploads go over real HTTP (Werkzeug's test client leaks the temp files of big bodies)."""
    return live_server


def upload(server, tenant, data: bytes, name: str):
    return upload_over_http(server, tenant, data, name, content_type="image/jpeg")


@pytest.fixture
def provisioned(client, tenant, run_jobs, app, live_server, corpus):
    """Uploads corpus files and works the queues; returns a lookup of what became of each."""

    def run(*names: str) -> dict:
        ids = {name: upload(client, tenant, (corpus / name).read_bytes(), name) for name in names}
        run_jobs()
        with app.app_context():
            return {
                name: (db.session.get(Image, file_id), db.session.get(File, file_id)) for name, file_id in ids.items()
            }

    return run


def dispatch_file_ready(file_id: str) -> None:
    """Runs the `file.ready` handlers only, so the provisioning row exists but its job has not run."""
    from app.domain.events import dispatch

    dispatch(db.session.scalar(select(Event.id).where(Event.subject_id == file_id, Event.type == "file.ready")))


def standin_images(app, creator: str) -> list[dict]:
    with app.app_context():
        return services.images().list(creator=creator)["images"]


def event_types(app, subject_id: str) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(Event.type).where(Event.subject_id == subject_id).order_by(Event.id)))


def test_a_photo_becomes_an_image_with_its_copy_exif_and_placeholder(provisioned, app, images_service):
    image, file = provisioned("Canon_40D.jpg")["Canon_40D.jpg"]
    assert image is not None and file.status == "ready"
    assert (image.width, image.height, image.size, image.format) == (100, 68, file.size, "jpeg")
    assert image.exif["Make"] == "Canon" and image.exif["Model"] == "Canon EOS 40D"
    assert len(image.placeholder) >= 20 and image.dominant_color.startswith("#") and len(image.dominant_color) == 7
    assert image.cf_image_id == file.id and image.workspace_id == file.workspace_id
    copies = standin_images(app, file.id)
    assert [c["id"] for c in copies] == [file.id]
    assert copies[0]["meta"] == {"fileId": file.id, "workspaceId": file.workspace_id}
    assert event_types(app, file.id) == ["file.ready", "image.provision_requested", "image.created"]
    with app.app_context():
        url = images.delivery_url(image)
    assert url == f"{images_service.url}/{images_service.delivery('', '').split('/')[3]}/{file.id}/public"
    delivered = requests.get(url, headers={"Accept": "image/jpeg"}, timeout=10)
    assert delivered.status_code == 200
    assert PILImage.open(io.BytesIO(delivered.content)).size == (100, 68)


def test_orientation_swaps_dimensions_and_gps_stays_private(provisioned):
    results = provisioned(
        "orientation_portrait_6.jpg", "orientation_portrait_8.jpg", "orientation_landscape_1.jpg", "gps_DSCN0010.jpg"
    )
    assert (results["orientation_portrait_6.jpg"][0].width, results["orientation_portrait_6.jpg"][0].height) == (
        450,
        600,
    )
    assert (results["orientation_portrait_8.jpg"][0].width, results["orientation_portrait_8.jpg"][0].height) == (
        450,
        600,
    )
    assert (results["orientation_landscape_1.jpg"][0].width, results["orientation_landscape_1.jpg"][0].height) == (
        600,
        450,
    )
    gps = results["gps_DSCN0010.jpg"][0]
    assert gps.exif["Make"] == "NIKON" and not any(key.startswith("GPS") for key in gps.exif)


def test_gps_is_kept_only_when_the_workspace_asks(client, tenant, run_jobs, app, live_server, corpus):
    from app.domain.accounts import Workspace

    with app.app_context():
        db.session.get(Workspace, tenant.workspace_id).settings = {"keep_gps": True}
        db.session.commit()
    file_id = upload(client, tenant, (corpus / "gps_DSCN0010.jpg").read_bytes(), "gps.jpg")
    run_jobs()
    with app.app_context():
        gps = db.session.get(Image, file_id).exif["GPSInfo"]
    assert gps["GPSLatitudeRef"] == "N" and len(gps["GPSLatitude"]) == 3


def test_heic_and_damaged_but_decodable_files_become_images(provisioned):
    results = provisioned("heic_IMG_5195.HEIC", "heic_samplefilehub.heif", "corrupted.jpg", "invalid_image01137.jpg")
    heic, heic_file = results["heic_IMG_5195.HEIC"]
    assert heic_file.mime_type == "image/heic" and (heic.width, heic.height) == (2566, 3313) and heic.format == "heif"
    assert results["heic_samplefilehub.heif"][0].width == 640
    # Both still decode (their damage is in data or EXIF blocks readers survive), so the product takes them whole.
    for name, size in (("corrupted.jpg", (3648, 2736)), ("invalid_image01137.jpg", (88, 64))):
        image, file = results[name]
        assert (file.status, file.error_code) == ("ready", None), (name, file.error_message)
        assert (image.width, image.height, image.format) == (*size, "jpeg"), name


def test_a_text_file_named_like_a_photo_is_never_provisioned(client, tenant, run_jobs, app):
    file_id = upload(client, tenant, b"this is a text file\n" * 10, "photo.jpg")
    run_jobs()
    with app.app_context():
        assert db.session.get(File, file_id).mime_type == "text/plain"
        assert db.session.get(Provisioning, file_id) is None and db.session.get(Image, file_id) is None
    assert event_types(app, file_id) == ["file.ready"]


def jpeg_bomb_with_a_late_header(width: int, height: int) -> bytes:
    """A JPEG whose frame header (claiming width × height) comes after 80 KB of application segments: beyond the
    first 64 KB the upload reads, so it is stored, and the worker is the one to refuse it."""
    data = bytearray(jpeg_bytes((8, 8)))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    padding = b"".join(b"\xff\xe2" + struct.pack(">H", 40_002) + b"\0" * 40_000 for _ in range(2))
    return bytes(data[:2]) + padding + bytes(data[2:])


def test_a_pixel_bomb_fails_fast_with_a_reason(client, tenant, run_jobs, app, live_server):
    # A bomb whose header is in its first 64 KB never gets here: tests/api/test_upload_refusal.py.
    bomb = jpeg_bomb_with_a_late_header(50_000, 50_000)
    file_id = upload(client, tenant, bomb, "bomb.jpg")
    started = time.monotonic()
    run_jobs()
    assert time.monotonic() - started < 10
    with app.app_context():
        file = db.session.get(File, file_id)
        assert file.status == "error" and file.error_code == "image_too_large"
        assert file.error_message == (
            "The image has 2,500 megapixels (50,000×50,000); the limit for processing is 178 megapixels."
        )
        assert db.session.get(Image, file_id) is None
        failed = db.session.scalar(
            select(Event).where(Event.subject_id == file_id, Event.type == "image.provision_failed")
        )
        assert failed.payload["code"] == "image_too_large"
    assert standin_images(app, file_id) == []


def test_running_the_job_again_or_after_a_lost_answer_makes_one_copy(
    client, tenant, run_jobs, app, live_server, corpus
):
    file_id = upload(client, tenant, (corpus / "Nikon_D70.jpg").read_bytes(), "nikon.jpg")
    with app.app_context():
        # The images service stored a copy but its answer never came back: the copy exists, the row does not.
        url = app.extensions["storage"].signed_url(f"{tenant.workspace_id}/{file_id}", 300)
        services.images().upload_url(url, image_id=file_id, creator=file_id)
    run_jobs()
    with app.app_context():
        assert images.provision(file_id) == "not-due"
        db.session.get(Provisioning, file_id).state = "queued"
        db.session.commit()
        assert images.provision(file_id) == "exists"
        assert db.session.scalar(select(func.count()).select_from(Image).where(Image.file_id == file_id)) == 1
    assert [c["id"] for c in standin_images(app, file_id)] == [file_id]


def test_private_images_stay_exactly_once_through_creator(client, tenant, run_jobs, app, live_server, corpus):
    from app.domain.accounts import Workspace

    with app.app_context():
        db.session.get(Workspace, tenant.workspace_id).settings = {"private_images": True}
        db.session.commit()
    file_id = upload(client, tenant, (corpus / "Nikon_D70.jpg").read_bytes(), "nikon.jpg")
    with app.app_context():
        dispatch_file_ready(file_id)
        url = app.extensions["storage"].signed_url(f"{tenant.workspace_id}/{file_id}", 300)
        lost = services.images().upload_url(url, require_signed_urls=True, creator=file_id)
        row = db.session.get(Provisioning, file_id)
        row.attempts = 1  # as if the first attempt died after the upload
        db.session.commit()
    run_jobs()
    with app.app_context():
        image = db.session.get(Image, file_id)
        assert image.cf_image_id == lost["id"] and image.require_signed_urls
        public = services.images().delivery_url(image.cf_image_id)
        signed = images.delivery_url(image)
    assert [c["id"] for c in standin_images(app, file_id)] == [lost["id"]]
    assert requests.get(public, timeout=10).status_code == 403
    assert "sig=" in signed and requests.get(signed, timeout=10).status_code == 200


def test_a_service_outage_retries_then_succeeds(client, tenant, run_jobs, app, make_app, live_server, corpus):
    from tests.services import free_port

    down = make_app(images_api_base=f"http://127.0.0.1:{free_port()}/client/v4")
    file_id = upload(client, tenant, (corpus / "Nikon_D70.jpg").read_bytes(), "nikon.jpg")
    run_jobs()  # dispatches the events, enqueues the job
    with down.app_context():
        assert images.provision(file_id) == "not-due"  # the normal job already ran it on the working service
    # Run a second file's job against the unreachable service, then bring the service back.
    second = upload(client, tenant, (corpus / "Canon_40D.jpg").read_bytes(), "canon.jpg")
    from app.adapters.queue import BurstWorker

    with down.app_context():
        connection = down.extensions["queue"].connection
        BurstWorker(["events", "images"], connection=connection).work(burst=True)
        row = db.session.get(Provisioning, second)
        assert row.state == "waiting" and row.attempts == 1 and "could not be reached" in row.last_error
        assert db.session.get(Image, second) is None
    with app.app_context():

        def provisioned() -> bool:
            images.reconcile()  # the worker's maintenance loop: re-enqueues the provisioning that is due
            run_jobs()
            db.session.expire_all()
            return db.session.get(Image, second) is not None

        deadline = deadline_for(down.config, failures=1)
        wait_until(provisioned, deadline, "the second file to be provisioned once the service is back", interval=0.3)
        assert db.session.get(Provisioning, second).attempts == 2


def test_delete_cascades_into_the_file_the_copy_and_the_bytes(client, tenant, run_jobs, app, live_server, corpus):
    file_id = upload(client, tenant, (corpus / "Canon_40D.jpg").read_bytes(), "canon.jpg")
    run_jobs()
    with app.app_context():
        image_edits.delete_image(tenant.workspace_id, file_id, permanent=True)
        assert db.session.get(Image, file_id) is None and db.session.get(File, file_id) is None
        assert db.session.get(Provisioning, file_id) is None
        with pytest.raises(images.NotFound):
            image_edits.delete_image(tenant.workspace_id, file_id, permanent=True)
    run_jobs()
    assert standin_images(app, file_id) == []
    with app.app_context():
        assert not app.extensions["storage"].exists(f"{tenant.workspace_id}/{file_id}")
    assert event_types(app, file_id)[-2:] == ["image.deleted", "file.deleted"]


def test_a_delete_during_provisioning_leaves_no_orphan_copy(client, tenant, run_jobs, app, live_server, corpus):
    """The real job runs; the editor's delete lands right after it recorded its copy (the commit hook interleaves
    the two at that exact point), so the job's own image row can no longer be written."""
    from app.domain import files

    file_id = upload(client, tenant, (corpus / "Canon_40D.jpg").read_bytes(), "canon.jpg")
    recorded_copies: list[str] = []

    def delete_once_the_copy_is_recorded(_session) -> None:
        if recorded_copies:
            return
        with app.app_context():  # the editor's own session and transaction
            row = db.session.get(Provisioning, file_id)
            if row is not None and row.cf_image_id is not None:
                recorded_copies.append(row.cf_image_id)
                files.delete_file(tenant.workspace_id, file_id)
            db.session.remove()

    with app.app_context():
        dispatch_file_ready(file_id)
        session = db.session()
        sa_event.listen(session, "after_commit", delete_once_the_copy_is_recorded)
        try:
            assert images.provision(file_id) == "deleted-meanwhile"
        finally:
            sa_event.remove(session, "after_commit", delete_once_the_copy_is_recorded)
        assert recorded_copies == [file_id]
        assert db.session.get(Image, file_id) is None and db.session.get(File, file_id) is None
    run_jobs()
    assert standin_images(app, file_id) == []
