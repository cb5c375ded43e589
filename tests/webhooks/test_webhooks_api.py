"""The /api/webhooks surface: owners' CRUD, the secret shown on purpose only, clear refusals, and target URLs that
must be public addresses (the same rules as upload-by-URL) both when saved and when sent."""

from __future__ import annotations

import ipaddress
import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from app.domain import webhooks
from app.domain.errors import DomainError
from app.domain.events import Event, dispatch, emit
from app.domain.webhooks import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from app.event_types import EventType
from app.extensions import db
from tests.webhooks.webhook_receiver import Receiver

PUBLIC = "https://1.1.1.1/hooks"  # a public literal: saved without DNS, never contacted by these tests


def create(client, tenant, **body):
    return client.post("/api/webhooks", headers=tenant.auth(), json={"url": PUBLIC, **body})


def test_crud_shows_the_secret_only_when_asked(client, tenant, app, caplog, conforms):
    caplog.set_level(logging.DEBUG)
    made = create(client, tenant, events=["image.deleted", "image.created"], description="CMS")
    conforms(made, "/api/webhooks", "POST")
    assert made.status_code == 201 and made.headers["Location"].endswith(made.json["id"])
    endpoint = made.json
    assert endpoint["id"].startswith("whk_") and endpoint["events"] == ["image.created", "image.deleted"]
    secret = endpoint["secret"]
    listed = client.get("/api/webhooks", headers=tenant.auth())
    conforms(listed, "/api/webhooks", "GET")
    conforms(client.get(f"/api/webhooks/{endpoint['id']}", headers=tenant.auth()), "/api/webhooks/{webhook_id}", "GET")
    assert [e["id"] for e in listed.json["data"]] == [endpoint["id"]] and "secret" not in listed.json["data"][0]
    assert "secret" not in client.get(f"/api/webhooks/{endpoint['id']}", headers=tenant.auth()).json
    shown = client.get(f"/api/webhooks/{endpoint['id']}/secret", headers=tenant.auth())
    conforms(shown, "/api/webhooks/{webhook_id}/secret", "GET")
    assert shown.json["secret"] == secret
    with app.app_context():  # stored encrypted: the plain secret is nowhere in the row
        row = db.session.get(WebhookEndpoint, endpoint["id"])
        assert secret not in row.secret_encrypted and secret[6:] not in row.secret_encrypted
    rotated = client.patch(f"/api/webhooks/{endpoint['id']}", headers=tenant.auth(), json={"rotateSecret": True})
    assert rotated.status_code == 200 and rotated.json["secret"] != secret
    conforms(rotated, "/api/webhooks/{webhook_id}", "PATCH")
    changed = client.patch(
        f"/api/webhooks/{endpoint['id']}",
        headers=tenant.auth(),
        json={"events": [], "description": "all", "enabled": False},
    )
    assert changed.json["events"] == [] and changed.json["enabled"] is False
    assert changed.json["disabledReason"] == "Disabled by an owner." and "secret" not in changed.json
    ping = client.post(f"/api/webhooks/{endpoint['id']}/test", headers=tenant.auth())
    assert ping.status_code == 409  # disabled
    conforms(ping, "/api/webhooks/{webhook_id}/test", "POST")
    conforms(
        client.get(f"/api/webhooks/{endpoint['id']}/deliveries", headers=tenant.auth()),
        "/api/webhooks/{webhook_id}/deliveries",
        "GET",
    )
    deleted = client.delete(f"/api/webhooks/{endpoint['id']}", headers=tenant.auth())
    conforms(deleted, "/api/webhooks/{webhook_id}", "DELETE")
    assert deleted.json == {"object": "webhook_endpoint", "id": endpoint["id"], "deleted": True}
    assert client.get(f"/api/webhooks/{endpoint['id']}", headers=tenant.auth()).status_code == 404
    assert secret not in caplog.text and rotated.json["secret"] not in caplog.text


@pytest.mark.parametrize(
    "body, code",
    [
        ({"url": "ftp://1.1.1.1/x"}, "invalid_url"),
        ({"url": ""}, "invalid_url"),
        ({"url": 5}, "invalid_url"),
        ({"url": "https://user:pw@1.1.1.1/x"}, "invalid_url"),
        ({"url": "https://1.1.1.1:99999/x"}, "invalid_url"),
        ({"url": PUBLIC, "events": ["image.exploded"]}, "invalid_events"),
        ({"url": PUBLIC, "events": "image.created"}, None),
        ({"url": PUBLIC, "events": [1]}, "invalid_events"),
        ({"url": PUBLIC, "description": "x" * 501}, "invalid_description"),
        ({"url": PUBLIC, "colour": "red"}, "unknown_field"),
    ],
)
def test_bad_input_is_a_clear_400(client, tenant, body, code):
    response = client.post("/api/webhooks", headers=tenant.auth(), json=body)
    if code is None:
        assert response.status_code == 201
        return
    assert response.status_code == 400 and response.mimetype == "application/problem+json"
    assert response.json["code"] == code and response.json["detail"]


