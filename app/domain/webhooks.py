"""Webhooks: subscribers of the outbox. Each dispatched event an endpoint wants becomes a delivery row in the dispatch
transaction; the worker sends it signed per Standard Webhooks, retries it from the database and logs every attempt."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app
from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    delete,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column
from standardwebhooks import Webhook

from app.adapters import webhook_sender
from app.config import webhook_schedule
from app.domain import durable
from app.domain.common import UTCDateTime, isoformat, new_id, utcnow
from app.domain.errors import DomainError, NotFound
from app.domain.events import Event, handles_each
from app.domain.shapes import MAX_DESCRIPTION
from app.event_types import WEBHOOK_EVENTS, WEBHOOK_TEST_EVENT, EventType
from app.extensions import db
from app.netguard import AddressAllow, AddressRefused, resolve_checked

log = logging.getLogger(__name__)

EVENT_TYPES = WEBHOOK_EVENTS
TEST_EVENT = WEBHOOK_TEST_EVENT
MAX_ENDPOINTS = 20
MAX_URL = 2048
EXCERPT = webhook_sender.EXCERPT
USER_AGENT = "aeontel-webhooks/1 (+https://www.standardwebhooks.com/)"
# One attempt holds its row this long; a worker that dies mid-send leaves it to the next pass after that.
LEASE = timedelta(seconds=120)
PASS_SECONDS = 20.0
SENDERS = 8
# Finished messages and their attempts are kept this long for owners to look at, then purged.
KEEP = timedelta(days=30)


class WebhookEndpoint(db.Model):
    """Where a workspace wants its events: a URL, the event types (empty = all) and the signing secret (encrypted)."""

    __tablename__ = "webhook_endpoint"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("whk"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(MAX_URL))
    description: Mapped[str] = mapped_column(String(MAX_DESCRIPTION), default="")
    event_types: Mapped[list] = mapped_column(JSON, default=list)
    secret_encrypted: Mapped[str] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    first_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def wants(self, event_type: str) -> bool:
        return not self.event_types or event_type in self.event_types


class WebhookDelivery(db.Model):
    """One message to one endpoint; its id is the `webhook-id` header, the same on every attempt and redelivery."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_id", name="uq_webhook_delivery_endpoint_event"),
        Index("ix_webhook_delivery_state_next_attempt_at", "state", "next_attempt_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("msg"))
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("webhook_endpoint.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[str] = mapped_column(String(32))
    event_type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending | succeeded | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Since when this message has been trying (creation or the last redelivery): it is given up a day after.
    pending_since: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)


class WebhookAttempt(db.Model):
    """One try at sending a delivery: what came back, how long it took, the first KB of the answer."""

    __tablename__ = "webhook_attempt"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("att"))
    delivery_id: Mapped[str] = mapped_column(ForeignKey("webhook_delivery.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    response_excerpt: Mapped[str] = mapped_column(Text, default="")


def _fernet() -> Fernet:
    """Signing secrets are stored encrypted with a key derived from SECRET_KEY (they must stay usable to sign)."""
    key = hashlib.sha256(b"aeontel webhook secrets\x00" + current_app.config["SECRET_KEY"].encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def secret_of(endpoint: WebhookEndpoint) -> str:
    try:
        return _fernet().decrypt(endpoint.secret_encrypted.encode()).decode()
    except InvalidToken:
        raise DomainError(
            "webhook_secret_unreadable",
            "The signing secret cannot be decrypted with this SECRET_KEY; rotate it (PATCH with rotateSecret).",
            status=409,
        ) from None


def allow_rules() -> AddressAllow:
    return AddressAllow.parse(current_app.config.get("WEBHOOK_ALLOW", ""), "WEBHOOK_ALLOW")


def check_url(url) -> str:
    """http(s) with a host that resolves to public addresses only (or ones WEBHOOK_ALLOW permits)."""
    if not isinstance(url, str) or not url.strip() or len(url) > MAX_URL:
        raise DomainError(
            "invalid_url", f"url must be an http:// or https:// URL of at most {MAX_URL} characters.", status=400
        )
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise DomainError("invalid_url", "url must be an http:// or https:// URL with a host.", status=400)
    if parts.username is not None or parts.fragment:
        raise DomainError("invalid_url", "url must not carry credentials or a fragment.", status=400)
    try:
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    except ValueError:
        raise DomainError("invalid_url", "url has an invalid port.", status=400) from None
    try:
        resolve_checked(parts.hostname, port, allow_rules())
    except AddressRefused as refused:
        raise DomainError(
            "url_not_public",
            f"Webhooks are only sent to public addresses: {refused.reason} "
            "(WEBHOOK_ALLOW can permit it on a development server).",
            status=400,
        ) from None
    return url


def _event_types(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise DomainError("invalid_events", "events must be a list of event types.", status=400)
    unknown = sorted(set(value) - set(EVENT_TYPES))
    if unknown:
        raise DomainError(
            "invalid_events",
            f"Unknown event types {', '.join(unknown)}; the supported ones are {', '.join(EVENT_TYPES)}.",
            status=400,
        )
    return sorted(set(value), key=EVENT_TYPES.index)


def _description(value) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > MAX_DESCRIPTION or "\x00" in value:
        raise DomainError(
            "invalid_description", f"description must be text of at most {MAX_DESCRIPTION} characters.", status=400
        )
    return value


def create_endpoint(workspace_id: str, url, events=None, description=None) -> tuple[WebhookEndpoint, str]:
    """Returns the endpoint and its signing secret, which the caller shows once."""
    count = len(
        db.session.scalars(select(WebhookEndpoint.id).where(WebhookEndpoint.workspace_id == workspace_id)).all()
    )
    if count >= MAX_ENDPOINTS:
        raise DomainError(
            "too_many_webhooks", f"A workspace has at most {MAX_ENDPOINTS} webhook endpoints.", status=409
        )
    endpoint = WebhookEndpoint(
        id=new_id("whk"),
        workspace_id=workspace_id,
        url=check_url(url),
        description=_description(description),
        event_types=_event_types(events),
        enabled=True,
        created_at=utcnow(),
        updated_at=utcnow(),
    )
    secret = new_secret()
    endpoint.secret_encrypted = _fernet().encrypt(secret.encode()).decode()
    db.session.add(endpoint)
    db.session.commit()
    return endpoint, secret


def get_endpoint(workspace_id: str, endpoint_id: str) -> WebhookEndpoint:
    endpoint = db.session.get(WebhookEndpoint, endpoint_id) if _plausible(endpoint_id) else None
    if endpoint is None or endpoint.workspace_id != workspace_id:
        raise NotFound("webhook_not_found", f"No webhook endpoint {endpoint_id!r} in this workspace.")
    return endpoint


def _plausible(value) -> bool:
    return isinstance(value, str) and 0 < len(value) <= 32 and "\x00" not in value


def list_endpoints(workspace_id: str) -> list[WebhookEndpoint]:
    return list(
        db.session.scalars(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.workspace_id == workspace_id)
            .order_by(WebhookEndpoint.created_at)
        )
    )


# What PATCH /api/webhooks/{id} may change.
CHANGEABLE = ("url", "events", "description", "enabled", "rotateSecret")


def update_endpoint(workspace_id: str, endpoint_id: str, changes: dict) -> tuple[WebhookEndpoint, str | None]:
    """Changes url, events, description or enabled; re-enabling resumes its pending messages now. rotateSecret: true
    gives a new secret (returned, shown once)."""
    endpoint = get_endpoint(workspace_id, endpoint_id)
    unknown = sorted(set(changes) - set(CHANGEABLE))
    if unknown:
        raise DomainError("unknown_field", f"Unknown fields {', '.join(unknown)}.", status=400, parameter=unknown[0])
    if "url" in changes:
        endpoint.url = check_url(changes["url"])
    if "events" in changes:
        endpoint.event_types = _event_types(changes["events"])
    if "description" in changes:
        endpoint.description = _description(changes["description"])
    if "enabled" in changes:
        if not isinstance(changes["enabled"], bool):
            raise DomainError("invalid_field", "enabled must be true or false.", status=400)
        if changes["enabled"] and not endpoint.enabled:
            now = utcnow()
            endpoint.disabled_reason, endpoint.disabled_at, endpoint.first_failure_at = None, None, None
            db.session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.state == "pending")
                .values(next_attempt_at=now, pending_since=now, lease_until=None)
            )
        elif not changes["enabled"] and endpoint.enabled:
            endpoint.disabled_reason, endpoint.disabled_at = "Disabled by an owner.", utcnow()
        endpoint.enabled = changes["enabled"]
    secret = None
    if changes.get("rotateSecret") is True:
        secret = new_secret()
        endpoint.secret_encrypted = _fernet().encrypt(secret.encode()).decode()
    endpoint.updated_at = utcnow()
    db.session.commit()
    return endpoint, secret


def delete_endpoint(workspace_id: str, endpoint_id: str) -> None:
    endpoint = get_endpoint(workspace_id, endpoint_id)
    delivery_ids = select(WebhookDelivery.id).where(WebhookDelivery.endpoint_id == endpoint.id)
    db.session.execute(delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(delivery_ids)))
    db.session.execute(delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id))
    db.session.delete(endpoint)
    db.session.commit()


