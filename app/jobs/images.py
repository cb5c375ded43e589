from app.domain import duplicates, images, versions
from app.domain.job_names import Job
from app.jobs import job


@job(Job.PROVISION_IMAGE)
def provision_image(file_id: str) -> str:
    return images.provision(file_id)


@job(Job.PROVISION_VERSION)
def provision_version(file_id: str, number: int) -> str:
    return versions.provision(file_id, number)


@job(Job.DELETE_IMAGE_COPIES)
def delete_image_copies(file_id: str, cf_image_ids: list[str]) -> int:
    """Kept for jobs enqueued before removals became `pending_removal` rows (app.jobs.removals); nothing new uses it."""
    return images.delete_copies(file_id, cf_image_ids)


@job(Job.BACKFILL_PHASHES)
def backfill_phashes() -> int:
    """Hashes the images made before perceptual hashes, continuing where the progress row says."""
    return duplicates.backfill().done


@job(Job.BACKFILL_IMAGE_FACTS)
def backfill_image_facts() -> int:
    """Extracts the facts of images stored before they were extracted at provisioning; resumable."""
    return images.backfill_facts().done
