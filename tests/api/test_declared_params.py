"""Every /api route refuses what it does not take: unknown, repeated and empty query parameters, unknown JSON fields,
repeated form fields; and what the OpenAPI document lists for each operation is exactly what the server takes."""

from __future__ import annotations

import io
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.domain import pictures

PLACEHOLDERS = {"file_id": "fil_missing", "webhook_id": "whk_missing", "delivery_id": "msg_missing", "number": "1"}


def api_routes(app) -> list[tuple[str, str]]:
    """(method, path with placeholder ids) for every method of every route under /api."""
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        path = rule.rule
        for argument in rule.arguments:
            path = re.sub(rf"<(?:\w+:)?{argument}>", PLACEHOLDERS.get(argument, "x_missing"), path)
        routes += [(method, path) for method in sorted(rule.methods - {"OPTIONS"})]
    return routes


def bad_request(response, parameter: str, code: str = "invalid_parameter") -> dict:
    assert response.status_code == 400, (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == "application/problem+json"
    body = response.json
    assert body["code"] == code and body["parameter"] == parameter, body
    return body


def test_every_route_refuses_an_unknown_a_repeated_and_an_empty_parameter(app, client, tenant):
    """Walks the URL map, so a route added later cannot forget the check."""
    routes = api_routes(app)
    assert len(routes) >= 25
    for method, path in routes:
        sent = client.open(f"{path}?permanant=true", method=method, headers=tenant.auth())
        body = bad_request(sent, "permanant") if method != "HEAD" else None
        if method == "HEAD":
            assert sent.status_code == 400, (method, path)
        else:
            assert isinstance(body["allowed"], list), (method, path)
    for method, path in (("GET", "/api/images"), ("DELETE", "/api/trash"), ("GET", "/api/webhooks/x/deliveries")):
        name = {"GET /api/images": "q", "DELETE /api/trash": "project_id"}.get(f"{method} {path}", "limit")
        bad_request(client.open(f"{path}?{name}=1&{name}=2", method=method, headers=tenant.auth()), name)
        bad_request(client.open(f"{path}?{name}=", method=method, headers=tenant.auth()), name)


def test_the_first_value_no_longer_wins_on_delete(client, tenant):
    uploaded = client.post(
        "/api/files",
        headers=tenant.auth(),
        data={"project_id": tenant.project_id, "file": (io.BytesIO(b"keep me"), "keep.txt")},
        content_type="multipart/form-data",
    )
    file_id = uploaded.json["id"]
    for query in ("permanent=true&permanent=false", "permanant=true", "permanent="):
        refused = client.delete(f"/api/files/{file_id}?{query}", headers=tenant.auth())
        bad_request(refused, query.split("=")[0])
        assert client.get(f"/api/files/{file_id}", headers=tenant.auth("read")).status_code == 200  # untouched
    bad_request(client.delete("/api/images/fil_x?permanent=true&permanent=false", headers=tenant.auth()), "permanent")
    assert client.delete(f"/api/files/{file_id}?permanent=true", headers=tenant.auth()).status_code == 200


def test_unknown_json_fields_are_refused_where_a_json_body_is_taken(client, tenant):
    made = client.post("/api/uploads", headers=tenant.auth(), json={"projectId": tenant.project_id, "maxbytes": 5})
    bad_request(made, "maxbytes", "unknown_field")
    hook = client.post("/api/webhooks", headers=tenant.auth(), json={"url": "https://example.com/h", "event": []})
    bad_request(hook, "event", "unknown_field")
    edit = client.patch("/api/images/fil_x", headers=tenant.auth(), json={"alt_text": "a"})
    bad_request(edit, "alt_text", "unknown_field")
    assert client.post("/api/uploads", headers=tenant.auth(), json={"projectId": tenant.project_id}).status_code == 201


@pytest.mark.parametrize("path", ["/api/images/fil_x", "/api/webhooks/whk_x"])
def test_a_patch_that_changes_nothing_is_refused(client, tenant, path):
    refused = client.patch(path, headers=tenant.auth(), json={})
    assert refused.status_code == 400 and refused.json["code"] == "invalid_body", refused.json


def test_two_file_parts_and_unknown_form_fields_are_refused(client, tenant):
    def form(**fields):
        return client.post("/api/files", headers=tenant.auth(), data=fields, content_type="multipart/form-data")

    twice = form(project_id=tenant.project_id, file=[(io.BytesIO(b"a"), "a.txt"), (io.BytesIO(b"b"), "b.txt")])
    bad_request(twice, "file")
    unknown = form(project_id=tenant.project_id, projectId="x", file=(io.BytesIO(b"a"), "a.txt"))
    bad_request(unknown, "projectId", "unknown_field")
    made = client.post("/api/uploads", headers=tenant.auth(), json={"projectId": tenant.project_id}).json
    path = "/api/" + made["uploadUrl"].split("/api/", 1)[1]
    used = client.post(
        path,
        data={"file": [(io.BytesIO(b"a"), "a.txt"), (io.BytesIO(b"b"), "b.txt")]},
        content_type="multipart/form-data",
    )
    bad_request(used, "file")
    assert client.get(path).json["state"] != "used"  # nothing was stored: the URL is still good for one file


def test_format_must_be_an_image_format(client, tenant):
    body = bad_request(client.get("/api/images?format=bogus", headers=tenant.auth("read")), "format")
    assert "jpeg" in body["detail"]
    for name in ("jpeg", "PNG", "svg", "tiff"):
        assert client.get(f"/api/images?format={name}", headers=tenant.auth("read")).status_code == 200, name


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.text(st.characters(codec="utf-8", exclude_characters="\x00&#=+%"), min_size=1, max_size=16))
def test_format_accepts_exactly_the_known_formats(client, tenant, value):
    answer = client.get("/api/images", query_string={"format": value}, headers=tenant.auth("read"))
    if value.lower() in pictures.FORMATS:
        assert answer.status_code == 200
    else:
        bad_request(answer, "format")


