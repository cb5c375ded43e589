"""The event types, named once: emitters, handlers, webhook subscriptions, the CLI and the tests use these members,
so a misspelt type fails where it is written instead of never firing (stdlib only: remote faces import it too)."""

from __future__ import annotations

from enum import StrEnum


class EventType(StrEnum):
    """Every event the outbox carries; the value is what is stored and what webhook subscribers see."""

    FILE_READY = "file.ready"
    FILE_DELETED = "file.deleted"
    FILE_RESTORED = "file.restored"
    FILE_PURGED = "file.purged"
    IMAGE_PROVISION_REQUESTED = "image.provision_requested"
    IMAGE_CREATED = "image.created"
    IMAGE_PROVISION_FAILED = "image.provision_failed"
    IMAGE_DELETED = "image.deleted"
    IMAGE_RESTORED = "image.restored"
    IMAGE_UPDATED = "image.updated"
    IMAGE_REPLACE_REQUESTED = "image.replace_requested"
    IMAGE_REPLACED = "image.replaced"
    IMAGE_REPLACE_FAILED = "image.replace_failed"
    COLLECTION_CREATED = "collection.created"
    COLLECTION_UPDATED = "collection.updated"
    COLLECTION_DELETED = "collection.deleted"


# What a webhook endpoint may subscribe to, in the order the API lists them.
WEBHOOK_EVENTS: tuple[EventType, ...] = (
    EventType.IMAGE_CREATED,
    EventType.IMAGE_PROVISION_FAILED,
    EventType.IMAGE_DELETED,
    EventType.IMAGE_RESTORED,
    EventType.IMAGE_UPDATED,
    EventType.IMAGE_REPLACED,
    EventType.IMAGE_REPLACE_FAILED,
    EventType.COLLECTION_CREATED,
    EventType.COLLECTION_UPDATED,
    EventType.COLLECTION_DELETED,
)
# The message `POST /api/webhooks/{id}/test` sends; never an outbox event.
WEBHOOK_TEST_EVENT = "webhook.test"


def event_type(value: str) -> EventType:
    """The member for a stored or written type; an unknown one is a ValueError naming the known ones."""
    try:
        return EventType(value)
    except ValueError:
        known = ", ".join(member.value for member in EventType)
        raise ValueError(f"unknown event type {value!r}; the known ones are {known}") from None