def list_deliveries(workspace_id: str, endpoint_id: str, limit: int = 50) -> list[tuple[WebhookDelivery, list]]:
    """The newest deliveries with their attempts, newest first."""
    endpoint = get_endpoint(workspace_id, endpoint_id)
    rows = list(
        db.session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.endpoint_id == endpoint.id)
            .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())
            .limit(limit)
        )
    )
    attempts: dict[str, list] = {row.id: [] for row in rows}
    if rows:
        for attempt in db.session.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id.in_(attempts))
            .order_by(WebhookAttempt.at.desc(), WebhookAttempt.id.desc())
        ):
            attempts[attempt.delivery_id].append(attempt)
    return [(row, attempts[row.id]) for row in rows]


def redeliver(workspace_id: str, endpoint_id: str, delivery_id: str) -> WebhookDelivery:
    """A new attempt of the same message (same webhook-id), now, whatever state it ended in."""
    endpoint = get_endpoint(workspace_id, endpoint_id)
    delivery = db.session.get(WebhookDelivery, delivery_id) if _plausible(delivery_id) else None
    if delivery is None or delivery.endpoint_id != endpoint.id:
        raise NotFound("webhook_delivery_not_found", f"No delivery {delivery_id!r} of this webhook endpoint.")
    if not endpoint.enabled:
        raise DomainError(
            "webhook_disabled", "The endpoint is disabled; enable it first (PATCH enabled=true).", status=409
        )
    now = utcnow()
    delivery.state, delivery.next_attempt_at, delivery.pending_since, delivery.lease_until = "pending", now, now, None
    db.session.commit()
    return delivery


