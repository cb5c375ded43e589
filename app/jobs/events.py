from app.domain import events
from app.jobs import job


@job
def dispatch_event(event_id: str) -> str:
    return events.dispatch(event_id)
