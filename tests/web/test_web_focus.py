"""The gallery edits the name and focal point through the same domain edit as the API; its crops keep the point."""

import requests
from test_web_gallery import tile_id, upload


def test_name_and_focal_point_from_the_gallery_reach_the_api_and_announce_image_updated(
    editor, viewer, app, run_jobs, corpus, tenant, live_server
):
    from sqlalchemy import select

    from app.domain.events import Event
    from app.extensions import db

    file_id = tile_id(upload(editor, "Canon_40D.jpg", (corpus / "Canon_40D.jpg").read_bytes()).text)
    run_jobs()
    details = editor.client.get(f"{editor.gallery_url}/files/{file_id}/details", headers={"HX-Request": "true"}).text
    assert (
        f"{editor.gallery_url}/files/{file_id}/focal" in details
        and f"{editor.gallery_url}/files/{file_id}/name" in details
    )

    focal = editor.client.post(
        f"{editor.gallery_url}/files/{file_id}/focal",
        headers=editor.htmx(),
        data={"x": "0.3", "y": "0.7", "in_dialog": "1"},
    )
    assert focal.status_code == 200 and "fit=cover,gravity=0.3x0.7" in focal.text  # the tile's new crop
    renamed = editor.client.post(
        f"{editor.gallery_url}/files/{file_id}/name", headers=editor.htmx(), data={"name": "Bay.jpg"}
    )
    assert renamed.status_code == 200
    api = requests.get(f"{live_server.url}/api/images/{file_id}", headers=tenant.auth(), timeout=10).json()
    assert (api["name"], api["focalPoint"]) == ("Bay.jpg", {"x": 0.3, "y": 0.7})
    with app.app_context():
        changed = [
            event.payload["changed"]
            for event in db.session.scalars(
                select(Event).where(Event.type == "image.updated", Event.subject_id == file_id).order_by(Event.id)
            )
        ]
        db.session.remove()
    assert changed == [{"focalPoint": {"x": 0.3, "y": 0.7}}, {"name": "Bay.jpg"}]

    refused = editor.client.post(
        f"{editor.gallery_url}/files/{file_id}/focal", headers=editor.htmx(), data={"x": "2", "y": "0"}
    )
    assert refused.status_code == 400 and "from 0 to 1" in refused.text
    centred = editor.client.post(
        f"{editor.gallery_url}/files/{file_id}/focal", data={"csrf_token": editor.csrf, "op": "reset"}
    )
    assert centred.status_code == 302
    api = requests.get(f"{live_server.url}/api/images/{file_id}", headers=tenant.auth(), timeout=10).json()
    assert api["focalPoint"] is None
    assert (
        viewer.client.post(
            f"{editor.gallery_url}/files/{file_id}/focal", headers=viewer.htmx(), data={"x": "0.5", "y": "0.5"}
        ).status_code
        == 403
    )


def test_alt_text_from_the_gallery_announces_image_updated_as_the_api_does(editor, app, run_jobs, corpus):
    from sqlalchemy import select

    from app.domain.events import Event
    from app.extensions import db

    file_id = tile_id(upload(editor, "Canon_40D.jpg", (corpus / "Canon_40D.jpg").read_bytes()).text)
    run_jobs()
    url = f"{editor.gallery_url}/files/{file_id}/alt"
    for data in ({"alt_text": "A bird"}, {"alt_text": "A bird"}, {"alt_text": "", "decorative": "on"}):
        assert editor.client.post(url, headers=editor.htmx(), data=data).status_code == 200
    with app.app_context():
        events = db.session.scalars(
            select(Event).where(Event.type == "image.updated", Event.subject_id == file_id).order_by(Event.created_at)
        ).all()
        assert [event.payload["changed"] for event in events] == [
            {"altText": "A bird"},
            {"altText": None, "decorative": True},
        ]
