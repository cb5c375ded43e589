"""RQ job functions: ids in, idempotent, each leaves the database session clean."""

import functools

from app.domain.events import dispatch_inline, enqueue_dispatch
from app.extensions import db


def job(func):
    """Gives every job a fresh session, dispatches the events it committed, and hands the connection back."""

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
