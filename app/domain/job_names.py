"""The RQ jobs the domain enqueues, named once: each member is the dotted path of a function in `app.jobs`, which
checks at import that its function is where its name says (the domain may not import the jobs it enqueues)."""

from __future__ import annotations

from enum import StrEnum


class Job(StrEnum):
    DISPATCH_EVENT = "app.jobs.events.dispatch_event"
    PROVISION_IMAGE = "app.jobs.images.provision_image"
    PROVISION_VERSION = "app.jobs.images.provision_version"
    DELETE_IMAGE_COPIES = "app.jobs.images.delete_image_copies"
    BACKFILL_IMAGE_FACTS = "app.jobs.images.backfill_image_facts"
    PURGE_FILE_BYTES = "app.jobs.files.purge_file_bytes"
    PERFORM_REMOVAL = "app.jobs.removals.perform_removal"
    BACKFILL_PHASHES = "app.jobs.images.backfill_phashes"
