"""Webhooks end to end: real uploads through the API, the queue and the images stand-in produce events that reach a
receiver verifying each signature with the Standard Webhooks library; retries, disabling and redelivery."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import pytest
import requests
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from sqlalchemy import select

from app.domain import webhooks
from app.domain.events import emit
from app.domain.webhooks import WebhookDelivery, WebhookEndpoint
from app.event_types import EventType
from app.extensions import db
from app.netguard import PinnedHTTPConnection, PinnedHTTPSConnection
from tests.api.conftest import DOC_URI
from tests.factories import upload_over_http as upload
from tests.ipv6_origin import V6Origin
from tests.masters_support import lying_jpeg
from tests.services import wait_until
from tests.webhooks.webhook_receiver import Receiver

LOOPBACK = "127.0.0.0/8,::1"
IMAGE_EVENTS = [event.value for event in webhooks.EVENT_TYPES if event.startswith("image.")]


@pytest.fixture
def allow_loopback(app, monkeypatch):
    """The development allow-list (`make dev` sets the same), with retries quick enough for a test."""
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW", LOOPBACK)
    monkeypatch.setitem(app.config, "WEBHOOK_RETRY_SCHEDULE", "0.05")
    return app


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.stop()


def create_endpoint(live_server, tenant, url: str, events: list[str] | None = None) -> dict:
    response = requests.post(
        f"{live_server.url}/api/webhooks",
        headers=tenant.auth(),
        timeout=30,
        json={"url": url, "events": events or [], "description": "test receiver"},
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["secret"].startswith("whsec_") and created["enabled"] is True
    return created


def send_until(app, predicate, what: str, timeout: float = 30):
    """Runs the worker's webhook pass until the receiver (or the database) shows the expected outcome."""

    def sent():
        with app.app_context():
            webhooks.work_due()
            db.session.remove()
        return predicate()

    return wait_until(sent, timeout, what)


def deliveries(live_server, tenant, webhook_id: str) -> list[dict]:
    response = requests.get(
        f"{live_server.url}/api/webhooks/{webhook_id}/deliveries", headers=tenant.auth(), timeout=30
    )
    assert response.status_code == 200, response.text
    return response.json()["data"]


def matches_schema(api_document, name: str, instance: dict) -> None:
    """`instance` is valid against the OpenAPI document's components/schemas/`name`."""
    registry = Registry().with_resource(
        DOC_URI, Resource.from_contents(api_document, default_specification=DRAFT202012)
    )
    validator = Draft202012Validator({"$ref": f"{DOC_URI}#/components/schemas/{name}"}, registry=registry)
    errors = sorted(validator.iter_errors(instance), key=str)
    assert not errors, f"{name}: " + "; ".join(error.message for error in errors[:5])


