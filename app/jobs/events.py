from app.domain import events
from app.domain.job_names import Job
from app.jobs import job


@job(Job.DISPATCH_EVENT)
def dispatch_event(event_id: str) -> str:
    return events.dispatch(event_id)
