"""Small factories for rows the tests need, in a module of its own so that conftests can share them."""

from __future__ import annotations


class Factory:
    """Small factories for rows the tests need."""

    def __init__(self, app):
        self.app = app

    def workspace(self, name="Acme"):
        from app.domain import accounts
        from app.extensions import db

        with self.app.app_context():
            ws = accounts.create_workspace(name)
            prj = accounts.create_project(ws.id, "Website")
            _, write = accounts.create_token(ws.id, "write")
            _, read = accounts.create_token(ws.id, "read")
            db.session.commit()
            return Tenant(ws.id, prj.id, write, read)


class Tenant:
    def __init__(self, workspace_id, project_id, write_token, read_token):
        self.workspace_id = workspace_id
        self.project_id = project_id
        self.write_token = write_token
        self.read_token = read_token

    def auth(self, scope="write"):
        return {"Authorization": f"Bearer {self.write_token if scope == 'write' else self.read_token}"}


def post_upload(
    server,
    tenant: Tenant,
    data: bytes,
    name: str,
    *,
    content_type=None,
    project_id=None,
    timeout=60,
    duplicates="allow",
):
    """`POST /api/files` over real HTTP, as clients do; `server` is anything with a `url`, or the URL itself. Tests
    upload the same corpus photo more than once to get several files, so a duplicate is stored unless `duplicates`
    is "reuse" (the API's default)."""
    import requests

    base = server if isinstance(server, str) else server.url
    part = (name, data, content_type) if content_type else (name, data)
    return requests.post(
        f"{base}/api/files?duplicates={duplicates}",
        headers=tenant.auth(),
        timeout=timeout,
        data={"project_id": project_id or tenant.project_id},
        files={"file": part},
    )


def upload_over_http(server, tenant: Tenant, data: bytes, name: str, **options) -> str:
    """The one upload helper of the tests: uploads over real HTTP and returns the new file's id."""
    response = post_upload(server, tenant, data, name, **options)
    assert response.status_code == 201, response.text
    return response.json()["id"]
