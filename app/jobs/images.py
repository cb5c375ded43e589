from app.domain import images
from app.jobs import job


@job
def provision_image(file_id: str) -> str:
    return images.provision(file_id)


@job
def delete_image_copies(file_id: str, cf_image_ids: list[str]) -> int:
    """Kept for jobs enqueued before removals became `pending_removal` rows (app.jobs.removals); nothing new uses it."""
    return images.delete_copies(file_id, cf_image_ids)
