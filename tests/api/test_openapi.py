"""The OpenAPI document cannot drift: it lists exactly the routes, real answers match it, and Schemathesis fuzzes it."""

import re
import time

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    missing_required_header,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from tests.api.conftest import upload_image

IGNORED_METHODS = {"HEAD", "OPTIONS"}


def _routes(app) -> dict[str, set[str]]:
    routes: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api."):
            path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
            methods = set(rule.methods) - IGNORED_METHODS
            if "HEAD" in rule.methods and "GET" not in rule.methods:
                methods.add("HEAD")  # a HEAD of its own (tus), not the one Flask adds to every GET
            if rule.methods == {"OPTIONS"}:
                methods.add("OPTIONS")  # an OPTIONS of its own (tus), not the one Flask adds to every route
            routes.setdefault(path, set()).update(methods)
    return routes


def test_every_api_route_is_documented_with_its_methods_and_nothing_else(app, api_document):
    documented = {
        path: {method.upper() for method in item if method != "parameters"}
        for path, item in api_document["paths"].items()
    }
    assert _routes(app) == documented
    for path, item in api_document["paths"].items():
        in_path = set(re.findall(r"{([^}]+)}", path))
        declared = {p["name"] for p in item.get("parameters", []) if p["in"] == "path"}
        assert in_path == declared, path
        for method, operation in item.items():
            if method != "parameters":
                assert operation["operationId"] and operation["responses"], (method, path)


def test_the_document_is_served_and_every_reference_resolves(client, api_document):
    served = client.get("/api/openapi.json")
    assert served.status_code == 200 and served.json == api_document
    assert served.json["openapi"].startswith("3.1")
    assert set(served.json["components"]["securitySchemes"]) == {"bearerAuth", "cookieAuth"}
    text = served.get_data(as_text=True)
    for ref in set(re.findall(r'"\$ref": ?"#/([^"]+)"', text)):
        node = served.json
        for part in ref.split("/"):
            node = node[part]


