from flask import current_app

from app.domain.masters import master_key
from app.jobs import job


@job
def purge_file_bytes(storage_key: str) -> str:
    """Kept for jobs enqueued before removals became `pending_removal` rows (app.jobs.removals); nothing new uses it."""
    storage = current_app.extensions["storage"]
    storage.delete(master_key(storage_key))  # the master, if one was made, goes with its original
    storage.delete(storage_key)
    return "purged"
