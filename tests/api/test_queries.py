"""List queries: sorting with keyset pages, filters, totals, unknown parameters, and signed cursors bound to a query."""

import base64
import json
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

LIST, FILES = "/api/images", "/api/files"


def walk(client, auth, url, path, conforms, **query):
    """Every item of a list, two per page, following the cursors; also returns the number of pages."""
    items, cursor, pages = [], None, 0
    while True:
        page = conforms(
            client.get(
                f"{url}?{urlencode(query | {'limit': 2} | ({'cursor': cursor} if cursor else {}))}", headers=auth
            ),
            path,
            "GET",
        )
        items += page["data"]
        pages += 1
        if not page["has_more"]:
            return items, pages
        cursor = page["next_cursor"]


@pytest.mark.parametrize("sort", ["-created", "created", "name", "-name", "size", "-size", "taken", "-taken"])
def test_every_sort_walks_every_image_once_in_its_order(client, gallery, conforms, sort):
    auth = gallery.a.auth("read")
    everything = client.get(f"{LIST}?limit=100", headers=auth).json["data"]
    key, descending = sort.lstrip("-"), sort.startswith("-")
    field = {"created": None, "name": "name", "size": "size", "taken": "takenAt"}[key]
    expected = sorted(
        everything, key=lambda item: (item[field], item["fileId"]) if field else item["fileId"], reverse=descending
    )
    items, pages = walk(client, auth, LIST, LIST, conforms, sort=sort)
    assert [item["fileId"] for item in items] == [item["fileId"] for item in expected] and pages == 3
    if key == "name":
        assert [item["name"] for item in items][:: -1 if descending else 1] == [
            "Beach-Sunset.jpg",
            "blog-header.jpg",
            "portrait.jpg",
            "sunrise.JPG",
            "team.jpg",
        ]


def test_filters_and_the_opt_in_total(client, gallery, conforms):
    auth, write = gallery.a.auth("read"), gallery.a.auth("write")
    client.patch(f"{LIST}/{gallery.a_ids[0]}", json={"altText": "A beach"}, headers=write)
    client.patch(f"{LIST}/{gallery.a_ids[1]}", json={"decorative": True}, headers=write)

    def ids(**query):
        return [
            item["fileId"]
            for item in conforms(client.get(f"{LIST}?{urlencode(query)}", headers=auth), LIST, "GET")["data"]
        ]

    assert ids(has_alt_text="true") == [gallery.a_ids[0]]
    assert sorted(ids(has_alt_text="false")) == sorted(set(gallery.a_all) - set(gallery.a_ids[:2]))
    assert ids(format="jpeg") == gallery.a_all and ids(format="JPEG") == gallery.a_all and ids(format="png") == []
    assert ids(created_after="2000-01-01") == gallery.a_all and ids(created_before="2000-01-01T00:00:00Z") == []
    assert ids(created_after="2999-01-01T00:00:00+02:00") == []
    counted = conforms(client.get(f"{LIST}?count=true&limit=2&q=sun", headers=auth), LIST, "GET")
    assert counted["total"] == 2 and len(counted["data"]) == 2 and counted["has_more"] is False
    counted = conforms(client.get(f"{LIST}?count=true&limit=1", headers=auth), LIST, "GET")
    assert counted["total"] == 5 and len(counted["data"]) == 1
    assert "total" not in client.get(LIST, headers=auth).json


@pytest.mark.parametrize(
    "query, parameter",
    [
        ("sort_by=name", "sort_by"),
        ("search=sun", "search"),
        ("status=ready", "status"),
        ("sort=newest", "sort"),
        ("sort=name&sort=size", "sort"),
        ("format=../x", "format"),
        ("has_alt_text=maybe", "has_alt_text"),
        ("count=yes", "count"),
        ("created_after=yesterday", "created_after"),
        ("created_before=", "created_before"),
    ],
)
def test_unknown_or_malformed_parameters_answer_400_naming_them(client, gallery, conforms, query, parameter):
    response = client.get(f"{LIST}?{query}", headers=gallery.a.auth("read"))
    body = conforms(response, LIST, "GET")
    assert response.status_code == 400 and body["parameter"] == parameter, body
    assert parameter in body["detail"]


def test_cursors_are_signed_and_bound_to_their_query(client, gallery, conforms):
    auth_a, auth_b = gallery.a.auth("read"), gallery.b.auth("read")

    def first_cursor(auth, url=LIST, **query):
        return client.get(f"{url}?{urlencode(query | {'limit': 1})}", headers=auth).json["next_cursor"]

    made_up = base64.urlsafe_b64encode(json.dumps({"after": "zzzz"}).encode()).decode().rstrip("=")
    good = first_cursor(auth_a, sort="name")
    tampered = good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB")
    cases = [
        (auth_a, {"cursor": made_up}),
        (auth_a, {"cursor": tampered, "sort": "name"}),
        (auth_a, {"cursor": good}),  # another sort
        (auth_a, {"cursor": good, "sort": "name", "q": "sun"}),  # another filter
        (
            auth_a,
            {
                "cursor": first_cursor(auth_b),
            },
        ),  # another workspace's
        (auth_a, {"cursor": first_cursor(auth_a, FILES)}),  # a files cursor
    ]
    for auth, query in cases:
        response = client.get(f"{LIST}?{urlencode(query)}", headers=auth)
        body = conforms(response, LIST, "GET")
        assert response.status_code == 400 and body["code"] == "invalid_cursor" and body["parameter"] == "cursor"
    # The same query with another page size keeps its cursor.
    assert (
        client.get(f"{LIST}?{urlencode({'cursor': good, 'sort': 'name', 'limit': 3})}", headers=auth_a).status_code
        == 200
    )


