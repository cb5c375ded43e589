"""Webhook endpoints of a workspace: owners (or write tokens) manage them and read every delivery attempt."""

from flask import g, request, url_for

from app.api import bp
from app.api.auth import require, workspace_param
from app.api.problems import ApiProblem
from app.domain import webhooks
from app.domain.shapes import list_json, webhook_delivery_json, webhook_json


def _body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiProblem(
            415 if not request.is_json else 400, "invalid_body", "Send a JSON object (Content-Type: application/json)."
        )
    return body


@bp.get("/webhooks")
@require("owner")
def list_webhooks():
    workspace_id = workspace_param(request.args.get("workspace_id"))
    return list_json([webhook_json(endpoint) for endpoint in webhooks.list_endpoints(workspace_id)], None)


@bp.post("/webhooks")
@require("owner")
def create_webhook():
    workspace_id = workspace_param(request.args.get("workspace_id"))
    body = _body()
    endpoint, secret = webhooks.create_endpoint(
        workspace_id, body.get("url"), body.get("events"), body.get("description")
    )
    return webhook_json(endpoint, secret), 201, {"Location": url_for("api.get_webhook", webhook_id=endpoint.id)}


@bp.get("/webhooks/<webhook_id>")
@require("owner")
def get_webhook(webhook_id):
    return webhook_json(webhooks.get_endpoint(g.workspace_id, webhook_id))


@bp.patch("/webhooks/<webhook_id>")
@require("owner")
def update_webhook(webhook_id):
    endpoint, secret = webhooks.update_endpoint(g.workspace_id, webhook_id, _body())
    return webhook_json(endpoint, secret)


@bp.delete("/webhooks/<webhook_id>")
@require("owner")
def delete_webhook(webhook_id):
    webhooks.delete_endpoint(g.workspace_id, webhook_id)
    return {"object": "webhook_endpoint", "id": webhook_id, "deleted": True}


@bp.get("/webhooks/<webhook_id>/secret")
@require("owner")
def get_webhook_secret(webhook_id):
    endpoint = webhooks.get_endpoint(g.workspace_id, webhook_id)
    return {"object": "webhook_secret", "webhookId": endpoint.id, "secret": webhooks.secret_of(endpoint)}


@bp.get("/webhooks/<webhook_id>/deliveries")
@require("owner")
def list_webhook_deliveries(webhook_id):
    limit = request.args.get("limit", "50")
    if not limit.isdigit() or not 1 <= int(limit) <= 100:
        raise ApiProblem(400, "invalid_limit", "limit must be a whole number from 1 to 100.", parameter="limit")
    rows = webhooks.list_deliveries(g.workspace_id, webhook_id, int(limit))
    return list_json([webhook_delivery_json(delivery, attempts) for delivery, attempts in rows], None)


@bp.post("/webhooks/<webhook_id>/deliveries/<delivery_id>/redeliver")
@require("owner")
def redeliver_webhook(webhook_id, delivery_id):
    return webhook_delivery_json(webhooks.redeliver(g.workspace_id, webhook_id, delivery_id)), 202


@bp.post("/webhooks/<webhook_id>/test")
@require("owner")
def test_webhook(webhook_id):
    return webhook_delivery_json(webhooks.send_test(g.workspace_id, webhook_id)), 202