def send_test(workspace_id: str, endpoint_id: str) -> WebhookDelivery:
    """A `webhook.test` message to check the endpoint and its signature verification."""
    endpoint = get_endpoint(workspace_id, endpoint_id)
    if not endpoint.enabled:
        raise DomainError(
            "webhook_disabled", "The endpoint is disabled; enable it first (PATCH enabled=true).", status=409
        )
    now = utcnow()
    delivery = WebhookDelivery(
        id=new_id("msg"),
        endpoint_id=endpoint.id,
        event_id=new_id("evt"),
        event_type=TEST_EVENT,
        state="pending",
        attempts=0,
        next_attempt_at=now,
        pending_since=now,
        created_at=now,
        payload={
            "type": TEST_EVENT,
            "timestamp": isoformat(now),
            "data": {"webhookId": endpoint.id, "workspaceId": workspace_id},
        },
    )
    db.session.add(delivery)
    db.session.commit()
    return delivery


def _collection_data(event: Event) -> dict:
    """The Collection as it is now (plus `changed`), or, once it is gone, its id, name and project."""
    from app.domain.grouping import Collection
    from app.domain.shapes import collection_json

    payload = event.payload or {}
    extra = {"changed": payload["changed"]} if "changed" in payload else {}
    collection = db.session.get(Collection, event.subject_id)
    if collection is None or event.type == EventType.COLLECTION_DELETED:
        gone = {"object": "collection", "id": event.subject_id, "workspaceId": event.workspace_id}
        return {**gone, "name": payload.get("name"), "projectId": payload.get("projectId"), **extra}
    return {**collection_json(collection), **extra}


