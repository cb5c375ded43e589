"""Saved views over the API: a caller's own views (a user's, or a token's), checked by the query engine before they
are stored, shared by id within the workspace, run through the same engine as GET /api/images."""

import json

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from app.domain import saved_views
from app.domain.errors import DomainError
from app.domain.saved_views import SavedView
from app.extensions import db

VIEWS = "/api/views"
ONE = "/api/views/{view_id}"
RUN = "/api/views/{view_id}/images"


def create(client, auth, body, query=""):
    return client.post(VIEWS + query, data=json.dumps(body), headers=auth, content_type="application/json")


def stored(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(SavedView.id)))


def test_create_list_get_run_rename_delete(client, gallery, conforms, app):
    auth = gallery.a.auth("read")  # saving a view is a reader's act: the read scope is enough
    body = {
        "projectId": gallery.a.project_id,
        "name": "Sunsets by size",
        "query": "q=sun&sort=-size",
        "layout": "table",
    }
    made = create(client, auth, body)
    view = conforms(made, VIEWS, "POST")
    assert made.status_code == 201 and made.headers["Location"].endswith(f"/api/views/{view['id']}")
    assert view["query"] == "q=sun&sort=-size" and view["parameters"] == {"q": "sun", "sort": "-size"}
    assert view["layout"] == "table" and view["id"].startswith("viw_")
    assert view["url"].endswith(f"/w/{gallery.a.workspace_id}/p/{gallery.a.project_id}/views/{view['id']}")
    listed = conforms(client.get(VIEWS, headers=auth), VIEWS, "GET")
    assert [v["id"] for v in listed["data"]] == [view["id"]]
    assert conforms(client.get(f"{VIEWS}/{view['id']}", headers=auth), ONE, "GET") == view
    # Running it is GET /api/images with the view's filters and sort: the same ids in the same order.
    ran = conforms(client.get(f"{VIEWS}/{view['id']}/images?count=true", headers=auth), RUN, "GET")
    direct = client.get(f"/api/images?project_id={gallery.a.project_id}&q=sun&sort=-size&count=true", headers=auth)
    assert [i["fileId"] for i in ran["data"]] == [i["fileId"] for i in direct.json["data"]] and ran["total"] == 2
    first = client.get(f"{VIEWS}/{view['id']}/images?limit=1", headers=auth).json
    rest = client.get(f"{VIEWS}/{view['id']}/images?limit=1&cursor={first['next_cursor']}", headers=auth).json
    assert [i["fileId"] for i in first["data"] + rest["data"]] == [i["fileId"] for i in ran["data"]]
    renamed = client.patch(
        f"{VIEWS}/{view['id']}", data=json.dumps({"name": "Big sunsets"}), headers=auth, content_type="application/json"
    )
    assert conforms(renamed, ONE, "PATCH")["name"] == "Big sunsets"
    gone = conforms(client.delete(f"{VIEWS}/{view['id']}", headers=auth), ONE, "DELETE")
    assert gone == {"object": "saved_view", "id": view["id"], "deleted": True}
    assert client.get(f"{VIEWS}/{view['id']}", headers=auth).json["code"] == "view_not_found"


def test_an_invalid_view_is_refused_and_nothing_is_stored(client, gallery, conforms, app):
    auth = gallery.a.auth("write")
    cases = {
        "sort=biggest": "invalid_view_query",
        "hue=red": "invalid_view_query",  # no such filter
        "colour=chartreuse": "invalid_view_query",  # not a colour family
        "limit=5": "invalid_view_query",  # the page is the caller's, not the view's
        "q=a&q=b": "invalid_view_query",
        "created_after=tomorrow": "invalid_view_query",
        "has_alt_text=maybe": "invalid_view_query",
        "q=" + "x" * 256: "invalid_view_query",
        "format=": "invalid_view_query",
    }
    for query, code in cases.items():
        answer = create(client, auth, {"projectId": gallery.a.project_id, "name": "Bad", "query": query})
        problem = conforms(answer, VIEWS, "POST")
        assert (answer.status_code, problem["code"], problem["parameter"]) == (400, code, "query"), (query, problem)
    assert (
        conforms(create(client, auth, {"projectId": gallery.a.project_id, "name": " "}), VIEWS, "POST")["code"]
        == "invalid_view_name"
    )
    bad_layout = create(client, auth, {"projectId": gallery.a.project_id, "name": "x", "layout": "mosaic"})
    assert conforms(bad_layout, VIEWS, "POST")["code"] == "invalid_layout"
    other_project = create(client, auth, {"projectId": gallery.b.project_id, "name": "Theirs"})
    assert (other_project.status_code, other_project.json["code"]) == (404, "project_not_found")
    unknown = create(client, auth, {"projectId": gallery.a.project_id, "name": "x", "owner": "me"})
    assert unknown.json["code"] == "unknown_field"
    assert stored(app) == 0
    create(client, auth, {"projectId": gallery.a.project_id, "name": "Once"})
    twice = create(client, auth, {"projectId": gallery.a.project_id, "name": "ONCE"})
    assert (twice.status_code, conforms(twice, VIEWS, "POST")["code"]) == (409, "view_name_taken")
    assert stored(app) == 1


