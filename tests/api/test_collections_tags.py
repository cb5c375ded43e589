"""Collections and tags over the API: create, rename, delete, add and remove by ids and by query, tags on the Image
and in PATCH, suggestions, bulk tags, the `collection` and `tag` filters, counts kept with each change, the trash
keeping both, and another workspace's ids answering 404."""

from sqlalchemy import select

from app.domain.events import Event
from app.domain.grouping import Collection, Tag
from app.extensions import db

COLLECTIONS, ONE = "/api/collections", "/api/collections/{collection_id}"
IMAGES_OF = "/api/collections/{collection_id}/images"


def _create(client, tenant, name, project_id=None):
    body = {"projectId": project_id or tenant.project_id, "name": name}
    return client.post(COLLECTIONS, json=body, headers=tenant.auth("write"))


def _listed(client, tenant, **params):
    answer = client.get("/api/images", query_string=params, headers=tenant.auth("read"))
    assert answer.status_code == 200, answer.json
    return [row["fileId"] for row in answer.json["data"]]


def _events(app, type_, subject_id=None):
    with app.app_context():
        statement = select(Event).where(Event.type == type_).order_by(Event.id)
        if subject_id:
            statement = statement.where(Event.subject_id == subject_id)
        return [event.payload for event in db.session.scalars(statement)]


def test_a_collection_is_created_listed_renamed_and_deleted_and_its_images_stay(client, gallery, app, conforms):
    a = gallery.a
    created = _create(client, a, "  Summer   2024 ")
    body = conforms(created, COLLECTIONS, "POST")
    assert created.status_code == 201 and created.headers["Location"].endswith(f"/api/collections/{body['id']}")
    assert (body["name"], body["imageCount"], body["projectId"]) == ("Summer 2024", 0, a.project_id)
    clash = _create(client, a, "SUMMER 2024")
    assert (clash.status_code, clash.json["code"]) == (409, "collection_exists")
    assert _create(client, a, "Summer 2024", gallery.a_second_project).status_code == 201  # per project
    listed = conforms(client.get(COLLECTIONS, query_string={"project_id": a.project_id}, headers=a.auth("read")),
                      COLLECTIONS, "GET")  # fmt: skip
    assert [c["name"] for c in listed["data"]] == ["Summer 2024"]
    assert len(client.get(COLLECTIONS, headers=a.auth("read")).json["data"]) == 2
    one = ONE.format(collection_id=body["id"])
    assert conforms(client.get(one, headers=a.auth("read")), ONE, "GET")["name"] == "Summer 2024"
    renamed = client.patch(one, json={"name": "Beach"}, headers=a.auth("write"))
    assert conforms(renamed, ONE, "PATCH")["name"] == "Beach"
    client.post(IMAGES_OF.format(collection_id=body["id"]), json={"ids": gallery.a_ids}, headers=a.auth("write"))
    assert client.delete(one, headers=a.auth("write")).status_code == 204
    assert client.get(one, headers=a.auth("read")).status_code == 404
    assert sorted(_listed(client, a, project_id=a.project_id)) == sorted(gallery.a_ids)  # the images stay
    assert [p["name"] for p in _events(app, "collection.created")] == ["Summer 2024", "Summer 2024"]
    assert _events(app, "collection.updated", body["id"])[0] == {"changed": {"name": "Beach"}}
    assert _events(app, "collection.deleted", body["id"]) == [{"name": "Beach", "projectId": a.project_id}]