def _event_data(event: Event) -> dict:
    from app.domain.files import File
    from app.domain.images import Image
    from app.domain.shapes import image_json

    if event.type.startswith("collection."):
        return _collection_data(event)
    base = {"object": "image", "fileId": event.subject_id, "workspaceId": event.workspace_id}
    payload = event.payload or {}
    if event.type == EventType.IMAGE_DELETED:
        return {**base, "trashed": bool(payload.get("trashed"))}
    if event.type == EventType.IMAGE_PROVISION_FAILED:
        return {**base, "error": {"code": payload.get("code"), "message": payload.get("message")}}
    if event.type == EventType.IMAGE_REPLACE_FAILED:
        error = {"code": payload.get("code"), "message": payload.get("message")}
        return {**base, "version": payload.get("version"), "error": error}
    extra = {"changed": payload.get("changed", {})} if event.type == EventType.IMAGE_UPDATED else {}
    if event.type == EventType.IMAGE_REPLACED:
        extra = {"previousVersion": payload.get("previousVersion"), "newVersion": payload.get("version")}
    image, file = db.session.get(Image, event.subject_id), db.session.get(File, event.subject_id)
    if image is None or file is None:
        return {**base, **extra}  # gone since: the event still says what happened to which file
    try:
        return {**image_json(image, file), **extra}
    except Exception:  # noqa: BLE001 - a delivery URL that cannot be built (signing key unreachable) must not block
        log.warning("webhook payload of %s without delivery URLs", event.id, exc_info=True)
        return {
            **base,
            "cfImageId": image.cf_image_id,
            "width": image.width,
            "height": image.height,
            "name": file.name,
            "mimeType": file.mime_type,
            **extra,
        }


@handles_each(WEBHOOK_EVENTS)
def _fan_out(event: Event) -> None:
    """One delivery per enabled endpoint of the workspace that wants this type; a re-dispatch adds none."""
    endpoints = [
        endpoint
        for endpoint in db.session.scalars(
            select(WebhookEndpoint).where(
                WebhookEndpoint.workspace_id == event.workspace_id, WebhookEndpoint.enabled.is_(True)
            )
        )
        if endpoint.wants(event.type)
    ]
    if not endpoints:
        return
    have = set(db.session.scalars(select(WebhookDelivery.endpoint_id).where(WebhookDelivery.event_id == event.id)))
    payload = {"type": event.type, "timestamp": isoformat(event.created_at), "data": _event_data(event)}
    now = utcnow()
    for endpoint in endpoints:
        if endpoint.id not in have:
            db.session.add(
                WebhookDelivery(
                    id=new_id("msg"),
                    endpoint_id=endpoint.id,
                    event_id=event.id,
                    event_type=event.type,
                    payload=payload,
                    state="pending",
                    attempts=0,
                    next_attempt_at=now,
                    pending_since=now,
                    created_at=now,
                )
            )


RETRIED = durable.Retried(
    key=WebhookDelivery.id,
    next_attempt_at=WebhookDelivery.next_attempt_at,
    lease_until=WebhookDelivery.lease_until,
    attempts=WebhookDelivery.attempts,
)


def body_of(delivery: WebhookDelivery) -> str:
    return json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False)


def _next_attempt(attempts: int) -> datetime:
    schedule = webhook_schedule(current_app.config["WEBHOOK_RETRY_SCHEDULE"])
    return utcnow() + timedelta(seconds=durable.scheduled(attempts, schedule))


def deliver(delivery_id: str) -> str:
    """Claims one due delivery (only one claimer wins), sends it signed and logs the attempt."""
    if not RETRIED.claim(delivery_id, WebhookDelivery.state == "pending", lease=LEASE):
        return "not-due"
    delivery = db.session.get(WebhookDelivery, delivery_id)
    endpoint = delivery and db.session.get(WebhookEndpoint, delivery.endpoint_id)
    if delivery is None or endpoint is None:
        return "gone"
    if not endpoint.enabled:
        delivery.lease_until, delivery.attempts = None, delivery.attempts - 1
        db.session.commit()
        return "endpoint-disabled"
    started = time.monotonic()
    status, error, excerpt = None, None, ""
    try:
        body = body_of(delivery)
        now = utcnow()
        signature = Webhook(secret_of(endpoint)).sign(delivery.id, now, body)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "webhook-id": delivery.id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": signature,
        }
        timeout = current_app.config["WEBHOOK_TIMEOUT_SECONDS"]
        status, excerpt = webhook_sender.post(endpoint.url, body.encode(), headers, timeout, allow_rules())
    except webhook_sender.SendFailed as failed:
        error = failed.reason
    except DomainError as exc:
        error = f"{exc.code}: {exc.message}"
    return _record(delivery, endpoint, status, error, excerpt, int((time.monotonic() - started) * 1000))