def test_non_json_bodies_and_unknown_fields(client, tenant):
    assert client.post("/api/webhooks", headers=tenant.auth(), data="url=x").status_code == 415
    made = create(client, tenant).json
    patched = client.patch(f"/api/webhooks/{made['id']}", headers=tenant.auth(), json={"secret": "mine"})
    assert patched.status_code == 400 and patched.json["code"] == "unknown_field"
    assert patched.json["parameter"] == "secret" and "rotateSecret" in patched.json["allowed"]
    nothing = client.patch(f"/api/webhooks/{made['id']}", headers=tenant.auth(), json={})
    assert nothing.status_code == 400 and nothing.json["code"] == "invalid_body"
    bad = client.patch(f"/api/webhooks/{made['id']}", headers=tenant.auth(), json={"enabled": "yes"})
    assert bad.status_code == 400
    assert client.get(f"/api/webhooks/{made['id']}/deliveries?limit=0", headers=tenant.auth()).status_code == 400
    missing = client.post(f"/api/webhooks/{made['id']}/deliveries/msg_nope/redeliver", headers=tenant.auth())
    assert missing.status_code == 404 and missing.json["code"] == "webhook_delivery_not_found"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/x",
        "http://localhost:9/x",
        "http://[::1]:9/x",
        "http://10.0.0.1/x",
        "http://169.254.169.254/latest/meta-data/",
        "http://0.0.0.0:9/x",
        "http://[::ffff:127.0.0.1]:9/x",
        "http://100.64.0.1/x",
        "https://192.168.0.1/x",
        "http://2130706433/x",
        "http://0x7f000001/x",
        "http://[fe80::1]/x",
        "http://224.0.0.1/x",
        "http://no-such-host.invalid/x",
    ],
)
def test_private_and_loopback_targets_are_refused_without_the_allow_list(client, tenant, url):
    response = create(client, tenant, url=url)
    assert response.status_code == 400 and response.json["code"] == "url_not_public", response.json
    assert "public addresses" in response.json["detail"]


PRIVATE_NETWORKS = [
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "100.64.0.0/10",
    "0.0.0.0/8",
    "224.0.0.0/4",
    "240.0.0.0/4",
    "::1/128",
    "fc00::/7",
    "fe80::/10",
    "ff00::/8",
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(network=st.sampled_from(PRIVATE_NETWORKS), data=st.data(), mapped=st.booleans(), port=st.integers(1, 65535))
def test_any_address_in_a_non_public_network_is_refused_in_any_form(ctx, network, data, mapped, port):
    address = data.draw(st.ip_addresses(network=network))
    host = str(address)
    if address.version == 4 and mapped:
        host = f"::ffff:{address}"
    if ":" in host:
        host = f"[{host}]"
    with pytest.raises(DomainError) as refused:
        webhooks.check_url(f"https://{host}:{port}/hook")
    assert refused.value.code == "url_not_public"


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(address=st.ip_addresses(v=4))
def test_the_check_agrees_with_the_stand_ins_rule(ctx, address):
    from app.imagesd.fetch import is_public

    try:
        webhooks.check_url(f"https://{address}/hook")
        accepted = True
    except DomainError:
        accepted = False
    assert accepted is is_public(ipaddress.ip_address(address))


def test_the_allow_list_permits_loopback_and_send_time_checks_again(app, ctx, tenant, monkeypatch):
    receiver = Receiver()
    try:
        monkeypatch.setitem(app.config, "WEBHOOK_ALLOW", "127.0.0.1/32")
        endpoint, receiver.secret = webhooks.create_endpoint(tenant.workspace_id, receiver.url)
        with pytest.raises(DomainError):
            webhooks.create_endpoint(tenant.workspace_id, "http://127.0.0.2:9/x")  # only what is listed
        # DNS or settings change after saving: the send checks again and logs a refused attempt.
        monkeypatch.setitem(app.config, "WEBHOOK_ALLOW", "")
        emit(EventType.IMAGE_UPDATED, workspace_id=tenant.workspace_id, subject_id="fil_x")
        db.session.commit()
        dispatch(db.session.scalars(select(Event.id)).one())
        (delivery_id,) = webhooks.due_ids()
        assert webhooks.deliver(delivery_id) == "retry"
        attempt = db.session.scalars(select(WebhookAttempt)).one()
        assert attempt.status_code is None and attempt.error.startswith("address_refused")
        assert receiver.received == []
    finally:
        receiver.stop()


def test_fan_out_is_idempotent_and_follows_each_endpoints_event_types(ctx, tenant, other_tenant):
    everything, _ = webhooks.create_endpoint(tenant.workspace_id, PUBLIC)
    created_only, _ = webhooks.create_endpoint(tenant.workspace_id, PUBLIC, events=["image.created"])
    paused, _ = webhooks.create_endpoint(tenant.workspace_id, PUBLIC)
    webhooks.update_endpoint(tenant.workspace_id, paused.id, {"enabled": False})
    elsewhere, _ = webhooks.create_endpoint(other_tenant.workspace_id, PUBLIC)
    created = emit(EventType.IMAGE_CREATED, workspace_id=tenant.workspace_id, subject_id="fil_gone")
    deleted = emit(EventType.IMAGE_DELETED, workspace_id=tenant.workspace_id, subject_id="fil_gone")
    db.session.commit()
    for event in (created.id, deleted.id):
        assert dispatch(event) == "dispatched"
        db.session.execute(Event.__table__.update().where(Event.id == event).values(dispatched_at=None))
        db.session.commit()
        assert dispatch(event) == "dispatched"  # dispatched twice (a relay after a lost job): no second delivery
    rows = db.session.execute(select(WebhookDelivery.endpoint_id, WebhookDelivery.event_type)).all()
    assert sorted(rows) == sorted(
        [(everything.id, "image.created"), (everything.id, "image.deleted"), (created_only.id, "image.created")]
    )
    payload = db.session.scalars(
        select(WebhookDelivery.payload).where(WebhookDelivery.endpoint_id == created_only.id)
    ).one()
    assert payload["type"] == "image.created" and payload["data"]["fileId"] == "fil_gone"
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(WebhookDelivery)
            .where(WebhookDelivery.endpoint_id.in_([paused.id, elsewhere.id]))
        )
        == 0
    )