def _sample(parameter: dict) -> str:
    """A value the server must accept for a documented query parameter."""
    schema = parameter.get("schema", {})
    if "enum" in schema:
        return str(schema["enum"][0])
    samples = {"limit": "5", "count": "true", "has_alt_text": "false", "permanent": "false", "sort": "name"}
    samples |= {"created_after": "2026-01-01", "created_before": "2026-01-02", "format": "jpeg", "q": "a"}
    return samples.get(parameter["name"], "")


def test_the_openapi_document_lists_exactly_the_query_parameters_the_server_takes(client, tenant):
    """Each documented parameter is accepted; each accepted one (as the 400 for an unknown one lists) is documented."""
    document = client.get("/api/openapi.json").json
    checked = 0
    for template, item in document["paths"].items():
        path = template
        for name, value in PLACEHOLDERS.items():
            path = path.replace("{" + name + "}", value)
        path = path.replace("{upload_id}", "upl_missing").replace("{secret}", "s")
        for method, operation in item.items():
            if method == "parameters":
                continue
            params = [*item.get("parameters", []), *operation.get("parameters", [])]
            documented = {p["name"] for p in params if p["in"] == "query"}
            unknown = client.open(f"{path}?not_a_parameter=1", method=method.upper(), headers=tenant.auth())
            if method == "options":  # tus OPTIONS acts on nothing: it answers what the server supports, always
                assert unknown.status_code == 204 and not documented, template
                continue
            if method == "head":  # no body to read (tus HEAD): its route's other methods are checked in full
                assert unknown.status_code == 400, template
                continue
            body = bad_request(unknown, "not_a_parameter")
            assert set(body["allowed"]) == documented, (method, template)
            for parameter in (p for p in params if p["in"] == "query"):
                value = _sample(parameter) or (tenant.workspace_id if parameter["name"] == "workspace_id" else None)
                if parameter["name"] == "project_id":
                    value = tenant.project_id
                if value is None:
                    continue  # a cursor: only a real one is valid, and lists' own tests follow them
                sent = client.open(
                    path, method=method.upper(), query_string={parameter["name"]: value}, headers=tenant.auth()
                )
                problem = sent.json if sent.mimetype == "application/problem+json" else {}
                assert problem.get("parameter") != parameter["name"], (method, template, problem)
                checked += 1
    assert checked >= 30
