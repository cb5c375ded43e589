"""The owners' webhooks page: endpoints with their state and recent attempts; page and fragment; owners only."""

from __future__ import annotations

from gallery_web_support import Member, make_user

from app.domain import webhooks
from app.domain.common import new_id, utcnow
from app.extensions import db


def test_owners_see_endpoints_and_attempts_others_do_not(app, tenant, editor, outsider):
    make_user(app, tenant, "owner@example.com", "owner")
    owner = Member(app, "owner@example.com", tenant)
    url = f"/w/{tenant.workspace_id}/webhooks"
    empty = owner.client.get(url)
    assert empty.status_code == 200 and 'id="no-webhooks"' in empty.text
    with app.app_context():
        endpoint, secret = webhooks.create_endpoint(
            tenant.workspace_id, "https://1.1.1.1/hooks", events=["image.created"], description="CMS"
        )
        delivery = webhooks.WebhookDelivery(
            id=new_id("msg"),
            endpoint_id=endpoint.id,
            event_id=new_id("evt"),
            event_type="image.created",
            payload={},
            state="pending",
            attempts=1,
            next_attempt_at=utcnow(),
            pending_since=utcnow(),
            created_at=utcnow(),
        )
        db.session.add(delivery)
        db.session.flush()
        db.session.add(
            webhooks.WebhookAttempt(
                id=new_id("att"),
                delivery_id=delivery.id,
                at=utcnow(),
                status_code=500,
                duration_ms=12,
                response_excerpt="<b>down</b>",
            )
        )
        endpoint.enabled, endpoint.disabled_reason = False, "Every delivery failed for 24 h (last: HTTP 500)."
        db.session.commit()
        endpoint_id, delivery_id = endpoint.id, delivery.id
    page = owner.client.get(url)
    assert page.status_code == 200 and "<html" in page.text and "HX-Request" in page.headers["Vary"]
    assert f'id="webhook-{endpoint_id}"' in page.text and f'id="delivery-{delivery_id}"' in page.text
    assert "Disabled: Every delivery failed for 24 h (last: HTTP 500)." in page.text
    assert "500 · 12 ms" in page.text and "&lt;b&gt;down&lt;/b&gt;" in page.text  # the receiver's answer, escaped
    assert secret not in page.text
    fragment = owner.client.get(url, headers={"HX-Request": "true"})
    assert fragment.text.lstrip().startswith('<section id="webhook-endpoints"') and "<html" not in fragment.text
    assert f'href="{url}"' in owner.client.get(owner.gallery_url).text  # the switcher links owners to it
    refused = editor.client.get(url)
    assert refused.status_code == 403 and "owners" in refused.text and endpoint_id not in refused.text
    assert f'href="{url}"' not in editor.client.get(editor.gallery_url).text
    assert outsider.client.get(url).status_code == 404
