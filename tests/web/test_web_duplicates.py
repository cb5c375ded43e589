"""Issue 23 in the gallery: an upload of bytes the library has answers the existing tile (or says where it is), the
details page lists similar images, and the Duplicates page lists groups where an editor keeps one (Undo offered)."""

from __future__ import annotations

import io
import re

from gallery_web_support import upload_over_http
from PIL import Image as PILImage
from PIL import ImageOps
from sqlalchemy import func, select

from app.domain.files import File
from app.extensions import db


def count_files(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(File).where(File.deleted_at.is_(None)))


def upload(member, name, data, duplicates="reuse"):
    """As the page's script posts: "reuse" unless the editor chose Keep both ("allow")."""
    return member.client.post(
        member.gallery_url + "/files",
        data={"file": (io.BytesIO(data), name), "duplicates": duplicates},
        headers=member.htmx(),
        content_type="multipart/form-data",
    )


def copy_of(data: bytes) -> bytes:
    picture = ImageOps.exif_transpose(PILImage.open(io.BytesIO(data))).convert("RGB")
    out = io.BytesIO()
    picture.resize((picture.width // 2, picture.height // 2)).save(out, "JPEG", quality=70)
    return out.getvalue()


def test_a_known_upload_answers_the_existing_tile_unless_both_are_kept(app, editor):
    data = b"gallery bytes " + b"x" * 64
    first = upload(editor, "notes.txt", data)
    assert first.status_code == 201
    first_id = re.search(r'id="tile-(fil_[0-9a-z]+)"', first.text).group(1)
    before = count_files(app)
    again = upload(editor, "notes again.txt", data)
    assert again.status_code == 201 and f'id="tile-{first_id}"' in again.text and "<html" not in again.text
    assert count_files(app) == before
    both = upload(editor, "notes again.txt", data, duplicates="allow")
    assert both.status_code == 201 and f'id="tile-{first_id}"' not in both.text
    assert count_files(app) == before + 1
    plain = editor.client.post(
        editor.gallery_url + "/files",
        data={"file": (io.BytesIO(data), "third.txt"), "csrf_token": editor.csrf, "duplicates": "reuse"},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "already in the library" in plain.text and count_files(app) == before + 1


def test_details_list_similar_images_and_the_duplicates_page_merges(app, editor, live_server, tenant, run_jobs, corpus):
    original = (corpus / "gps_DSCN0010.jpg").read_bytes()
    keep = upload_over_http(live_server, tenant, original, "harbour.jpg")
    other = upload_over_http(live_server, tenant, copy_of(original), "harbour-small.jpg")
    run_jobs()
    details = editor.client.get(f"{editor.gallery_url}/files/{keep}/details")
    assert details.status_code == 200 and f'id="similar-{keep}"' in details.text
    assert f'data-file-id="{other}"' in details.text
    fragment = editor.client.get(f"{editor.gallery_url}/files/{keep}/details", headers=editor.htmx())
    assert "<html" not in fragment.text and f'id="similar-{keep}"' in fragment.text

    url = editor.gallery_url.replace("/content", "/duplicates")
    page = editor.client.get(url)
    assert page.status_code == 200 and "<html" in page.text and 'id="duplicate-groups"' in page.text
    assert f'id="group-{keep}"' in page.text and f'value="{other}"' in page.text
    groups = editor.client.get(url, headers=editor.htmx())
    assert "<html" not in groups.text and 'id="duplicate-groups"' in groups.text
    merged = editor.client.post(
        url + "/merge",
        data={"keep": keep, "member": [keep, other], "csrf_token": editor.csrf},
        headers=editor.htmx(),
    )
    assert merged.status_code == 200, merged.text
    assert "moved 1 to the trash" in merged.text and 'id="no-duplicates"' in merged.text
    assert 'class="undo-button"' in merged.text and f'value="{other}"' in merged.text  # Undo, as for any delete
    assert editor.client.get(f"{editor.gallery_url}/files/{other}/details").status_code == 404
    refused = editor.client.post(url + "/merge", data={"keep": keep, "csrf_token": editor.csrf}, headers=editor.htmx())
    assert refused.status_code == 400 and "Choose the image to keep" in refused.text


def test_viewers_see_groups_but_cannot_merge(app, viewer, editor):
    url = viewer.gallery_url.replace("/content", "/duplicates")
    page = viewer.client.get(url)
    assert page.status_code == 200 and "Keep the chosen one" not in page.text
    refused = viewer.client.post(
        url + "/merge", data={"keep": "fil_x", "csrf_token": viewer.csrf}, headers=viewer.htmx()
    )
    assert refused.status_code == 403
