from app.domain import removals
from app.domain.job_names import Job
from app.jobs import job


@job(Job.PERFORM_REMOVAL)
def perform_removal(removal_id: str) -> str:
    return removals.perform(removal_id)
