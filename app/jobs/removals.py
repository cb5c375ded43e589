from app.domain import removals
from app.jobs import job


@job
def perform_removal(removal_id: str) -> str:
    return removals.perform(removal_id)
