"""Fixed-window rate limits counted in Redis, shared by every web process, with nothing else to run or configure.

One INCR (+ EXPIRE) per attempt on `aeontel:rl:<name>:<window>:<sha256 of the identity>`. A fixed window lets a burst
of up to twice the limit through at a window edge, which is fine for slowing password guessing and runaway upload
scripts. When Redis cannot be reached (or does not answer in half a second) the request is never refused for it:
this process counts in its own memory instead, for a few seconds before it asks Redis again, so limits hold per process
(at most the limit times the number of processes get through) and a hung Redis costs one short wait, not one per
request.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from collections.abc import Callable

from redis import Redis

log = logging.getLogger(__name__)

# After Redis failed to answer, this process counts alone for this long before it asks Redis again.
REDIS_RETRY_SECONDS = 5


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
    if not sep or not count.strip().isdecimal() or not seconds.strip().isdecimal() or int(seconds) <= 0:
        raise ValueError(f"a rate limit looks like 10/60 (attempts per seconds) or off, not {text!r}")
    return (int(count), int(seconds)) if int(count) > 0 else None


class RedisRateLimiter:
    """Named rules (`login`, `login_address`, `upload`) parsed once, so a malformed setting fails when the app starts."""

    def __init__(self, redis_url: str, rules: dict[str, str], clock: Callable[[], float] = time.time):
        self.rules = {name: parse_rule(text) for name, text in rules.items()}
        # Seconds since the epoch; windows are counted on it, so a test can start at a window's edge and move on.
        self.clock = clock
        # Its own short timeouts: a limiter that cannot answer in half a second is skipped, never waited on.
        self.redis = Redis.from_url(redis_url, socket_connect_timeout=0.5, socket_timeout=0.5)
        self.down_until = 0.0
        self.local_counts: dict[str, tuple[int, int]] = {}
        self.lock = threading.Lock()

    @classmethod
    def from_config(cls, config) -> RedisRateLimiter:
        return cls(
            config["REDIS_URL"],
            {
                "login": config["LOGIN_RATE_LIMIT"],
                "login_address": config["LOGIN_ADDRESS_RATE_LIMIT"],
                "upload": config["UPLOAD_RATE_LIMIT"],
            },
        )

    def hit(self, name: str, identity: str) -> None:
        """Counts one attempt by `identity`; raises RateLimited once the window's allowance is used up."""
        rule = self.rules[name]
        if rule is None:
            return
        limit, seconds = rule
        now = self.clock()
        window = int(now // seconds)
        digest = hashlib.sha256(identity.encode()).hexdigest()[:32]
        key = f"aeontel:rl:{name}:{window}:{digest}"
        count = None
        if now >= self.down_until:
            try:
                pipe = self.redis.pipeline()
                pipe.incr(key)
                pipe.expire(key, seconds + 1)  # the key names its window, so re-setting is harmless
                count = pipe.execute()[0]
            except Exception as exc:  # noqa: BLE001 - Redis errors, and socket errors redis-py lets through under load
                self.down_until = now + REDIS_RETRY_SECONDS
                log.warning(
                    "rate limits counted in this process for %ss: Redis is unavailable (%s)", REDIS_RETRY_SECONDS, exc
                )
        if count is None:
            count = self._count_locally(key, window)
        if count > limit:
            raise RateLimited(name, max(1, math.ceil((window + 1) * seconds - now)))

    def _count_locally(self, key: str, window: int) -> int:
        """This process's own count while Redis is away; entries of past windows are dropped as the table grows."""
        with self.lock:
            if len(self.local_counts) > 10_000:
                for old in [k for k, (w, _) in self.local_counts.items() if w < window]:
                    del self.local_counts[old]
            _, count = self.local_counts.get(key, (window, 0))
            self.local_counts[key] = (window, count + 1)
            return count + 1