def test_views_are_per_owner_shared_by_id_changed_only_by_their_owner(client, gallery, browser, app):
    viewer = browser(gallery.a, "viewer")
    editor = browser(gallery.a, "editor")
    ws = f"?workspace_id={gallery.a.workspace_id}"
    made = viewer.post(
        VIEWS + ws,
        data=json.dumps({"projectId": gallery.a.project_id, "name": "Mine"}),
        content_type="application/json",
    )
    assert made.status_code == 201, made.json
    view_id = made.json["id"]
    no_csrf = viewer.post(
        VIEWS + ws,
        csrf=False,
        data=json.dumps({"projectId": gallery.a.project_id, "name": "X"}),
        content_type="application/json",
    )
    assert no_csrf.json["code"] == "csrf_failed"
    assert [v["id"] for v in viewer.get(VIEWS + ws).json["data"]] == [view_id]
    assert editor.get(VIEWS + ws).json["data"] == []  # not the editor's
    assert gallery.a.auth() and client.get(VIEWS, headers=gallery.a.auth()).json["data"] == []  # nor a token's
    assert editor.get(f"{VIEWS}/{view_id}").json["name"] == "Mine"  # shared: anyone in the workspace opens it
    assert client.get(f"{VIEWS}/{view_id}/images", headers=gallery.a.auth("read")).status_code == 200
    refused = editor.delete(f"{VIEWS}/{view_id}")
    assert (refused.status_code, refused.json["code"]) == (403, "view_not_yours")
    # Another workspace's token or member: the same 404 as a view that does not exist.
    theirs = client.get(f"{VIEWS}/{view_id}", headers=gallery.b.auth())
    missing = client.get(f"{VIEWS}/viw_01j0000000000000000000zzzz", headers=gallery.b.auth())
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json["code"] == missing.json["code"] == "view_not_found"
    assert client.get(f"{VIEWS}/{view_id}/images", headers=gallery.b.auth()).status_code == 404
    assert stored(app) == 1


def test_a_view_carries_every_filter_the_engine_declares(app):
    """No list of filters here: each parameter the engine's file and image lists declare is a view's parameter."""
    from app.domain import queries

    declared = set(queries.PARAMETERS["files"] + queries.PARAMETERS["images"]) - {
        "project_id",
        "limit",
        "cursor",
        "count",
    }
    assert set(saved_views.parameters()) == declared
    assert set(saved_views.parameters_model().model_fields) == declared


@settings(max_examples=60, deadline=None)
@given(
    q=st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=300),
    sort=st.sampled_from(["-created", "created", "name", "-name", "size", "-size", "biggest", ""]),
    after=st.sampled_from(["", "2026-01-01", "2026-13-01", "1969-12-31", "2026-11-30T12:00:00Z", "never"]),
)
def test_a_stored_query_is_always_one_the_engine_runs(app, q, sort, after):
    """Whatever is accepted round-trips: the stored canonical string parses to the engine's query again."""
    from urllib.parse import urlencode

    from app.domain import queries

    raw = urlencode({k: v for k, v in {"q": q, "sort": sort, "created_after": after}.items() if v})
    with app.app_context():
        try:
            clean = saved_views.clean_query(raw)
        except DomainError as refused:
            assert refused.code == "invalid_view_query"
            return
        from urllib.parse import parse_qsl

        values = dict(parse_qsl(clean))
        query = queries.parse(values, workspace_id="ws_x")
        assert query.sort == (sort or "-created")
        assert saved_views.clean_query(clean) == clean
