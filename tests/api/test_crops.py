"""Named crops: workspace presets (GET/PUT /api/workspace/crop-presets) and per-image rectangles via PATCH."""

import json
from urllib.parse import unquote

from hypothesis import given
from hypothesis import strategies as st

from app.domain import crops
from app.domain.errors import DomainError
from app.domain.events import Event
from app.extensions import db

ONE = "/api/images/{file_id}"
PRESETS = "/api/workspace/crop-presets"


def patch(client, file_id, body, auth):
    return client.patch(f"/api/images/{file_id}", data=json.dumps(body), headers=auth, content_type="application/json")


def put_presets(client, data, auth):
    return client.put(PRESETS, data=json.dumps({"data": data}), headers=auth, content_type="application/json")


def test_a_new_workspace_has_the_default_presets_and_every_image_lists_them(client, gallery, conforms):
    auth = gallery.a.auth("read")
    body = conforms(client.get(PRESETS, headers=auth), PRESETS, "GET")
    assert body["data"] == [
        {"name": "hero", "ratio": "16:9", "minWidth": None},
        {"name": "card", "ratio": "1:1", "minWidth": None},
        {"name": "social", "ratio": "1.91:1", "minWidth": None},
    ]
    image = conforms(client.get(f"/api/images/{gallery.a_ids[0]}", headers=auth), ONE, "GET")
    assert set(image["crops"]) == {"hero", "card", "social"}
    hero = image["crops"]["hero"]
    # No focal point, nothing stored: the images service places it by saliency.
    assert hero["auto"] is True and hero["rect"] is None and hero["url"].endswith("w=1200,h=675,fit=cover,gravity=auto")


def test_owners_replace_presets_and_bad_lists_are_refused_whole(client, gallery, conforms):
    write = gallery.a.auth("write")
    body = conforms(put_presets(client, [{"name": "banner", "ratio": "3:1", "minWidth": 600}], write), PRESETS, "PUT")
    assert body["data"] == [{"name": "banner", "ratio": "3:1", "minWidth": 600}]
    for bad, words in (
        ([{"name": "Hero!", "ratio": "16:9"}], "lowercase"),
        ([{"name": "wide", "ratio": "11:1"}], "1:10 and 10:1"),
        ([{"name": "zero", "ratio": "1:0"}], "W:H"),
        ([{"name": "a", "ratio": "1:1"}, {"name": "a", "ratio": "2:1"}], "unique"),
        ([{"name": "a", "ratio": "1:1", "minWidth": 0}], "minWidth"),
    ):
        refused = put_presets(client, bad, write)
        assert refused.status_code == 400 and words in refused.json["detail"], (bad, refused.json)
    assert client.get(PRESETS, headers=write).json["data"][0]["name"] == "banner"
    assert put_presets(client, [], gallery.a.auth("read")).status_code == 403
    assert client.put(PRESETS, data="[]", headers=write, content_type="application/json").status_code == 400
    # Another workspace's presets are its own.
    assert client.get(PRESETS, headers=gallery.b.auth("read")).json["data"][0]["name"] == "hero"


def test_a_stored_crop_is_delivered_by_trim_announced_and_cleared(client, gallery, app, conforms):
    file_id, auth = gallery.a_ids[0], gallery.a.auth("write")
    image = client.get(f"/api/images/{file_id}", headers=auth).json
    width, height = image["width"], image["height"]
    rect = {"x": 10, "y": 5, "width": 64, "height": 36}
    body = conforms(patch(client, file_id, {"crops": {"hero": rect}}, auth), ONE, "PATCH")
    hero = body["crops"]["hero"]
    bottom, right = height - 5 - 36, width - 10 - 64
    assert hero["rect"] == rect and hero["auto"] is False
    assert unquote(hero["url"]).endswith(f"trim=5;{right};{bottom};10,w=64,h=36,fit=cover")
    # A focal point places the other presets: their rect is derived, still automatic.
    body = patch(client, file_id, {"focalPoint": {"x": 0, "y": 0}}, auth).json
    assert body["crops"]["card"]["rect"] == {"x": 0, "y": 0, "width": height, "height": height}
    assert body["crops"]["card"]["url"].endswith("fit=cover,gravity=0x0") and body["crops"]["card"]["auto"]
    cleared = patch(client, file_id, {"crops": {"hero": None}}, auth).json
    assert cleared["crops"]["hero"]["auto"] is True
    with app.app_context():
        changed = [
            event.payload["changed"]
            for event in db.session.scalars(
                db.select(Event)
                .where(Event.type == "image.updated", Event.subject_id == file_id)
                .order_by(Event.created_at)
            )
        ]
    assert changed == [{"crops.hero": rect}, {"focalPoint": {"x": 0.0, "y": 0.0}}, {"crops.hero": None}]


