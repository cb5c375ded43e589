"""`aeontel webhook create|list|deliveries|redeliver|test|enable|delete` against the live API, a real receiver
verifying what the worker's pass sends."""

from __future__ import annotations

import json

from app.domain import webhooks
from app.extensions import db
from tests.services import wait_until
from tests.webhooks.webhook_receiver import Receiver


def test_the_webhook_commands_manage_endpoints_and_redeliver(aeontel, app, tenant, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW", "127.0.0.0/8")
    receiver = Receiver()
    try:
        refused = aeontel("webhook", "create", "http://127.0.0.1:9/x", "--events", "image.exploded")
        assert refused.exit_code == 2 and "unknown event types image.exploded" in refused.output
        made = aeontel("webhook", "create", receiver.url, "--events", "image.created,image.deleted", "--json")
        assert made.exit_code == 0, made.output
        endpoint = json.loads(made.output)
        receiver.secret = endpoint["secret"]
        assert endpoint["events"] == ["image.created", "image.deleted"]

        listed = aeontel("webhook", "list")
        assert endpoint["id"] in listed.output and "image.created,image.deleted" in listed.output
        assert "enabled" in listed.output and endpoint["secret"] not in listed.output

        pinged = aeontel("webhook", "test", endpoint["id"])
        assert pinged.exit_code == 0 and "queued" in pinged.output
        message_id = pinged.output.split()[0]

        def sent(count):
            with app.app_context():
                webhooks.work_due()
                db.session.remove()
            return len(receiver.received) >= count

        wait_until(lambda: sent(1), 30, "the ping")
        again = aeontel("webhook", "redeliver", endpoint["id"], message_id)
        assert again.exit_code == 0 and f"{message_id} queued for redelivery" in again.output
        wait_until(lambda: sent(2), 30, "the redelivery")
        assert [r.headers["webhook-id"] for r in receiver.received] == [message_id, message_id]
        assert all(r.verified for r in receiver.received)

        shown = aeontel("webhook", "deliveries", endpoint["id"])
        assert message_id in shown.output and "webhook.test" in shown.output and "succeeded" in shown.output
        assert shown.output.count(f"answered 200 to {message_id}") == 2, shown.output

        missing = aeontel("webhook", "redeliver", endpoint["id"], "msg_nope")
        assert missing.exit_code == 3 and "No delivery" in missing.output
        deleted = aeontel("webhook", "delete", endpoint["id"], "--yes")
        assert deleted.exit_code == 0 and f"deleted {endpoint['id']}" in deleted.output
        assert aeontel("webhook", "list").output.strip() == ""
    finally:
        receiver.stop()


def test_a_read_token_may_not_manage_webhooks(aeontel, tenant):
    refused = aeontel("webhook", "list", "--token", tenant.read_token)
    assert refused.exit_code == 1 and "insufficient_scope" in refused.output
