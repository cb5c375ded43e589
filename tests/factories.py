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
