"""RQ job functions: ids in, idempotent, each leaves the database session clean."""

import functools

from app.extensions import db


def job(func):
    """Gives every job a fresh session and hands the connection back whatever happens."""

    @functools.wraps(func)
    def run(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        finally:
            db.session.remove()

    return run
