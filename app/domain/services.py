"""The adapters the domain works through, one typed accessor each: `create_app` builds them from the settings and
keeps them in `app.extensions`; only this module knows those keys."""

from __future__ import annotations

from flask import current_app

from app.adapters.cloudflare import CloudflareImages
from app.adapters.queue import RQQueue
from app.adapters.ratelimit import RedisRateLimiter
from app.adapters.storage import Storage

STORAGE = "storage"
QUEUE = "queue"
IMAGES = "images"
RATE_LIMITER = "rate_limiter"
CONTENT_URL = "content_url"
STABLE_URL = "stable_url"


def storage() -> Storage:
    """Where uploaded bytes and masters live (a folder or an S3 bucket)."""
    return current_app.extensions[STORAGE]


def queue() -> RQQueue:
    """The RQ queues jobs are enqueued on."""
    return current_app.extensions[QUEUE]


def images() -> CloudflareImages:
    """The Cloudflare Images API (or the stand-in)."""
    return current_app.extensions[IMAGES]


def rate_limiter() -> RedisRateLimiter:
    """The Redis-backed counters behind the rate limits."""
    return current_app.extensions[RATE_LIMITER]


def content_url(file_id: str) -> str:
    """Where a file's bytes are downloaded from: the composition root registers how the API builds that URL."""
    return current_app.extensions[CONTENT_URL](file_id)


def stable_url(file_id: str, variant: str, *, signed: bool) -> str:
    """The product's URL that always redirects to the current version (the gallery registers its route)."""
    return current_app.extensions[STABLE_URL](file_id, variant, signed)
