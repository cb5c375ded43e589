"""PATCH /api/images/{id}: alt text, decorative, focal point and name, validated, announced, and used by crops."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.errors import DomainError
from app.domain.events import Event
from app.domain.files import clean_name
from app.domain.image_edits import parse_focal_point, parse_name, with_focus
from app.domain.images import Image
from app.extensions import db
from tests.api.conftest import upload_image

ONE = "/api/images/{file_id}"


def patch(client, file_id, body, auth, content_type="application/json"):
    import json

    return client.patch(f"/api/images/{file_id}", data=json.dumps(body), headers=auth, content_type=content_type)


def test_each_field_is_edited_alone_and_the_answer_is_the_image(client, gallery, app, conforms):
    file_id, auth = gallery.a_ids[0], gallery.a.auth("write")
    body = conforms(patch(client, file_id, {"altText": "  Sunset  over\nthe beach "}, auth), ONE, "PATCH")
    assert body["altText"] == "Sunset over the beach" and body["decorative"] is False and body["focalPoint"] is None
    body = conforms(patch(client, file_id, {"focalPoint": {"x": 0.25, "y": 1}}, auth), ONE, "PATCH")
    assert body["focalPoint"] == {"x": 0.25, "y": 1.0} and body["altText"] == "Sunset over the beach"
    body = conforms(patch(client, file_id, {"name": "AC/DC\x07 Beach Day.jpg"}, auth), ONE, "PATCH")
    assert body["name"] == "AC/DC Beach Day.jpg"  # as typed: a "/" is part of a name, not a path
    got = client.get(f"/api/images/{file_id}", headers=gallery.a.auth("read")).json
    assert (got["name"], got["focalPoint"], got["altText"]) == (
        "AC/DC Beach Day.jpg",
        {"x": 0.25, "y": 1.0},
        "Sunset over the beach",
    )
    assert client.get(f"/api/files/{file_id}", headers=auth).json["name"] == "AC/DC Beach Day.jpg"
    body = conforms(patch(client, file_id, {"focalPoint": None}, auth), ONE, "PATCH")
    assert body["focalPoint"] is None
    with app.app_context():
        events = db.session.scalars(
            db.select(Event)
            .where(Event.type == "image.updated", Event.subject_id == file_id)
            .order_by(Event.created_at)
        ).all()
        assert [e.payload["changed"] for e in events] == [
            {"altText": "Sunset over the beach"},
            {"focalPoint": {"x": 0.25, "y": 1.0}},
            {"name": "AC/DC Beach Day.jpg"},
            {"focalPoint": None},
        ]
    # Nothing changed, nothing announced.
    conforms(patch(client, file_id, {"focalPoint": None}, auth), ONE, "PATCH")
    with app.app_context():
        assert (
            db.session.scalar(
                db.select(db.func.count())
                .select_from(Event)
                .where(Event.type == "image.updated", Event.subject_id == file_id)
            )
            == 4
        )


def test_decorative_and_alt_text_follow_the_gallerys_rule(client, gallery, conforms):
    file_id, auth = gallery.a_ids[1], gallery.a.auth("write")
    assert patch(client, file_id, {"altText": "Team photo"}, auth).json["altText"] == "Team photo"
    body = patch(client, file_id, {"decorative": True}, auth).json
    assert (body["decorative"], body["altText"]) == (True, None)
    both = patch(client, file_id, {"decorative": True, "altText": "words"}, auth)
    assert both.status_code == 400 and conforms(both, ONE, "PATCH")["code"] == "alt_text_on_decorative"
    body = patch(client, file_id, {"altText": "Now described"}, auth).json
    assert (body["decorative"], body["altText"]) == (False, "Now described")
    body = patch(client, file_id, {"decorative": False, "altText": ""}, auth).json
    assert (body["decorative"], body["altText"]) == (False, None)


@pytest.mark.parametrize(
    "body, parameter",
    [
        ({"alt": "x"}, "alt"),
        ({"altText": "x", "title": "y"}, "title"),
        ({"altText": 5}, "altText"),
        ({"altText": "x" * 1001}, "altText"),
        ({"decorative": "yes"}, "decorative"),
        ({"focalPoint": {"x": 1.5, "y": 0}}, "focalPoint"),
        ({"focalPoint": {"x": 0.5}}, "focalPoint"),
        ({"focalPoint": {"x": True, "y": 0}}, "focalPoint"),
        ({"focalPoint": [0.5, 0.5]}, "focalPoint"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "a" * 256}, "name"),
        ({"name": " .. "}, "name"),
        ({"name": "\x07\x1b"}, "name"),
    ],
)
def test_bad_fields_answer_400_naming_the_field_and_change_nothing(client, gallery, app, conforms, body, parameter):
    file_id, auth = gallery.a_ids[0], gallery.a.auth("write")
    response = patch(client, file_id, body, auth)
    assert response.status_code == 400, response.json
    assert conforms(response, ONE, "PATCH")["parameter"] == parameter
    with app.app_context():
        image = db.session.get(Image, file_id)
        assert (image.alt_text, image.focal_x) == (None, None)


def test_wrong_bodies_callers_and_images(client, gallery, conforms):
    file_id = gallery.a_ids[0]
    assert (
        conforms(
            client.patch(
                f"/api/images/{file_id}",
                data="altText=x",
                headers=gallery.a.auth(),
                content_type="application/x-www-form-urlencoded",
            ),
            ONE,
            "PATCH",
        )["code"]
        == "json_required"
    )
    assert conforms(patch(client, file_id, ["altText"], gallery.a.auth()), ONE, "PATCH")["code"] == "invalid_body"
    broken = client.patch(f"/api/images/{file_id}", data="{", headers=gallery.a.auth(), content_type="application/json")
    assert conforms(broken, ONE, "PATCH")["code"] == "invalid_json"
    assert patch(client, file_id, {"altText": "x"}, gallery.a.auth("read")).status_code == 403
    foreign = patch(client, gallery.b_ids[0], {"altText": "x"}, gallery.a.auth())
    assert foreign.status_code == 404 and conforms(foreign, ONE, "PATCH")["code"] == "image_not_found"
    merge = patch(client, file_id, {"altText": "merge"}, gallery.a.auth(), "application/merge-patch+json")
    assert merge.status_code == 200 and merge.json["altText"] == "merge"


def test_a_session_editor_edits_with_the_csrf_token(gallery, browser):
    editor = browser(gallery.a, "editor")
    url = f"/api/images/{gallery.a_ids[0]}"
    refused = editor.client.patch(url, json={"altText": "x"})
    assert refused.status_code == 400 and refused.json["code"] == "csrf_failed"
    done = editor.client.patch(url, json={"altText": "x"}, headers={"X-CSRFToken": editor.csrf_token})
    assert done.status_code == 200 and done.json["altText"] == "x"
    viewer = browser(gallery.a, "viewer")
    assert (
        viewer.client.patch(url, json={"altText": "y"}, headers={"X-CSRFToken": viewer.csrf_token}).status_code == 403
    )


def test_crop_urls_keep_the_focal_point_and_the_gallery_uses_them(client, gallery, app, browser):
    file_id = gallery.a_ids[0]
    patch(client, file_id, {"focalPoint": {"x": 0.2, "y": 0.75}}, gallery.a.auth())
    with app.app_context():
        image = db.session.get(Image, file_id)
        assert with_focus(image, "w=200,h=200,fit=cover") == "w=200,h=200,fit=cover,gravity=0.2x0.75"
        assert with_focus(image, "w=960,fit=scale-down") == "w=960,fit=scale-down"  # no crop, nothing to keep
    page = browser(gallery.a, "viewer").get(f"/w/{gallery.a.workspace_id}/p/{gallery.a.project_id}/content")
    html = page.get_data(as_text=True)
    assert "fit=cover,gravity=0.2x0.75" in html
    tile = html[html.index(f'id="tile-{gallery.a_ids[1]}"') :][:2000]
    # The image without a focal point: its tile's square is placed by the images service's saliency.
    assert "gravity=auto" in tile.split('id="tile-')[1] and "gravity=0" not in tile.split('id="tile-')[1]


@settings(max_examples=200, deadline=None)
@given(x=st.one_of(st.floats(allow_nan=True), st.integers(-3, 3)), y=st.floats(-0.5, 1.5))
def test_focal_points_are_accepted_exactly_in_the_unit_square(x, y):
    inside = math.isfinite(x) and 0 <= x <= 1 and 0 <= y <= 1
    try:
        assert parse_focal_point({"x": x, "y": y}) == (float(x), float(y))
        assert inside
    except DomainError as refused:
        assert not inside and refused.extra["parameter"] == "focalPoint"


@settings(max_examples=200, deadline=None)
@given(name=st.text(max_size=300))
def test_names_are_cleaned_bounded_and_never_empty(name):
    try:
        cleaned = parse_name(name)
    except DomainError as refused:
        assert refused.extra["parameter"] == "name"
        assert not name.strip() or len(name) > 255 or clean_name(name) == "untitled"
        return
    assert 1 <= len(cleaned) <= 255 and cleaned == clean_name(name) and not any(ord(c) < 32 for c in cleaned)
    assert cleaned.count("/") == name.count("/")  # the API's PATCH name, like the gallery's rename: not a path
    assert len(name) <= 255 and name.strip()


def test_an_image_still_processing_is_not_editable_yet(client, tenant, corpus, live_server, conforms):
    file_id = upload_image(live_server, tenant, corpus, "Canon_40D.jpg")
    response = patch(client, file_id, {"altText": "x"}, tenant.auth())
    assert response.status_code == 409 and conforms(response, ONE, "PATCH")["code"] == "image_not_ready"
