"""Webhook endpoints of a workspace: owners (or write tokens) manage them and read every delivery attempt."""

from flask import g, request, url_for

from app.api import bp
from app.api.auth import require, workspace_param
from app.api.spec import operation, validated
from app.domain import inputs, shapes, webhooks
from app.domain.shapes import list_json, webhook_delivery_json, webhook_json

OWNERS = (
    "Owners only: an owner's session (with `workspace_id` and, on writes, `X-CSRFToken`) or a token with the `write` "
    "scope; editors, viewers and `read` tokens get 403."
)


def _owners(view):
    """The owners-only sentence closes every webhook operation's description in the document."""
    view.__doc__ = f"{view.__doc__.rstrip()}\n\n{OWNERS}" if "\n" in view.__doc__ else f"{view.__doc__}\n\n{OWNERS}"
    return view


@bp.get("/webhooks")
@require("owner")
@operation(
    "listWebhooks",
    "webhooks",
    {200: (shapes.WebhookEndpointList, "Every endpoint (at most 20), oldest first.")},
    (400, 401, 403, 404),
    query=inputs.WorkspaceQuery,
)
@_owners
def list_webhooks():
    """List the workspace's webhook endpoints"""
    workspace_id = workspace_param(request.args.get("workspace_id"))
    return list_json([webhook_json(endpoint) for endpoint in webhooks.list_endpoints(workspace_id)], None)


@bp.post("/webhooks")
@require("owner")
@operation(
    "createWebhook",
    "webhooks",
    {201: (shapes.WebhookEndpoint, "The endpoint, with its `secret`.")},
    (400, 401, 403, 404, 409, 415),
    query=inputs.WorkspaceQuery,
    body=inputs.WebhookEndpointCreate,
    headers={201: ("Location",)},
)
@_owners
def create_webhook():
    """Add a webhook endpoint

    The URL must be http(s) and resolve to public addresses only, the same rules as upload-by-URL (checked again at
    every send; `WEBHOOK_ALLOW` lists exceptions such as loopback in development). The answer carries the signing
    secret.
    """
    workspace_id = workspace_param(request.args.get("workspace_id"))
    body = request.get_json()
    endpoint, secret = webhooks.create_endpoint(
        workspace_id, body.get("url"), body.get("events"), body.get("description")
    )
    return webhook_json(endpoint, secret), 201, {"Location": url_for("api.get_webhook", webhook_id=endpoint.id)}


@bp.get("/webhooks/<webhook_id>")
@require("owner")
@operation("getWebhook", "webhooks", {200: (shapes.WebhookEndpoint, "The endpoint.")}, (400, 401, 403, 404))
@_owners
def get_webhook(webhook_id):
    """Get one webhook endpoint"""
    return webhook_json(webhooks.get_endpoint(g.workspace_id, webhook_id))


@bp.patch("/webhooks/<webhook_id>")
@require("owner")
@operation(
    "updateWebhook",
    "webhooks",
    {200: (shapes.WebhookEndpoint, "The endpoint (with `secret` if rotated).")},
    (400, 401, 403, 404, 415),
    body=inputs.WebhookEndpointPatch,
)
@_owners
def update_webhook(webhook_id):
    """Change, enable or disable an endpoint

    `enabled: true` clears `disabledReason` and sends its pending messages now.
    """
    endpoint, secret = webhooks.update_endpoint(g.workspace_id, webhook_id, validated("json").changes())
    return webhook_json(endpoint, secret)


@bp.delete("/webhooks/<webhook_id>")
@require("owner")
@operation("deleteWebhook", "webhooks", {200: (shapes.WebhookDeleted, "Gone.")}, (400, 401, 403, 404))
@_owners
def delete_webhook(webhook_id):
    """Delete an endpoint and its deliveries"""
    webhooks.delete_endpoint(g.workspace_id, webhook_id)
    return shapes.WebhookDeleted(id=webhook_id).dump()


@bp.get("/webhooks/<webhook_id>/secret")
@require("owner")
@operation("getWebhookSecret", "webhooks", {200: (shapes.WebhookSecret, "The secret.")}, (400, 401, 403, 404, 409))
@_owners
def get_webhook_secret(webhook_id):
    """Show the signing secret

    Stored encrypted with a key derived from SECRET_KEY; shown only here and when made.
    """
    endpoint = webhooks.get_endpoint(g.workspace_id, webhook_id)
    return shapes.WebhookSecret(webhook_id=endpoint.id, secret=webhooks.secret_of(endpoint)).dump()


@bp.get("/webhooks/<webhook_id>/deliveries")
@require("owner")
@operation(
    "listWebhookDeliveries",
    "webhooks",
    {200: (shapes.WebhookDeliveryList, "The deliveries.")},
    (400, 401, 403, 404),
    query=inputs.DeliveriesQuery,
)
@_owners
def list_webhook_deliveries(webhook_id):
    """Recent messages and attempts

    Newest first, each with every attempt (status or error, duration, the first KB of the answer).
    """
    rows = webhooks.list_deliveries(g.workspace_id, webhook_id, validated("query").limit)
    return list_json([webhook_delivery_json(delivery, attempts) for delivery, attempts in rows], None)


@bp.post("/webhooks/<webhook_id>/deliveries/<delivery_id>/redeliver")
@require("owner")
@operation(
    "redeliverWebhook",
    "webhooks",
    {202: (shapes.WebhookDelivery, "Queued for the worker.")},
    (400, 401, 403, 404, 409),
    path={"delivery_id": "The message id (`msg_…`, its `webhook-id`)."},
)
@_owners
def redeliver_webhook(webhook_id, delivery_id):
    """Send a message again now

    The same message id and body, signed anew, whatever state it ended in; tried for another day if it fails. 409
    while the endpoint is disabled.
    """
    return webhook_delivery_json(webhooks.redeliver(g.workspace_id, webhook_id, delivery_id)), 202


@bp.post("/webhooks/<webhook_id>/test")
@require("owner")
@operation(
    "testWebhook", "webhooks", {202: (shapes.WebhookDelivery, "Queued for the worker.")}, (400, 401, 403, 404, 409)
)
@_owners
def test_webhook(webhook_id):
    """Send a webhook.test ping"""
    return webhook_delivery_json(webhooks.send_test(g.workspace_id, webhook_id)), 202
