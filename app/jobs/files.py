from flask import current_app

from app.jobs import job


@job
def purge_file_bytes(storage_key: str) -> str:
    current_app.extensions["storage"].delete(storage_key)
    return "purged"