def test_file_lists_sort_filter_by_status_and_count(client, tenant, conforms):
    import io

    auth = tenant.auth("write")
    for name, data in (("b.txt", b"bb"), ("a.txt", b"a"), ("c.txt", b"ccc")):
        client.post(
            FILES,
            data={"file": (io.BytesIO(data), name), "project_id": tenant.project_id},
            headers=auth,
            content_type="multipart/form-data",
        )
    items, pages = walk(client, auth, FILES, FILES, conforms, sort="name")
    assert [item["name"] for item in items] == ["a.txt", "b.txt", "c.txt"] and pages == 2
    items, _ = walk(client, auth, FILES, FILES, conforms, sort="-size")
    assert [item["size"] for item in items] == [3, 2, 1]
    # A file that is no image was taken when it was uploaded: by date taken, the upload order.
    items, _ = walk(client, auth, FILES, FILES, conforms, sort="-taken")
    assert [item["name"] for item in items] == ["c.txt", "a.txt", "b.txt"]
    assert all(item["takenAt"] == item["createdAt"] for item in items)
    page = conforms(client.get(f"{FILES}?status=ready&count=true&limit=1&q=.txt", headers=auth), FILES, "GET")
    assert page["total"] == 3 and page["data"][0]["image"] is None
    assert client.get(f"{FILES}?status=error", headers=auth).json["data"] == []
    for bad in ("status=done", "format=png2", "has_alt_text=maybe", "orientation=round"):  # files take the facts too
        response = client.get(f"{FILES}?{bad}", headers=auth)
        assert response.status_code == 400 and conforms(response, FILES, "GET")["parameter"] == bad.split("=")[0]


NAMES = st.sampled_from(
    [
        "workspace_id",
        "project_id",
        "q",
        "sort",
        "created_after",
        "created_before",
        "limit",
        "cursor",
        "count",
        "format",
        "has_alt_text",
        "status",
        "sort_by",
        "search",
        "Q",
        "page",
    ]
)


def _parse(app, kind: str, pairs):
    """The list parameters as the API reads them: the names checked (the hook), the route's model, then ListQuery."""
    from flask import request
    from pydantic import ValidationError
    from spectree.utils import get_multidict_items

    from app.api.params import accepts, check_names, list_query
    from app.api.spec import problem_of
    from app.domain import inputs

    model = {"images": inputs.ImageListQuery, "files": inputs.FileListQuery}[kind]
    with app.test_request_context("/api/" + kind, query_string=pairs):
        check_names(request.args, accepts(f"api.list_{kind}").query)
        try:
            query = model.model_validate(get_multidict_items(request.args, model))
        except ValidationError as refused:
            raise problem_of(refused) from None
        return list_query(kind, query, "ws_x"), set(model.model_fields)


@settings(max_examples=150, deadline=None)
@given(pairs=st.lists(st.tuples(NAMES, st.text(max_size=30)), max_size=5), kind=st.sampled_from(["images", "files"]))
def test_any_query_string_is_parsed_or_refused_with_a_named_4xx(app, pairs, kind):
    from app.api.problems import ApiProblem
    from app.domain.errors import DomainError

    try:
        spec, allowed = _parse(app, kind, pairs)
    except ApiProblem as refused:
        assert refused.status == 400 and refused.extra["parameter"] in {name for name, _ in pairs}
        return
    except DomainError as refused:
        assert refused.status in (400, 404)
        return
    names = [name for name, _ in pairs]
    assert set(names) <= allowed and len(names) == len(set(names))
    assert 1 <= spec.limit <= 100 and spec.sort in ("-created", "created", "-name", "name", "-size", "size")


@settings(max_examples=150, deadline=None)
@given(
    moment=st.datetimes(
        min_value=datetime(1970, 1, 2),
        max_value=datetime(9998, 12, 30),
        timezones=st.sampled_from(
            [None, UTC, timezone(timedelta(hours=-11)), timezone(timedelta(hours=13, minutes=45))]
        ),
    )
)
def test_created_bounds_read_any_iso_time_as_the_same_instant(app, moment):
    parsed = _parse(app, "images", {"created_after": moment.isoformat()})[0].created_after
    assert parsed == (moment if moment.tzinfo else moment.replace(tzinfo=UTC))
