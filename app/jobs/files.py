from app.domain import services
from app.domain.job_names import Job
from app.domain.masters import master_key
from app.jobs import job


@job(Job.PURGE_FILE_BYTES)
def purge_file_bytes(storage_key: str) -> str:
    """Kept for jobs enqueued before removals became `pending_removal` rows (app.jobs.removals); nothing new uses it."""
    storage = services.storage()
    storage.delete(master_key(storage_key))  # the master, if one was made, goes with its original
    storage.delete(storage_key)
    return "purged"
