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
            routes.setdefault(path, set()).update(set(rule.methods) - IGNORED_METHODS)
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


def test_schemathesis_finds_no_server_errors_and_no_answer_outside_the_document(live_server, tenant, seeded, app):
    ids, foreign = seeded
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/openapi.json")
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
    assert len(operations) == 27
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
    assert cases > 300 and elapsed < 90
    listed = session.get(f"{live_server.url}/api/images", timeout=10).json()["data"]
    assert {item["fileId"] for item in listed} == set(ids[1:])
