"""Security headers on every response, and Redis-backed rate limits for sign-in and uploads.

Rate limits are a fixed window in Redis: one INCR (+ EXPIRE on the first hit) per attempt on the key
`aeontel:rl:<name>:<window>:<sha256 of the identity>`. That is a dozen lines with the Redis client the app already
has, shared by every web process, and nothing to configure; a fixed window lets a burst of up to twice the limit
through at a window edge, which is fine for slowing password guessing and runaway upload scripts. When Redis cannot
be reached (or does not answer in half a second) the request is never refused for it: each web process counts in its
own memory instead, for a few seconds before it asks Redis again, so limits hold per process (at most the limit times
the number of processes get through) and a hung Redis costs one short wait, not one per request.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from urllib.parse import urlsplit

from flask import Flask, current_app, g, request
from redis import Redis

log = logging.getLogger(__name__)


# --- headers ---------------------------------------------------------------------------------------------------

def _origin(url: str) -> str:
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def content_security_policy(config) -> str:
    """No inline or foreign script; images also from the Images delivery origin (a different origin)."""
    delivery = _origin(config.get("IMAGES_DELIVERY_BASE", ""))
    img = " ".join(filter(None, ["'self'", "data:", "blob:", delivery]))
    return "; ".join([
        "default-src 'self'",
        "script-src 'self'",
        # The templates colour placeholders with style attributes; no <style> elements and no inline script.
        "style-src 'self'",
        "style-src-attr 'unsafe-inline'",
        f"img-src {img}",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


def install_headers(app: Flask) -> None:
    csp = content_security_policy(app.config)

    @app.after_request
    def security_headers(response):
        headers = response.headers
        # A view with stricter or different needs (the API docs page) sets its own policy.
        headers.setdefault("Content-Security-Policy", csp)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if str(app.config.get("PUBLIC_URL", "")).startswith("https://"):
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response


# --- rate limits -----------------------------------------------------------------------------------------------

class RateLimited(Exception):
    def __init__(self, name: str, retry_after: int):
        super().__init__(f"rate limit {name} exceeded; retry after {retry_after}s")
        self.name = name
        self.retry_after = retry_after


def parse_rule(text: str) -> tuple[int, int] | None:
    """`10/60` → (10 attempts, per 60 seconds); `off` or `0` → None (no limit)."""
    text = (text or "").strip().lower()
    if text in {"", "off", "0", "none"}:
        return None
    count, sep, seconds = text.partition("/")
    if not sep or not count.strip().isdigit() or not seconds.strip().isdigit() or int(seconds) <= 0:
        raise ValueError(f"a rate limit looks like 10/60 (attempts per seconds) or off, not {text!r}")
    return (int(count), int(seconds)) if int(count) > 0 else None


def _redis() -> Redis:
    client = current_app.extensions.get("rate_limit_redis")
    if client is None:
        # Its own short timeouts: a limiter that cannot answer in half a second is skipped, never waited on.
        client = Redis.from_url(current_app.config["REDIS_URL"], socket_connect_timeout=0.5, socket_timeout=0.5)
        current_app.extensions["rate_limit_redis"] = client
    return client


REDIS_RETRY_SECONDS = 5
_local_lock = threading.Lock()


def _count_locally(counts: dict, key: str, window: int) -> int:
    """This process's own count while Redis is away; entries of past windows are dropped as the table grows."""
    with _local_lock:
        if len(counts) > 10_000:
            for old in [k for k, (w, _) in counts.items() if w < window]:
                del counts[old]
        _, count = counts.get(key, (window, 0))
        counts[key] = (window, count + 1)
        return count + 1


def hit(name: str, identity: str, rule_text: str) -> None:
    """Counts one attempt by `identity`; raises RateLimited once the window's allowance is used up."""
    rule = parse_rule(rule_text)
    if rule is None:
        return
    limit, seconds = rule
    now = time.time()
    window = int(now // seconds)
    digest = hashlib.sha256(identity.encode()).hexdigest()[:32]
    key = f"aeontel:rl:{name}:{window}:{digest}"
    state = current_app.extensions.setdefault("rate_limit_fallback", {"down_until": 0.0, "counts": {}})
    count = None
    if now >= state["down_until"]:
        try:
            pipe = _redis().pipeline()
            pipe.incr(key)
            pipe.expire(key, seconds + 1)  # the key names its window, so re-setting is harmless
            count = pipe.execute()[0]
        except Exception as exc:  # noqa: BLE001 - Redis errors, and socket errors redis-py lets through under load
            state["down_until"] = now + REDIS_RETRY_SECONDS
            log.warning("rate limits counted in this process for %ss: Redis is unavailable (%s)", REDIS_RETRY_SECONDS,
                        exc)
    if count is None:
        count = _count_locally(state["counts"], key, window)
    if count > limit:
        raise RateLimited(name, max(1, math.ceil((window + 1) * seconds - now)))


def check_login(email: str) -> None:
    """Sign-in attempts per client address and email (one account is not guessed at speed) and per address across
    all emails (one address cannot spray a common password over many accounts)."""
    hit("login_address", request.remote_addr or "", current_app.config["LOGIN_ADDRESS_RATE_LIMIT"])
    hit("login", f"{request.remote_addr}|{(email or '').strip().lower()}", current_app.config["LOGIN_RATE_LIMIT"])


def check_upload() -> None:
    """Upload requests per API token or signed-in user (after authentication put them on `g`)."""
    token, user = g.get("token"), g.get("user")
    who = f"token:{token.id}" if token is not None else f"user:{user.id}" if user is not None else f"ip:{request.remote_addr}"
    hit("upload", who, current_app.config["UPLOAD_RATE_LIMIT"])


def init_app(app: Flask) -> None:
    for name in ("LOGIN_RATE_LIMIT", "LOGIN_ADDRESS_RATE_LIMIT", "UPLOAD_RATE_LIMIT"):
        parse_rule(app.config[name])  # a malformed setting fails at start
    install_headers(app)
