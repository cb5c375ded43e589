"""The details page's Versions: Replace keeps the image's fields and shows the new version once it is ready, a failed
replace says why and the current version stays, Restore brings an old version back as a new one; viewers see the
history but cannot change it; the copy buttons copy the version's own URL."""

import io

import requests
from test_web_gallery import tile_id, upload


def _versions(member, file_id, **args) -> str:
    return member.client.get(
        f"{member.gallery_url}/files/{file_id}/versions", headers={"HX-Request": "true"}, query_string=args
    )


def test_replace_and_restore_from_the_details(editor, viewer, run_jobs, corpus, tenant, live_server):
    file_id = tile_id(upload(editor, "Canon_40D.jpg", (corpus / "Canon_40D.jpg").read_bytes()).text)
    run_jobs()
    before = requests.get(f"{live_server.url}/api/images/{file_id}", headers=tenant.auth(), timeout=10).json()
    details = editor.client.get(f"{editor.gallery_url}/files/{file_id}/details").text
    assert f'data-copy="{before["versionedUrl"]}"' in details and f'/i/{file_id}/public"' in details
    assert f'id="version-{file_id}-1" data-state="current"' in details and "Replace the image with" in details
    assert f'data-replace-url="/w/{tenant.workspace_id}' in editor.client.get(editor.gallery_url).text

    replaced = editor.client.post(
        f"{editor.gallery_url}/files/{file_id}/replace",
        headers=editor.htmx(),
        data={"file": (io.BytesIO((corpus / "Nikon_D70.jpg").read_bytes()), "team.jpg"), "rename": "1"},
        content_type="multipart/form-data",
    )
    assert replaced.status_code == 200 and "<html" not in replaced.text
    assert (
        f'id="version-{file_id}-2" data-state="pending"' in replaced.text and 'hx-trigger="every 1s"' in replaced.text
    )
    polled = _versions(editor, file_id, watching="2")
    assert polled.status_code == 200 and "HX-Retarget" not in polled.headers  # still processing
    run_jobs()
    done = _versions(editor, file_id, watching="2", in_dialog="1")
    assert done.headers["HX-Retarget"] == f"#details-{file_id}" and f'id="details-{file_id}"' in done.text
    after = requests.get(f"{live_server.url}/api/images/{file_id}", headers=tenant.auth(), timeout=10).json()
    assert after["version"] == 2 and after["name"] == "team.jpg" and f'data-copy="{after["versionedUrl"]}"' in done.text

    whole = (corpus / "Nikon_D70.jpg").read_bytes()
    editor.client.post(
        f"{editor.gallery_url}/files/{file_id}/replace",
        headers=editor.htmx(),
        data={"file": (io.BytesIO(whole[: len(whole) // 2]), "cut.jpg")},
        content_type="multipart/form-data",
    )
    run_jobs()
    failed = _versions(editor, file_id).text
    assert f'id="version-{file_id}-3" data-state="failed"' in failed and "The image is damaged" in failed

    seen = _versions(viewer, file_id).text
    assert "Restore" not in seen and "Replace the image with" not in seen and f"version-{file_id}-1" in seen
    refused = viewer.client.post(
        f"{editor.gallery_url}/files/{file_id}/versions/1/restore", headers=viewer.htmx(), data={}
    )
    assert refused.status_code == 403
    restored = editor.client.post(f"{editor.gallery_url}/files/{file_id}/versions/1/restore", headers=editor.htmx())
    assert restored.status_code == 200 and f'id="version-{file_id}-4" data-state="pending"' in restored.text
    again = editor.client.post(
        f"{editor.gallery_url}/files/{file_id}/replace",
        headers=editor.htmx(),
        data={"file": (io.BytesIO(whole), "x.jpg")},
        content_type="multipart/form-data",
    )
    assert again.status_code == 409 and "still being processed" in again.text
    not_image = editor.client.post(
        f"{editor.gallery_url}/files/{file_id}/replace",
        data={"csrf_token": editor.csrf, "file": (io.BytesIO(b"words " * 20), "a.txt")},
        content_type="multipart/form-data",
    )
    assert not_image.status_code == 302  # a plain form: back to the details page with the reason