def test_bad_crops_are_clear_400s_and_change_nothing(client, gallery):
    file_id, auth = gallery.a_ids[0], gallery.a.auth("write")
    for crop, code in (
        ({"nope": {"x": 0, "y": 0, "width": 16, "height": 9}}, "unknown_crop_preset"),
        ({"hero": {"x": 0, "y": 0, "width": 50, "height": 50}}, "invalid_crop"),
        ({"hero": {"x": 90, "y": 0, "width": 16, "height": 9}}, "invalid_crop"),
        ({"hero": {"x": 0, "y": 0, "width": 16.5, "height": 9}}, "invalid_crop"),
        ({"hero": [0, 0, 16, 9]}, "invalid_crop"),
    ):
        refused = patch(client, file_id, {"altText": "changed?", "crops": crop}, auth)
        assert refused.status_code == 400 and refused.json["code"] == code, refused.json
    image = client.get(f"/api/images/{file_id}", headers=auth).json
    assert image["altText"] is None and not any(not c["auto"] for c in image["crops"].values())
    # Another workspace's image answers 404, crops or not.
    rect = {"x": 0, "y": 0, "width": 16, "height": 9}
    assert patch(client, gallery.b_ids[0], {"crops": {"hero": rect}}, auth).status_code == 404


ratios = st.tuples(st.integers(1, 40), st.integers(1, 40)).filter(lambda wh: 0.1 <= wh[0] / wh[1] <= 10)


@given(ratios, st.integers(1, 4000), st.integers(1, 4000), st.floats(0, 1), st.floats(0, 1))
def test_a_derived_rect_keeps_the_ratio_inside_the_image(ratio, width, height, fx, fy):
    preset = crops.parse_preset({"name": "p", "ratio": f"{ratio[0]}:{ratio[1]}"})
    rect = crops.largest_rect(preset.aspect, width, height, (fx, fy))
    assert rect.x >= 0 and rect.x + rect.width <= width and rect.y >= 0 and rect.y + rect.height <= height
    if min(rect.width, rect.height) >= 2:
        assert crops.keeps_ratio(rect, preset.aspect)
    # Largest: one side touches the image's edges.
    assert rect.width == width or rect.height == height


@given(
    ratios,
    st.integers(1, 4000),
    st.integers(1, 4000),
    st.fixed_dictionaries({k: st.integers(-5, 4100) for k in ("x", "y", "width", "height")}),
    st.one_of(st.none(), st.integers(1, 3000)),
)
def test_any_accepted_rect_fits_the_preset_and_the_image(ratio, width, height, raw, min_width):
    preset = crops.Preset("p", f"{ratio[0]}:{ratio[1]}", min_width)
    try:
        rect = crops.check_rect(preset, width, height, raw)
    except DomainError as refusal:
        assert refusal.status == 400 and refusal.extra["parameter"] == "crops.p"
        return
    assert rect.x >= 0 and rect.x + rect.width <= width and rect.y >= 0 and rect.y + rect.height <= height
    assert crops.keeps_ratio(rect, preset.aspect)
    assert min_width is None or rect.width >= min_width


@given(st.lists(st.fixed_dictionaries({"name": st.text(max_size=6), "ratio": st.text(max_size=8)}), max_size=14))
def test_preset_lists_are_valid_or_refused(raw):
    try:
        presets = crops.parse_presets(raw)
    except DomainError as refusal:
        assert refusal.code == "invalid_crop_preset"
        return
    names = [preset.name for preset in presets]
    assert len(names) == len(set(names)) <= crops.MAX_PRESETS
    assert all(crops.RATIO_RANGE[0] <= preset.aspect <= crops.RATIO_RANGE[1] for preset in presets)