def _record(
    delivery: WebhookDelivery,
    endpoint: WebhookEndpoint,
    status: int | None,
    error: str | None,
    excerpt: str,
    duration_ms: int,
) -> str:
    now = utcnow()
    db.session.add(
        WebhookAttempt(
            id=new_id("att"),
            delivery_id=delivery.id,
            at=now,
            status_code=status,
            error=error,
            duration_ms=duration_ms,
            response_excerpt=excerpt[:EXCERPT],
        )
    )
    delivery.last_attempt_at, delivery.last_status, delivery.lease_until = now, status, None
    delivery.last_error = error or (None if status and 200 <= status < 300 else f"HTTP {status}")
    if status is not None and 200 <= status < 300:
        delivery.state = "succeeded"
        endpoint.first_failure_at = None
        db.session.commit()
        return "succeeded"
    config = current_app.config
    if durable.expired(delivery.pending_since, config["WEBHOOK_GIVE_UP_SECONDS"], now):
        delivery.state = "failed"
    else:
        delivery.next_attempt_at = _next_attempt(delivery.attempts)
    endpoint.first_failure_at = endpoint.first_failure_at or now
    failing_for = (now - endpoint.first_failure_at).total_seconds()
    if endpoint.enabled and failing_for >= config["WEBHOOK_DISABLE_AFTER_SECONDS"]:
        endpoint.enabled, endpoint.disabled_at = False, now
        endpoint.disabled_reason = (
            f"Every delivery failed for {_duration(failing_for)} (last: "
            f"{delivery.last_error}); enable the endpoint again to resume."
        )
        log.warning("webhook endpoint %s disabled: %s", endpoint.id, endpoint.disabled_reason)
    db.session.commit()
    log.info("webhook %s to %s failed (%s); state %s", delivery.id, endpoint.id, delivery.last_error, delivery.state)
    return "failed" if delivery.state == "failed" else "retry"


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds:.0f} s"


def due_ids(limit: int = 200) -> list[str]:
    return RETRIED.due_keys(
        WebhookDelivery.state == "pending",
        WebhookEndpoint.enabled.is_(True),
        join=(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id),
        limit=limit,
    )


def purge_old(keep: timedelta = KEEP) -> int:
    """Finished messages (and their attempts) older than `keep` go, so the log stays a log and not an archive."""
    cutoff = utcnow() - keep
    old = (
        select(WebhookDelivery.id)
        .where(
            WebhookDelivery.state != "pending",
            WebhookDelivery.created_at < cutoff,
            or_(WebhookDelivery.last_attempt_at.is_(None), WebhookDelivery.last_attempt_at < cutoff),
        )
        .limit(1000)
    )
    ids = list(db.session.scalars(old))
    if ids:
        db.session.execute(delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(ids)))
        db.session.execute(delete(WebhookDelivery).where(WebhookDelivery.id.in_(ids)))
    db.session.commit()
    return len(ids)


def work_due(limit: int = 200, budget: float = PASS_SECONDS) -> int:
    """Sends due deliveries, a few at a time so one slow endpoint does not hold up the others; returns how many
    were tried."""
    app = current_app._get_current_object()
    ids = due_ids(limit)
    if not ids:
        return 0
    started = time.monotonic()

    def send(delivery_id: str) -> str:
        if time.monotonic() - started > budget:
            return "later"
        with app.app_context():
            try:
                return deliver(delivery_id)
            except Exception:  # noqa: BLE001 - one delivery's bug must not stop the others
                log.exception("webhook delivery %s failed unexpectedly", delivery_id)
                db.session.rollback()
                return "error"
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=min(SENDERS, len(ids)), thread_name_prefix="webhook") as pool:
        outcomes = list(pool.map(send, ids))
    return sum(outcome in ("succeeded", "retry", "failed") for outcome in outcomes)