def test_images_join_by_ids_and_by_query_in_one_count_and_the_filter_lists_them(client, gallery, app, conforms):
    a = gallery.a
    collection = _create(client, a, "Picks").json
    path = IMAGES_OF.format(collection_id=collection["id"])
    # Another project's image and another workspace's are skipped, not added.
    mixed = gallery.a_ids[:2] + gallery.a_second_ids + gallery.b_ids
    added = client.post(path, json={"ids": mixed}, headers=a.auth("write"))
    body = conforms(added, IMAGES_OF, "POST")
    assert (body["changed"], body["collection"]["imageCount"]) == (2, 2)
    assert client.post(path, json={"ids": gallery.a_ids[:2]}, headers=a.auth("write")).json["changed"] == 0
    by_query = client.post(path, json={"query": {"q": "sun"}}, headers=a.auth("write")).json  # Beach-Sunset, sunrise
    assert (by_query["changed"], by_query["collection"]["imageCount"]) == (1, 3)
    members = sorted(gallery.a_ids[:3])
    assert sorted(_listed(client, a, collection=collection["id"])) == members
    files = client.get("/api/files", query_string={"collection": collection["id"]}, headers=a.auth("read")).json
    assert sorted(row["id"] for row in files["data"]) == members
    one = client.get(f"/api/images/{gallery.a_ids[0]}", headers=a.auth("read")).json
    assert one["collections"] == [collection["id"]]
    removed = client.delete(path, json={"ids": [gallery.a_ids[0]]}, headers=a.auth("write"))
    assert conforms(removed, IMAGES_OF, "DELETE")["changed"] == 1
    gone = client.delete(path, json={"query": {"q": "team"}}, headers=a.auth("write")).json
    assert (gone["changed"], gone["collection"]["imageCount"]) == (1, 1)
    assert _listed(client, a, collection=collection["id"]) == [gallery.a_ids[2]]
    changes = _events(app, "collection.updated", collection["id"])
    assert [c["changed"] for c in changes] == [{"imagesAdded": 2}, {"imagesAdded": 1}, {"imagesRemoved": 1}] * 1 + [
        {"imagesRemoved": 1}
    ]
    assert _events(app, "image.updated", gallery.a_ids[0])[-1] == {
        "changed": {"collections": {"removed": [collection["id"]]}}
    }
    count = client.get("/api/images", query_string={"collection": collection["id"], "count": "true"},
                       headers=a.auth("read")).json["total"]  # fmt: skip
    assert count == 1


def test_tags_are_set_in_patch_suggested_bulk_changed_and_filter_with_and(client, gallery, app, conforms):
    a, ids = gallery.a, gallery.a_ids
    patched = client.patch(f"/api/images/{ids[0]}", json={"tags": ["Beach", "  golden   hour", "beach"]},
                           headers=a.auth("write"))  # fmt: skip
    assert conforms(patched, "/api/images/{file_id}", "PATCH")["tags"] == ["Beach", "golden hour"]
    assert _events(app, "image.updated", ids[0]) == [
        {"changed": {"tags": {"added": ["Beach", "golden hour"], "removed": []}}}
    ]
    bulk = client.post("/api/images/tags", json={"query": {"q": "sun"}, "add": ["BEACH", "Sun"]},
                       headers=a.auth("write"))  # fmt: skip
    assert conforms(bulk, "/api/images/tags", "POST")["changed"] == 2  # ids[0] gains Sun, ids[2] both
    assert client.get(f"/api/images/{ids[2]}", headers=a.auth("read")).json["tags"] == ["Beach", "Sun"]
    suggested = conforms(client.get("/api/tags", query_string={"prefix": "b"}, headers=a.auth("read")), "/api/tags",
                         "GET")  # fmt: skip
    assert suggested["data"] == [{"object": "tag", "name": "Beach", "useCount": 2}]
    everything = client.get("/api/tags", headers=a.auth("read")).json["data"]
    assert [(t["name"], t["useCount"]) for t in everything] == [("Beach", 2), ("Sun", 2), ("golden hour", 1)]
    assert sorted(_listed(client, a, tag="beach")) == sorted([ids[0], ids[2]])
    both = client.get("/api/images?tag=BEACH&tag=golden%20HOUR", headers=a.auth("read")).json["data"]
    assert [row["fileId"] for row in both] == [ids[0]]
    assert _listed(client, a, tag="nobody uses this") == []
    removed = client.post("/api/images/tags", json={"ids": ids, "remove": ["sun"]}, headers=a.auth("write"))
    assert removed.json["changed"] == 2
    assert _events(app, "image.updated", ids[2])[-1] == {"changed": {"tags": {"removed": ["Sun"]}}}
    cleared = client.patch(f"/api/images/{ids[0]}", json={"tags": []}, headers=a.auth("write")).json
    assert cleared["tags"] == []
    with app.app_context():
        counts = dict(
            db.session.execute(select(Tag.name, Tag.use_count).where(Tag.workspace_id == a.workspace_id)).all()
        )
    assert counts == {"Beach": 1, "Sun": 0, "golden hour": 0}
    # Tags are per workspace: the other one neither sees nor matches them.
    assert client.get("/api/tags", headers=gallery.b.auth("read")).json["data"] == []


