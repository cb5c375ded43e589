"""Fixtures for the images API: real provisioned images, signed-in browser users, and the OpenAPI document as judge."""

from __future__ import annotations

import pytest
from itsdangerous import URLSafeTimedSerializer
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.factories import upload_over_http

DOC_URI = "urn:aeontel:openapi"


def upload_image(server, tenant, corpus, source: str, name: str | None = None, project_id: str | None = None) -> str:
    """Uploads a corpus photo over real HTTP, as clients do; returns the file id."""
    data = (corpus / source).read_bytes()
    return upload_over_http(server, tenant, data, name or source, content_type="image/jpeg", project_id=project_id)


class Gallery:
    """Images of two workspaces, provisioned through the real queue and the images stand-in."""

    def __init__(self, a, b, a_ids, a_second_project, a_second_ids, b_ids):
        self.a, self.b = a, b
        self.a_ids, self.a_second_project, self.a_second_ids, self.b_ids = a_ids, a_second_project, a_second_ids, b_ids

    @property
    def a_all(self) -> list[str]:
        """Newest first, as the API lists them."""
        return sorted(self.a_ids + self.a_second_ids, reverse=True)


@pytest.fixture
def gallery(live_server, tenant, other_tenant, app, run_jobs, corpus):
    from app.domain import accounts
    from app.extensions import db

    with app.app_context():
        second = accounts.create_project(tenant.workspace_id, "Blog").id
        db.session.commit()
    a_ids = [
        upload_image(live_server, tenant, corpus, source, name)
        for source, name in (
            ("Canon_40D.jpg", "Beach-Sunset.jpg"),
            ("Nikon_D70.jpg", "team.jpg"),
            ("Canon_40D.jpg", "sunrise.JPG"),
            ("orientation_portrait_6.jpg", "portrait.jpg"),
        )
    ]
    a_second_ids = [upload_image(live_server, tenant, corpus, "Nikon_D70.jpg", "blog-header.jpg", project_id=second)]
    b_ids = [
        upload_image(live_server, other_tenant, corpus, source, name)
        for source, name in (("Canon_40D.jpg", "secret-sunset.jpg"), ("Nikon_D70.jpg", "b-team.jpg"))
    ]
    run_jobs()
    provisioned(app, run_jobs, a_ids + a_second_ids + b_ids)
    return Gallery(tenant, other_tenant, a_ids, second, a_second_ids, b_ids)


def provisioned(app, run_jobs, file_ids: list[str]) -> None:
    """Waits until every file is an image. On a busy machine a provisioning job can outlive its RQ timeout (twice
    PROVISION_LEASE_SECONDS); a real worker's maintenance loop (`images.reconcile`) enqueues it again once its lease
    has passed, and so does this. The deadline allows every attempt its job timeout and the retry backoff."""
    from app.domain import images
    from app.domain.images import Image, Provisioning
    from app.extensions import db
    from tests.services import deadline_for, wait_until

    config = app.config
    attempts = config["IMAGES_MAX_ATTEMPTS"]
    deadline = deadline_for(config, failures=attempts) + attempts * 2 * config["PROVISION_LEASE_SECONDS"]

    def missing() -> list:
        db.session.expire_all()
        return [file_id for file_id in file_ids if db.session.get(Image, file_id) is None]

    def all_there() -> bool:
        if not missing():
            return True
        images.reconcile()
        run_jobs()
        return not missing()

    with app.app_context():
        try:
            wait_until(all_there, deadline, "every upload of the fixture to become an image", interval=0.2)
        except TimeoutError as exc:
            states = {file_id: getattr(db.session.get(Provisioning, file_id), "state", None) for file_id in missing()}
            raise AssertionError(f"{exc}: {states}") from None


class Browser:
    """A test client signed in as a member of a workspace, the way the gallery's pages are."""

    def __init__(self, app, user_id: str):
        self.client = app.test_client()
        self.user_id = user_id
        raw = "test-csrf-" + user_id
        with self.client.session_transaction() as session:
            session["user_id"] = user_id
            session["csrf_token"] = raw  # what Flask-WTF keeps in the session; pages embed the signed form
        self.csrf_token = URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token").dumps(raw)

    def get(self, url, **kwargs):
        return self.client.get(url, **kwargs)

    def delete(self, url, csrf: str | None | bool = True, **kwargs):
        headers = dict(kwargs.pop("headers", {}))
        if csrf is True:
            headers["X-CSRFToken"] = self.csrf_token
        elif csrf:
            headers["X-CSRFToken"] = csrf
        return self.client.delete(url, headers=headers, **kwargs)

    def post(self, url, csrf: bool = True, **kwargs):
        headers = dict(kwargs.pop("headers", {}))
        if csrf:
            headers["X-CSRFToken"] = self.csrf_token
        return self.client.post(url, headers=headers, **kwargs)


@pytest.fixture
def browser(app):
    """browser(tenant, role) -> a Browser signed in as a new user with that role in the tenant's workspace."""
    from app.domain import accounts
    from app.extensions import db

    count = 0

    def sign_in(tenant, role: str = "editor", also=()) -> Browser:
        nonlocal count
        count += 1
        with app.app_context():
            user = accounts.create_user(
                f"user{count}-{role}@example.com", "correct horse battery", tenant.workspace_id, role
            )
            for other, other_role in also:
                accounts.create_user(user.email, "correct horse battery", other.workspace_id, other_role)
            db.session.commit()
            return Browser(app, user.id)

    return sign_in


@pytest.fixture(scope="session")
def api_document(app):
    with app.test_request_context():
        from app.api.openapi import document

        return document()


@pytest.fixture(scope="session")
def conforms(api_document):
    """conforms(response, path, method) asserts the response is documented and its body matches the schema."""
    registry = Registry().with_resource(
        DOC_URI, Resource.from_contents(api_document, default_specification=DRAFT202012)
    )

    def check(response, path: str, method: str) -> dict | None:
        operation = api_document["paths"][path][method.lower()]
        status = str(response.status_code)
        assert status in operation["responses"], f"{method} {path} answered an undocumented {status}"
        documented = operation["responses"][status]
        pointer = f"/paths/{_escape(path)}/{method.lower()}/responses/{status}"
        if "$ref" in documented:
            pointer = documented["$ref"][1:]
            documented = api_document["components"]["responses"][documented["$ref"].rsplit("/", 1)[-1]]
        if "content" not in documented:
            return None
        if hasattr(response, "get_json"):  # Werkzeug's test response
            mimetype, body = response.mimetype, response.get_json()
        else:  # requests
            mimetype, body = response.headers["Content-Type"].split(";")[0].strip(), response.json()
        assert mimetype in documented["content"], f"{method} {path} {status} answered {mimetype}"
        schema_ref = f"{DOC_URI}#{pointer}/content/{_escape(mimetype)}/schema"
        validator = Draft202012Validator({"$ref": schema_ref}, registry=registry, format_checker=FormatChecker())
        errors = sorted(validator.iter_errors(body), key=str)
        assert not errors, f"{method} {path} {status}: " + "; ".join(e.message for e in errors[:5])
        return body

    return check


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")
