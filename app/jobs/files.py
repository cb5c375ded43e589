from flask import current_app

from app.jobs import job


@job
def purge_file_bytes(storage_key: str) -> str:
    """Kept for jobs enqueued before removals became `pending_removal` rows (app.jobs.removals); nothing new uses it."""
    current_app.extensions["storage"].delete(storage_key)
    return "purged"
