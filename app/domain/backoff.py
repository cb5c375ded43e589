"""Capped exponential backoff with jitter, shared by every row the worker retries from the database."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from flask import current_app

from app.domain.common import utcnow


def delay(failures: int, base: float, cap: float, rand: float | None = None) -> float:
    """Seconds to wait after `failures` failures: half to all of min(cap, base * 2**(failures-1)), so retries of
    many rows spread out instead of arriving together."""
    exponent = min(max(failures, 1) - 1, 60)
    ceiling = min(cap, base * 2.0**exponent)
    return ceiling * (0.5 + 0.5 * (random.random() if rand is None else rand))


def next_attempt(failures: int, retry_after: float | None = None) -> datetime:
    """When the next attempt is due, from the app's RETRY_BASE_SECONDS and RETRY_CAP_SECONDS (a `Retry-After`
    the service asked for wins, up to five minutes)."""
    config = current_app.config
    seconds = delay(failures, config["RETRY_BASE_SECONDS"], config["RETRY_CAP_SECONDS"])
    if retry_after is not None:
        seconds = min(max(retry_after, 0.5), 300.0)
    return utcnow() + timedelta(seconds=seconds)
