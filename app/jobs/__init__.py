"""RQ job functions: ids in, idempotent, each leaves the database session clean."""

import functools

from app.domain.events import dispatch_inline, enqueue_dispatch
from app.domain.job_names import Job
from app.extensions import db


def job(name: Job):
    """Names a job function after its member of `Job` (a function moved without its name fails at import), and
    gives every run a fresh session, dispatches the events it committed, and hands the connection back."""

    def wrap(func):
        path = f"{func.__module__}.{func.__qualname__}"
        if path != name.value:
            raise ValueError(f"job {name.name} is named {name.value!r} but defined as {path!r}")
        return _run_in_session(func)

    return wrap


def _run_in_session(func):
    @functools.wraps(func)
    def run(*args, **kwargs):
        emitted: list[str] = []
        db.session.info["dispatch_inline"] = emitted
        try:
            result = func(*args, **kwargs)
            dispatch_inline(emitted)
            return result
        except BaseException:
            for event_id in emitted:  # committed before the failure: they still go out
                enqueue_dispatch(event_id)
            raise
        finally:
            db.session.info.pop("dispatch_inline", None)
            db.session.remove()

    return run
