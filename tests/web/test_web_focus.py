"""The gallery edits the name and focal point through the same domain edit as the API; its crops keep the point."""

import requests

from test_web_gallery import tile_id, upload


def test_name_and_focal_point_from_the_details_form(editor, viewer, app, run_jobs, corpus, tenant, live_server):
    file_id = tile_id(upload(editor, "Canon_40D.jpg", (corpus / "Canon_40D.jpg").read_bytes()).text)
    run_jobs()
    url = f"{editor.gallery_url}/files/{file_id}/focus"
    details = editor.client.get(f"{editor.gallery_url}/files/{file_id}/details", headers={"HX-Request": "true"}).text
    assert f'id="focus-{file_id}"' in details and 'name="focal_x"' in details

    saved = editor.client.post(url, headers=editor.htmx(), data={"name": "Bay.jpg", "focal_x": "0.3", "focal_y": "0.7",
                                                                  "in_dialog": "1"})
    assert saved.status_code == 200 and f'id="focus-{file_id}"' in saved.text and "Saved." in saved.text
    assert 'hx-swap-oob="true"' in saved.text and "fit=cover,gravity=0.3x0.7" in saved.text  # the tile's new crop
    api = requests.get(f"{live_server.url}/api/images/{file_id}", headers=tenant.auth(), timeout=10).json()
    assert (api["name"], api["focalPoint"]) == ("Bay.jpg", {"x": 0.3, "y": 0.7})
    details = editor.client.get(f"{editor.gallery_url}/files/{file_id}/details", headers={"HX-Request": "true"}).text
    assert "w=400,h=300,fit=cover,gravity=0.3x0.7" in details

    for bad, message in (({"name": "Bay.jpg", "focal_x": "2", "focal_y": "0"}, "from 0 to 1"),
                         ({"name": "Bay.jpg", "focal_x": "0.5", "focal_y": ""}, "two numbers"),
                         ({"name": "Bay.jpg", "focal_x": "a", "focal_y": "b"}, "two numbers"),
                         ({"name": "  ", "focal_x": "", "focal_y": ""}, "name")):
        refused = editor.client.post(url, headers=editor.htmx(), data=bad)
        assert refused.status_code == 400 and message in refused.text, (bad, refused.text[:300])
    centred = editor.client.post(url, data={"csrf_token": editor.csrf, "name": "Bay.jpg", "focal_x": "", "focal_y": ""})
    assert centred.status_code == 302
    api = requests.get(f"{live_server.url}/api/images/{file_id}", headers=tenant.auth(), timeout=10).json()
    assert api["focalPoint"] is None
    assert viewer.client.post(url, headers=viewer.htmx(), data={"name": "x"}).status_code == 403


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
        events = db.session.scalars(select(Event).where(Event.type == "image.updated", Event.subject_id == file_id)
                                    .order_by(Event.created_at)).all()
        assert [event.payload["changed"] for event in events] == [{"altText": "A bird"},
                                                                   {"altText": None, "decorative": True}]