def test_a_workspace_has_at_most_twenty_endpoints(ctx, tenant):
    for _ in range(webhooks.MAX_ENDPOINTS):
        webhooks.create_endpoint(tenant.workspace_id, PUBLIC)
    with pytest.raises(DomainError) as refused:
        webhooks.create_endpoint(tenant.workspace_id, PUBLIC)
    assert refused.value.status == 409


def test_finished_messages_older_than_thirty_days_are_purged_and_pending_ones_kept(ctx, tenant):
    from datetime import timedelta

    from app.domain.common import new_id, utcnow

    endpoint, _ = webhooks.create_endpoint(tenant.workspace_id, PUBLIC)
    old, recent = utcnow() - timedelta(days=31), utcnow() - timedelta(days=1)
    rows = {}
    for name, state, created in (
        ("old_done", "succeeded", old),
        ("old_failed", "failed", old),
        ("old_pending", "pending", old),
        ("recent_done", "succeeded", recent),
    ):
        rows[name] = new_id("msg")
        db.session.add(
            WebhookDelivery(
                id=rows[name],
                endpoint_id=endpoint.id,
                event_id=new_id("evt"),
                event_type="image.created",
                payload={},
                state=state,
                attempts=1,
                next_attempt_at=created,
                pending_since=created,
                created_at=created,
                last_attempt_at=created,
            )
        )
        db.session.flush()
        db.session.add(
            WebhookAttempt(
                id=new_id("att"),
                delivery_id=rows[name],
                at=created,
                status_code=200,
                duration_ms=1,
                response_excerpt="",
            )
        )
    db.session.commit()
    assert webhooks.purge_old() == 2
    left = set(db.session.scalars(select(WebhookDelivery.id)))
    assert left == {rows["old_pending"], rows["recent_done"]}
    assert db.session.scalar(select(func.count()).select_from(WebhookAttempt)) == 2


def test_a_changed_secret_key_makes_secrets_unreadable_until_rotated(make_app, app, tenant):
    with app.app_context():
        endpoint, _ = webhooks.create_endpoint(tenant.workspace_id, PUBLIC)
        endpoint_id = endpoint.id
        db.session.remove()
    other = make_app(secret_key="another-secret-key")
    client = other.test_client()
    unreadable = client.get(f"/api/webhooks/{endpoint_id}/secret", headers=tenant.auth())
    assert unreadable.status_code == 409 and unreadable.json["code"] == "webhook_secret_unreadable"
    rotated = client.patch(f"/api/webhooks/{endpoint_id}", headers=tenant.auth(), json={"rotateSecret": True})
    assert rotated.status_code == 200
    shown = client.get(f"/api/webhooks/{endpoint_id}/secret", headers=tenant.auth())
    assert shown.status_code == 200 and shown.json["secret"] == rotated.json["secret"]