def test_the_trash_keeps_collections_and_tags_and_the_counts_follow(client, gallery, app, run_jobs):
    a, file_id = gallery.a, gallery.a_ids[1]
    collection = _create(client, a, "Team").json
    client.post(IMAGES_OF.format(collection_id=collection["id"]), json={"ids": [file_id]}, headers=a.auth("write"))
    client.patch(f"/api/images/{file_id}", json={"tags": ["people"]}, headers=a.auth("write"))

    def counts():
        with app.app_context():
            return (
                db.session.get(Collection, collection["id"]).image_count,
                db.session.scalar(select(Tag.use_count).where(Tag.workspace_id == a.workspace_id)),
            )

    assert counts() == (1, 1)
    assert client.delete(f"/api/images/{file_id}", headers=a.auth("write")).status_code == 200
    assert counts() == (0, 0)
    assert _listed(client, a, collection=collection["id"]) == [] and _listed(client, a, tag="people") == []
    assert client.post(f"/api/files/{file_id}/restore", headers=a.auth("write")).status_code == 200
    run_jobs()
    assert counts() == (1, 1)
    image = client.get(f"/api/images/{file_id}", headers=a.auth("read")).json
    assert (image["tags"], image["collections"]) == (["people"], [collection["id"]])
    assert _listed(client, a, collection=collection["id"], tag="PEOPLE") == [file_id]
    # Deleted for good: the memberships go and the counts drop.
    assert client.delete(f"/api/images/{file_id}?permanent=true", headers=a.auth("write")).status_code == 200
    assert counts() == (0, 0)


def test_another_workspaces_collections_answer_404_and_its_images_are_never_touched(client, gallery, app):
    a, b = gallery.a, gallery.b
    mine = _create(client, a, "Mine").json["id"]
    for method, path, body in (
        ("get", ONE.format(collection_id=mine), None),
        ("patch", ONE.format(collection_id=mine), {"name": "Taken"}),
        ("delete", ONE.format(collection_id=mine), None),
        ("post", IMAGES_OF.format(collection_id=mine), {"ids": gallery.b_ids}),
        ("delete", IMAGES_OF.format(collection_id=mine), {"ids": gallery.b_ids}),
    ):
        answer = getattr(client, method)(path, json=body, headers=b.auth("write"))
        assert (answer.status_code, answer.json["code"]) == (404, "collection_not_found"), (method, path)
    refused = client.get("/api/images", query_string={"collection": mine}, headers=b.auth("read"))
    assert (refused.status_code, refused.json["code"]) == (404, "collection_not_found")
    created = _create(client, b, "Into A", project_id=a.project_id)
    assert (created.status_code, created.json["code"]) == (404, "project_not_found")
    # Tagging a's images with b's token changes nothing.
    assert client.post("/api/images/tags", json={"ids": gallery.a_ids, "add": ["x"]},
                       headers=b.auth("write")).json["changed"] == 0  # fmt: skip
    assert client.get(f"/api/images/{gallery.a_ids[0]}", headers=a.auth("read")).json["tags"] == []
    with app.app_context():
        assert db.session.get(Collection, mine).name == "Mine"