def test_the_docs_page_renders_from_vendored_assets_only(client):
    page = client.get("/api/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    scripts = re.findall(r'<script[^>]*src="([^"]+)"', html)
    assert [script.split("?v=")[0] for script in scripts] == ["/static/vendor/redoc-2.5.4/redoc.standalone.js"]
    assert not re.search(r'(src|href)="(https?:)?//', html)  # no CDN, nothing from elsewhere
    assert '<redoc spec-url="/api/openapi.json"' in html
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "img-src 'self' data:" in csp and "https:" not in csp
    bundle = client.get(scripts[0])
    assert bundle.status_code == 200 and len(bundle.data) > 500_000
    bundle.close()


def test_real_file_answers_match_the_document(client, tenant, conforms):
    import io

    form = {"file": (io.BytesIO(b"plain words\n"), "notes.txt"), "project_id": tenant.project_id}
    created = client.post("/api/files", data=form, headers=tenant.auth(), content_type="multipart/form-data")
    file_id = conforms(created, "/api/files", "POST")["id"]
    conforms(client.get("/api/files", headers=tenant.auth("read")), "/api/files", "GET")
    conforms(client.get("/api/files?limit=0", headers=tenant.auth("read")), "/api/files", "GET")
    conforms(client.get(f"/api/files/{file_id}", headers=tenant.auth("read")), "/api/files/{file_id}", "GET")
    conforms(
        client.get(f"/api/files/{file_id}/content", headers=tenant.auth("read")), "/api/files/{file_id}/content", "GET"
    )
    conforms(client.post("/api/files", headers=tenant.auth()), "/api/files", "POST")  # 415
    conforms(client.delete(f"/api/files/{file_id}", headers=tenant.auth("read")), "/api/files/{file_id}", "DELETE")
    conforms(client.delete(f"/api/files/{file_id}", headers=tenant.auth()), "/api/files/{file_id}", "DELETE")
    conforms(client.delete(f"/api/files/{file_id}", headers=tenant.auth()), "/api/files/{file_id}", "DELETE")
    conforms(client.get("/api/openapi.json"), "/api/openapi.json", "GET")


# A valid value of every query parameter the document lists (a new parameter needs one here).
EXAMPLES = {
    "q": "seed",
    "sort": "name",
    "created_after": "2020-01-01",
    "created_before": "2999-01-01T00:00:00Z",
    "limit": "5",
    "count": "true",
    "format": "jpeg",
    "has_alt_text": "false",
    "status": "ready",
    "is_image": "true",
    "image_state": "ready",
    "sha256": "0" * 64,
    "permanent": "false",
    "camera": "Canon EOS R5",
    "camera_make": "Canon",
    "lens": "RF24-105mm F4 L IS USM",
    "taken_after": "2020-01-01",
    "taken_before": "2999-01-01",
    "orientation": "portrait",
    "min_width": "10",
    "max_width": "10000",
    "min_height": "10",
    "max_height": "10000",
    "min_size": "1",
    "max_size": "1000000",
    "source": "master",
    "colour": "blue",
    "tag": "Beach",
    "prefix": "be",
}


def test_every_documented_query_parameter_is_accepted_by_the_server(client, tenant, api_document):
    """The parameters are generated from the models the server validates with: none is documented but refused."""
    made = client.post(
        "/api/collections", json={"projectId": tenant.project_id, "name": "Picks"}, headers=tenant.auth()
    )
    values = EXAMPLES | {
        "workspace_id": tenant.workspace_id,
        "project_id": tenant.project_id,
        "collection": made.json["id"],
    }
    checked = 0
    for path, item in api_document["paths"].items():
        if "{" in path:
            continue
        for method, operation in item.items():
            if method not in ("get", "delete"):  # bodies are the other tests' business
                continue
            for parameter in [p for p in operation.get("parameters", []) if p["in"] == "query"]:
                name = parameter["name"]
                if name == "cursor":  # a made-up cursor is refused as a cursor, never as an unknown name
                    answer = client.open(path, method=method, query_string={name: "abc"}, headers=tenant.auth())
                    assert answer.status_code == 400 and answer.json["code"] == "invalid_cursor", (path, answer.json)
                    continue
                answer = client.open(path, method=method, query_string={name: values[name]}, headers=tenant.auth())
                assert answer.status_code == 200, (method, path, name, answer.json)
                checked += 1
    assert checked >= 25


def test_the_documents_schemas_are_the_domains_models(api_document):
    """No schema is written by hand: each component is a model of app.domain.shapes or app.domain.inputs."""
    from pydantic import BaseModel

    from app.domain import inputs, shapes

    models = {
        name: model
        for module in (shapes, inputs)
        for name, model in vars(module).items()
        if isinstance(model, type) and issubclass(model, BaseModel)
    }
    schemas = api_document["components"]["schemas"]
    assert set(schemas) <= set(models)
    generated = shapes.File.model_json_schema(mode="serialization", ref_template="#/components/schemas/{model}")
    generated.pop("$defs")
    assert schemas["File"] == generated


@schemathesis.serializer("application/offset+octet-stream")
def _tus_bytes(ctx, value):
    """tus pieces are raw bytes, as application/octet-stream (which schemathesis knows) is."""
    return {"data": value if isinstance(value, bytes) else str(value).encode()}


FUZZ_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    ignored_auth,
    unsupported_method,
    missing_required_header,
]
# Per operation and mode; the whole run stays far under a minute on a busy two-core machine.
POSITIVE_EXAMPLES, NEGATIVE_EXAMPLES = 30, 15


@pytest.fixture
def seeded(live_server, tenant, other_tenant, corpus, run_jobs):
    ids = [upload_image(live_server, tenant, corpus, "Canon_40D.jpg", f"seed-{n}.jpg") for n in range(3)]
    foreign = upload_image(live_server, other_tenant, corpus, "Nikon_D70.jpg", "foreign.jpg")
    run_jobs()
    return ids, foreign


def test_schemathesis_finds_no_server_errors_and_no_answer_outside_the_document(
    live_server, tenant, seeded, app, api_document
):
    ids, foreign = seeded
    # Loaded from the served document as data: loaded by URL, Schemathesis leaves out the operation serving it.
    schema = schemathesis.openapi.from_dict(requests.get(f"{live_server.url}/api/openapi.json", timeout=10).json())
    session = requests.Session()
    session.headers.update(tenant.auth("write"))
    cases, failures, started = 0, {}, time.monotonic()

    def run(case, checks):
        nonlocal cases
        cases += 1
        try:
            case.call_and_validate(base_url=live_server.url, session=session, checks=checks, allow_redirects=False)
        except (Exception, FailureGroup) as exc:  # noqa: BLE001 - collected: one run reports every failure
            kinds = [line.strip("- ") for line in str(exc).splitlines() if line.startswith("- ")] or [
                type(exc).__name__
            ]
            for kind in kinds:
                failures.setdefault(f"{case.method} {case.path}: {kind}", str(exc)[:1500])

    operations = [result.ok() for result in schema.get_all_operations()]
    documented = [(m.upper(), p) for p, item in api_document["paths"].items() for m in item if m != "parameters"]
    assert sorted((op.method.upper(), op.path) for op in operations) == sorted(documented)  # every operation
    for operation in operations:
        for mode, examples in (
            (schemathesis.GenerationMode.POSITIVE, POSITIVE_EXAMPLES),
            (schemathesis.GenerationMode.NEGATIVE, NEGATIVE_EXAMPLES),
        ):
            checks = FUZZ_CHECKS + ([negative_data_rejection] if mode == schemathesis.GenerationMode.NEGATIVE else [])

            @settings(
                max_examples=examples,
                deadline=None,
                derandomize=True,
                database=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def fuzz(case):
                run(case, checks)  # noqa: B023 - the test runs inside this iteration

            try:
                fuzz()
            except Unsatisfiable:
                # Nothing in this operation can be made invalid (no parameters, or only free-form strings).
                assert mode == schemathesis.GenerationMode.NEGATIVE, operation.label
    # Real data too: the seeded images, the foreign one, and deletes that succeed and then 404.
    get_one, delete_one = schema["/api/images/{file_id}"]["GET"], schema["/api/images/{file_id}"]["DELETE"]
    for file_id in ids + [foreign]:
        run(get_one.Case(path_parameters={"file_id": file_id}), FUZZ_CHECKS)
    for query in (
        {},
        {"limit": 1},
        {"q": "seed"},
        {"project_id": tenant.project_id},
        {"sort": "name", "count": "true"},
        {"has_alt_text": "false", "format": "jpeg"},
    ):
        run(schema["/api/images"]["GET"].Case(query=query), FUZZ_CHECKS)
    patch_one = schema["/api/images/{file_id}"]["PATCH"]
    for body in (
        {"altText": "A beach"},
        {"focalPoint": {"x": 0.25, "y": 1}},
        {"name": "renamed.jpg"},
        {"decorative": True},
        {"focalPoint": None},
    ):
        run(patch_one.Case(path_parameters={"file_id": ids[1]}, body=body, media_type="application/json"), FUZZ_CHECKS)
    for file_id in (ids[0], ids[0], foreign):
        run(delete_one.Case(path_parameters={"file_id": file_id}), FUZZ_CHECKS)
    elapsed = time.monotonic() - started
    print(f"schemathesis: {cases} cases over {len(operations)} operations in {elapsed:.1f}s, {len(failures)} failures")
    assert not failures, "\n".join(failures) + "\n\n" + "\n\n".join(list(failures.values())[:3])
    assert cases > 300  # the time it took is printed, not asserted (timings belong in bench/)
    listed = session.get(f"{live_server.url}/api/images", timeout=10).json()["data"]
    assert {item["fileId"] for item in listed} == set(ids[1:])
