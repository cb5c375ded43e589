"""Owners edit the workspace's crop presets on the settings page; bad rows are refused whole with a readable error."""

from gallery_web_support import Member, make_user

from app.domain import crops
from app.domain.accounts import get_workspace


def form(owner, rows: list[tuple[str, str, str]]) -> dict:
    data = {"csrf_token": owner.csrf}
    for index, (name, ratio, minimum) in enumerate(rows):
        data |= {f"preset-{index}-name": name, f"preset-{index}-ratio": ratio, f"preset-{index}-min": minimum}
    return data


def test_owners_edit_crop_presets_on_the_settings_page(app, tenant, editor):
    make_user(app, tenant, "owner@example.com", "owner")
    owner = Member(app, "owner@example.com", tenant)
    url = f"/w/{tenant.workspace_id}/settings"
    page = owner.client.get(url).text
    assert "Crop presets" in page and 'value="hero"' in page and 'value="1.91:1"' in page
    saved = owner.client.post(
        f"{url}/crop-presets", data=form(owner, [("hero", "21:9", "1600"), ("card", "1:1", ""), ("", "", "")])
    )
    assert saved.status_code == 302
    with app.app_context():
        assert crops.workspace_presets(get_workspace(tenant.workspace_id)) == (
            crops.Preset("hero", "21:9", 1600),
            crops.Preset("card", "1:1", None),
        )
    page = owner.client.get(url).text
    assert "crop_presets" in page and "hero 21:9@1600, card 1:1" in page  # the settings history
    bad = owner.client.post(
        f"{url}/crop-presets", headers=owner.htmx(), data=form(owner, [("hero", "16:9", ""), ("hero", "1:1", "")])
    )
    assert bad.status_code == 400 and 'role="alert"' in bad.text and "unique" in bad.text
    assert 'value="16:9"' in bad.text  # what was typed stays in the form
    with app.app_context():
        assert crops.workspace_presets(get_workspace(tenant.workspace_id))[0].ratio == "21:9"
    assert editor.client.post(f"{url}/crop-presets", data=form(editor, [("x", "1:1", "")])).status_code == 403


def test_the_crop_form_saves_without_javascript_and_refuses_a_bad_rect_readably(
    app, tenant, editor, viewer, live_server, run_jobs, corpus
):
    from gallery_web_support import upload_over_http

    file_id = upload_over_http(live_server, tenant, (corpus / "Canon_40D.jpg").read_bytes(), "bird.jpg")  # 100 × 68
    run_jobs()
    url = f"{editor.gallery_url}/files/{file_id}/crops"
    details = editor.client.get(f"{editor.gallery_url}/files/{file_id}/details").text
    assert 'name="card-width" type="number"' in details and "Save card" in details and "Copy hero URL" in details
    form = {"csrf_token": editor.csrf, "save": "card", "card-x": "30", "card-y": "0", "card-width": "68"}
    saved = editor.client.post(url, data=form | {"card-height": "68"})
    assert saved.status_code == 302 and saved.headers["Location"].endswith(f"/files/{file_id}/details")
    page = editor.client.get(saved.headers["Location"]).text
    assert "card crop saved." in page and "trim=0;2;0;30,w=68,h=68,fit=cover" in page
    bad = editor.client.post(url, headers=editor.htmx(), data=form | {"card-height": "40"})
    assert bad.status_code == 400 and 'role="alert"' in bad.text and "not the preset&#39;s 1:1" in bad.text
    reset = editor.client.post(url, headers=editor.htmx(), data={"reset": "card"})
    assert reset.status_code == 200 and "card is automatic again." in reset.text
    assert viewer.client.post(url, data=form | {"card-height": "68"}).status_code == 403