def test_bad_input_is_a_problem_naming_its_code(client, gallery):
    a = gallery.a
    collection = _create(client, a, "Checks").json["id"]
    path = IMAGES_OF.format(collection_id=collection)
    cases = [
        ("post", COLLECTIONS, {"projectId": a.project_id, "name": "   "}, "invalid_name"),
        ("post", COLLECTIONS, {"projectId": a.project_id, "name": 5}, "invalid_name"),
        ("patch", ONE.format(collection_id=collection), {"name": "x" * 101}, "invalid_name"),
        ("post", path, {}, "invalid_selection"),
        ("post", path, {"ids": gallery.a_ids, "query": {}}, "invalid_selection"),
        ("post", path, {"ids": []}, "invalid_ids"),
        ("post", path, {"query": {"scope": "trash"}}, "invalid_query"),
        ("post", path, {"query": {"limit": 5}}, "invalid_query"),
        ("post", path, {"query": "all"}, "invalid_query"),
        ("delete", path, {"ids": "all"}, "invalid_ids"),
        ("delete", path, {"query": {"sort": "nonsense"}}, "invalid_parameter"),
        ("post", path, {"ids": gallery.a_ids, "extra": 1}, "unknown_field"),
        ("post", "/api/images/tags", {"ids": gallery.a_ids}, "nothing_to_change"),
        ("post", "/api/images/tags", {"ids": gallery.a_ids, "add": ["a,b"]}, "invalid_tag"),
        ("post", "/api/images/tags", {"ids": gallery.a_ids, "add": ["x" * 65]}, "invalid_tag"),
        ("post", "/api/images/tags", {"ids": gallery.a_ids, "add": ["a"], "remove": ["A"]}, "invalid_tag"),
        ("post", "/api/images/tags", {"ids": gallery.a_ids, "add": [" "]}, "invalid_tag"),
        ("post", "/api/images/tags", {"ids": gallery.a_ids, "add": "beach"}, "invalid_tag"),
        ("patch", f"/api/images/{gallery.a_ids[0]}", {"tags": ["ok", 3]}, "invalid_tag"),
    ]
    for method, url, body, code in cases:
        answer = getattr(client, method)(url, json=body, headers=a.auth("write"))
        assert answer.status_code == 400 and answer.json["code"] == code, (url, body, answer.json)
        assert answer.headers["Content-Type"] == "application/problem+json"
    for query, code in (("tag=a,b", "invalid_parameter"), (f"tag={'x' * 65}", "invalid_parameter"),
                        ("collection=no%20such", "collection_not_found"), ("collection=col_nothing", "collection_not_found"),
                        ("&".join(f"tag=t{i}" for i in range(11)), "invalid_parameter")):  # fmt: skip
        answer = client.get(f"/api/images?{query}", headers=a.auth("read"))
        assert answer.json.get("code") == code and answer.status_code in (400, 404), (query, answer.json)
    assert client.get("/api/tags?prefix=" + "x" * 65, headers=a.auth("read")).status_code == 400


def test_viewers_read_and_filter_but_do_not_change(client, gallery, browser):
    a = gallery.a
    collection = _create(client, a, "Seen").json["id"]
    viewer = browser(a, "viewer")
    assert viewer.get(f"{COLLECTIONS}?workspace_id={a.workspace_id}").status_code == 200
    assert viewer.get(f"/api/images?workspace_id={a.workspace_id}&collection={collection}").status_code == 200
    assert viewer.get(f"/api/tags?workspace_id={a.workspace_id}&prefix=s").status_code == 200
    refused = viewer.client.post(
        f"{IMAGES_OF.format(collection_id=collection)}",
        json={"ids": gallery.a_ids},
        headers={"X-CSRFToken": viewer.csrf_token},
    )
    assert (refused.status_code, (refused.json or {}).get("code")) == (403, "insufficient_role"), refused.data[:300]
    no_csrf = browser(a, "editor").client.post(IMAGES_OF.format(collection_id=collection), json={"ids": gallery.a_ids})
    assert (no_csrf.status_code, no_csrf.json["code"]) == (400, "csrf_failed")