def test_every_event_type_arrives_signed_and_a_redelivery_repeats_the_message(
    allow_loopback, live_server, tenant, receiver, run_jobs, corpus, caplog, conforms, client, api_document
):
    """Each event type comes from the real action that causes it, verified by the Standard Webhooks library, with
    `data` as docs/api.md documents it: the Image (plus `changed` for an update), and `trashed` on a deletion."""
    app = allow_loopback
    caplog.set_level(logging.DEBUG)
    endpoint = create_endpoint(live_server, tenant, receiver.url, events=IMAGE_EVENTS)
    receiver.secret = endpoint["secret"]
    api = f"{live_server.url}/api"

    image_id = upload(live_server, tenant, (corpus / "Canon_40D.jpg").read_bytes(), "beach.jpg")
    damaged_id = upload(live_server, tenant, lying_jpeg(2400, 1800), "damaged.jpg")
    run_jobs()
    edit = {"altText": "A beach at dusk", "focalPoint": {"x": 0.25, "y": 0.75}}
    edited = requests.patch(f"{api}/images/{image_id}", headers=tenant.auth(), json=edit, timeout=30)
    assert edited.status_code == 200, edited.text
    run_jobs()  # sent out while the image is there: the Image after the edit
    whole = (corpus / "Nikon_D70.jpg").read_bytes()
    for data in (whole, whole[: len(whole) // 2]):  # a replace, then one whose bytes end early
        put = requests.put(
            f"{api}/files/{image_id}/content", headers=tenant.auth(), files={"file": ("new.jpg", data)}, timeout=30
        )
        assert put.status_code == 202, put.text
        run_jobs()
    gone = requests.delete(f"{api}/images/{image_id}", headers=tenant.auth(), timeout=30)
    assert gone.status_code == 200 and gone.json()["restorableUntil"], gone.text
    back = requests.post(f"{api}/files/{image_id}/restore", headers=tenant.auth(), timeout=30)
    assert back.status_code == 200, back.text
    run_jobs()
    send_until(app, lambda: all(receiver.of_type(t) for t in IMAGE_EVENTS), "every image event type")
    purged = requests.delete(f"{api}/images/{image_id}?permanent=true", headers=tenant.auth(), timeout=30)
    assert purged.status_code == 200 and purged.json()["restorableUntil"] is None, purged.text
    run_jobs()
    send_until(app, lambda: len(receiver.of_type("image.deleted")) == 2, "the purge's image.deleted")

    assert all(r.verified is not None for r in receiver.received), [r.error for r in receiver.received]
    created = receiver.of_type("image.created")[0].verified
    assert created["data"]["fileId"] == image_id and created["data"]["width"] > 0 and created["data"]["url"]
    matches_schema(api_document, "Image", created["data"])
    failed = receiver.of_type("image.provision_failed")[0].verified
    assert set(failed["data"]) == {"object", "fileId", "workspaceId", "error"}
    assert failed["data"]["fileId"] == damaged_id and failed["data"]["error"]["code"]
    updated = receiver.of_type("image.updated")[0].verified["data"]
    assert updated.pop("changed") == edit
    matches_schema(api_document, "Image", updated)
    assert updated["altText"] == edit["altText"] and updated["focalPoint"] == edit["focalPoint"]
    trashed, purged_event = (received.verified["data"] for received in receiver.of_type("image.deleted"))
    base = {"object": "image", "fileId": image_id, "workspaceId": tenant.workspace_id}
    assert trashed == {**base, "trashed": True} and purged_event == {**base, "trashed": False}
    swapped = receiver.of_type("image.replaced")[0].verified["data"]
    assert swapped.pop("previousVersion") == {"number": 1, "cfImageId": image_id}
    assert swapped.pop("newVersion") == {"number": 2, "cfImageId": f"{image_id}.v2"}
    matches_schema(api_document, "Image", swapped)
    assert swapped["version"] == 2 and swapped["altText"] == edit["altText"]
    refused = receiver.of_type("image.replace_failed")[0].verified["data"]
    assert set(refused) == {"object", "fileId", "workspaceId", "version", "error"} and refused["version"] == 3
    assert refused["error"]["code"] == "image_damaged" and refused["error"]["message"]
    restored = receiver.of_type("image.restored")[0].verified["data"]
    matches_schema(api_document, "Image", restored)
    assert restored["fileId"] == image_id and restored["url"] and restored["altText"] == edit["altText"]
    assert len(receiver.of_type("image.created")) == 2  # the first upload, and the image made again on restore
    for received in receiver.received:
        assert received.headers["user-agent"].startswith("aeontel-webhooks/")
        assert received.headers["webhook-signature"].startswith("v1,")
        assert set(received.verified) == {"type", "timestamp", "data"}
    assert len(receiver.received) == len(IMAGE_EVENTS) + 2  # one message per event, nothing twice

    # A forged signature or another secret fails verification: the receiver's check is real.
    first = receiver.received[0]
    from standardwebhooks import Webhook
    from standardwebhooks.webhooks import WebhookVerificationError

    with pytest.raises(WebhookVerificationError):
        Webhook(webhooks.new_secret()).verify(first.body, first.headers)

    # Redelivery: the same message (same webhook-id and body), signed again, now.
    message_id = receiver.of_type("image.created")[0].headers["webhook-id"]
    again = requests.post(
        f"{live_server.url}/api/webhooks/{endpoint['id']}/deliveries/{message_id}/redeliver",
        headers=tenant.auth(),
        timeout=30,
    )
    assert again.status_code == 202 and again.json()["state"] == "pending", again.text
    send_until(app, lambda: len(receiver.of_type("image.created")) == 3, "the redelivery")
    first_try, _, second_try = receiver.of_type("image.created")
    assert second_try.headers["webhook-id"] == message_id and second_try.body == first_try.body

    # The ping, and every attempt visible to the owner.
    ping = requests.post(f"{live_server.url}/api/webhooks/{endpoint['id']}/test", headers=tenant.auth(), timeout=30)
    assert ping.status_code == 202, ping.text
    send_until(app, lambda: receiver.of_type("webhook.test"), "the test ping")
    listed = deliveries(live_server, tenant, endpoint["id"])
    conforms(
        client.get(f"/api/webhooks/{endpoint['id']}/deliveries", headers=tenant.auth()),
        "/api/webhooks/{webhook_id}/deliveries",
        "GET",
    )  # the real payloads and attempt logs, as documented
    assert {d["eventType"] for d in listed} == {*IMAGE_EVENTS, "webhook.test"}
    assert all(d["state"] == "succeeded" and d["lastStatus"] == 200 for d in listed)
    redelivered = next(d for d in listed if d["id"] == message_id)
    assert [a["status"] for a in redelivered["attemptLog"]] == [200, 200]
    assert redelivered["attemptLog"][0]["responseExcerpt"] == f"answered 200 to {message_id}"
    assert endpoint["secret"] not in caplog.text


def test_collections_and_tags_are_announced_with_what_changed(
    allow_loopback, live_server, tenant, receiver, run_jobs, corpus, api_document
):
    """collection.created/updated/deleted carry the Collection (or, once gone, its id and name); image.updated says
    which tags and collections changed."""
    app = allow_loopback
    endpoint = create_endpoint(
        live_server,
        tenant,
        receiver.url,
        events=["image.updated", *(t for t in webhooks.EVENT_TYPES if "collection" in t)],
    )
    receiver.secret = endpoint["secret"]
    api, auth = f"{live_server.url}/api", tenant.auth()
    image_id = upload(live_server, tenant, (corpus / "Canon_40D.jpg").read_bytes(), "beach.jpg")
    run_jobs()
    made = requests.post(f"{api}/collections", json={"projectId": tenant.project_id, "name": "Beach"}, headers=auth)
    collection = made.json()["id"]
    requests.patch(f"{api}/collections/{collection}", json={"name": "Coast"}, headers=auth)
    requests.post(f"{api}/collections/{collection}/images", json={"ids": [image_id]}, headers=auth)
    requests.post(f"{api}/images/tags", json={"ids": [image_id], "add": ["Sea", "dusk"]}, headers=auth)
    assert requests.delete(f"{api}/collections/{collection}", headers=auth).status_code == 204
    run_jobs()
    send_until(app, lambda: receiver.of_type("collection.deleted"), "the collection's deletion")
    created = receiver.of_type("collection.created")[0].verified["data"]
    assert created["id"] == collection  # sent after the rename and the deletion: the name it has then
    updates = [r.verified["data"]["changed"] for r in receiver.of_type("collection.updated")]
    assert sorted(updates, key=str) == [{"imagesAdded": 1}, {"name": "Coast"}]  # each sent on its own, any order
    assert receiver.of_type("collection.deleted")[0].verified["data"] == {
        "object": "collection",
        "id": collection,
        "workspaceId": tenant.workspace_id,
        "name": "Coast",
        "projectId": tenant.project_id,
    }
    grouped, tagged = sorted(
        (r.verified["data"] for r in receiver.of_type("image.updated")), key=lambda d: "tags" in d["changed"]
    )
    assert grouped.pop("changed") == {"collections": {"added": [collection]}}
    assert tagged.pop("changed") == {"tags": {"added": ["dusk", "Sea"]}}
    matches_schema(api_document, "Image", tagged)
    assert tagged["tags"] == ["dusk", "Sea"] and tagged["collections"] == []  # the collection is gone by now


def test_a_failing_receiver_gets_the_retry_and_each_attempt_is_logged(allow_loopback, live_server, tenant, app):
    receiver = Receiver(statuses=[500, 503, 200])
    try:
        endpoint = create_endpoint(live_server, tenant, receiver.url, events=["image.updated"])
        receiver.secret = endpoint["secret"]
        with app.app_context():
            emit(EventType.IMAGE_UPDATED, workspace_id=tenant.workspace_id, subject_id="fil_x")
            emit(EventType.IMAGE_DELETED, workspace_id=tenant.workspace_id, subject_id="fil_x")  # not subscribed
            db.session.commit()
            from app.domain.events import Event, dispatch

            for event_id in db.session.scalars(select(Event.id)).all():
                dispatch(event_id)
        send_until(app, lambda: len(receiver.received) == 3, "two failures and a success")
        (delivery,) = deliveries(live_server, tenant, endpoint["id"])
        assert delivery["state"] == "succeeded" and delivery["attempts"] == 3
        assert [a["status"] for a in reversed(delivery["attemptLog"])] == [500, 503, 200]
        assert all(a["durationMs"] >= 0 and a["responseExcerpt"].startswith("answered") for a in delivery["attemptLog"])
        assert len({r.headers["webhook-id"] for r in receiver.received}) == 1
        assert all(r.verified for r in receiver.received)
    finally:
        receiver.stop()


def test_an_endpoint_failing_for_the_disable_window_is_disabled_with_a_reason_and_resumes_when_enabled(
    allow_loopback, live_server, tenant, app, monkeypatch
):
    monkeypatch.setitem(app.config, "WEBHOOK_DISABLE_AFTER_SECONDS", 0.3)
    receiver = Receiver(statuses=[500])
    try:
        endpoint = create_endpoint(live_server, tenant, receiver.url)
        receiver.secret = endpoint["secret"]
        with app.app_context():
            emit(EventType.IMAGE_UPDATED, workspace_id=tenant.workspace_id, subject_id="fil_x")
            db.session.commit()
            from app.domain.events import Event, dispatch

            dispatch(db.session.scalars(select(Event.id)).one())

        def disabled():
            with app.app_context():
                try:
                    return not db.session.get(WebhookEndpoint, endpoint["id"]).enabled
                finally:
                    db.session.remove()

        send_until(app, disabled, "the endpoint disabled")
        shown = requests.get(f"{live_server.url}/api/webhooks/{endpoint['id']}", headers=tenant.auth(), timeout=30)
        assert shown.json()["enabled"] is False
        assert "failed" in shown.json()["disabledReason"] and "HTTP 500" in shown.json()["disabledReason"]
        tried = len(receiver.received)
        with app.app_context():
            assert webhooks.due_ids() == []  # its pending delivery waits; nothing more is sent
            assert webhooks.work_due() == 0
            # Redelivery of a disabled endpoint's message is refused with a reason.
        (delivery,) = deliveries(live_server, tenant, endpoint["id"])
        refused = requests.post(
            f"{live_server.url}/api/webhooks/{endpoint['id']}/deliveries/{delivery['id']}/redeliver",
            headers=tenant.auth(),
            timeout=30,
        )
        assert refused.status_code == 409 and refused.json()["code"] == "webhook_disabled"
        assert len(receiver.received) == tried

        receiver.statuses = [200]
        enabled = requests.patch(
            f"{live_server.url}/api/webhooks/{endpoint['id']}",
            headers=tenant.auth(),
            timeout=30,
            json={"enabled": True},
        )
        assert enabled.status_code == 200 and enabled.json()["disabledReason"] is None
        send_until(app, lambda: receiver.received[-1:] and len(receiver.received) > tried, "the resumed delivery")
        (delivery,) = deliveries(live_server, tenant, endpoint["id"])
        assert delivery["state"] == "succeeded"
    finally:
        receiver.stop()


def test_a_message_is_given_up_after_the_give_up_window(allow_loopback, tenant, app, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_GIVE_UP_SECONDS", 0.2)
    receiver = Receiver(statuses=[500])
    try:
        with app.app_context():
            endpoint, receiver.secret = webhooks.create_endpoint(tenant.workspace_id, receiver.url)
            emit(EventType.IMAGE_UPDATED, workspace_id=tenant.workspace_id, subject_id="fil_x")
            db.session.commit()
            from app.domain.events import Event, dispatch

            dispatch(db.session.scalars(select(Event.id)).one())
            endpoint_id = endpoint.id

        def given_up():
            with app.app_context():
                try:
                    return db.session.scalars(select(WebhookDelivery.state)).one() == "failed"
                finally:
                    db.session.remove()

        send_until(app, given_up, "the message given up")
        with app.app_context():
            assert db.session.get(WebhookEndpoint, endpoint_id).enabled  # a day of failures has not passed
    finally:
        receiver.stop()


def test_the_worker_process_delivers_from_the_database(app, base_settings, tenant, live_server, receiver, corpus):
    """`python worker.py` as deployed: its webhook thread sends what the outbox fanned out, with no call from here."""
    from pathlib import Path

    from tests.test_provisioning_e2e import WorkerProcess

    log = Path(base_settings["instance_dir"]) / "webhook-worker.log"
    worker = WorkerProcess(base_settings, log)
    worker.env.update(WEBHOOK_ALLOW=LOOPBACK)
    with app.app_context():
        app.config["WEBHOOK_ALLOW"] = LOOPBACK
        try:
            endpoint, receiver.secret = webhooks.create_endpoint(
                tenant.workspace_id, receiver.url, events=["image.created"]
            )
        finally:
            app.config["WEBHOOK_ALLOW"] = ""
    worker.start()
    try:
        file_id = upload(live_server, tenant, (corpus / "Nikon_D70.jpg").read_bytes(), "team.jpg")
        wait_until(lambda: receiver.of_type("image.created"), 60, "image.created at the receiver")
    finally:
        worker.stop()
    assert receiver.of_type("image.created")[0].verified["data"]["fileId"] == file_id
    assert receiver.secret not in log.read_text()


def one_delivery(app, tenant, url: str) -> str:
    with app.app_context():
        endpoint, secret = webhooks.create_endpoint(tenant.workspace_id, url)
        event_id = emit(EventType.IMAGE_UPDATED, workspace_id=tenant.workspace_id, subject_id="fil_x").id
        db.session.commit()
        from app.domain.events import dispatch

        dispatch(event_id)
        db.session.remove()
        return secret


def attempts_of(app) -> list:
    from app.domain.webhooks import WebhookAttempt

    with app.app_context():
        try:
            return [(a.status_code, a.error) for a in db.session.scalars(select(WebhookAttempt))]
        finally:
            db.session.remove()


def test_redirects_are_not_followed_and_slow_endpoints_time_out(allow_loopback, tenant, app, monkeypatch):
    redirecting = Receiver(statuses=[302])
    try:
        redirecting.secret = one_delivery(app, tenant, redirecting.url)
        with app.app_context():
            assert webhooks.work_due() == 1
        assert attempts_of(app) == [(302, None)] and len(redirecting.received) == 1  # not followed anywhere
    finally:
        redirecting.stop()
    monkeypatch.setitem(app.config, "WEBHOOK_TIMEOUT_SECONDS", 0.5)
    silent = Receiver(hold=True)
    try:
        with app.app_context():
            db.session.execute(WebhookEndpoint.__table__.delete())
            db.session.commit()
        silent.secret = one_delivery(app, tenant, silent.url)
        with app.app_context():
            assert webhooks.work_due() == 1
        assert attempts_of(app) == [(None, "timeout: the endpoint did not answer in time")], attempts_of(app)
    finally:
        silent.stop()


def test_the_webhook_thread_delivers_with_redis_away(make_app, base_settings, tenant, receiver):
    """Deliveries are rows: the worker's webhook pass needs the database and the receiver, not Redis."""
    import worker

    app = make_app(redis_url="redis://127.0.0.1:9/0", webhook_allow=LOOPBACK)
    receiver.secret = one_delivery(app, tenant, receiver.url)  # the event's enqueue fails quietly; dispatched here
    wait_until(lambda: worker.run_webhooks_once(app) or receiver.of_type("image.updated"), 30, "the delivery")
    assert receiver.received[0].verified["data"]["fileId"] == "fil_x"


@pytest.mark.parametrize("url,port", [("http://[::1]/hooks", 80), ("https://[::1]/hooks", 443)])
def test_an_ipv6_literal_endpoint_without_a_port_targets_the_schemes_port(url, port):
    """The connection a delivery opens, built as `_post` builds it but not connected (http.client read `::1`'s last
    group as the port: port 1)."""
    parts = urlsplit(url)
    kind = PinnedHTTPSConnection if parts.scheme == "https" else PinnedHTTPConnection
    conn = kind(parts.hostname, parts.port, timeout=1)
    assert (conn.host, conn.port) == ("::1", port)


def test_an_ipv6_literal_endpoint_receives_its_delivery(allow_loopback, tenant, app):
    """`http://[::1]:<port>/hooks` reaches the endpoint with `Host: [::1]:<port>`."""
    endpoint = V6Origin()
    try:
        one_delivery(app, tenant, endpoint.url("/hooks"))
        with app.app_context():
            assert webhooks.work_due() == 1
        assert attempts_of(app) == [(200, None)]
        assert endpoint.requests == [("POST", "/hooks", endpoint.host)]
    finally:
        endpoint.close()
