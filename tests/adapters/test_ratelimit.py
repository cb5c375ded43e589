"""The Redis rate limiter on its own: rule parsing (a range, so Hypothesis) and counting in a real Redis."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from app.adapters.ratelimit import RateLimited, RedisRateLimiter, parse_rule


@settings(max_examples=200, deadline=None)
@given(
    count=st.integers(min_value=0, max_value=10**9),
    seconds=st.integers(min_value=1, max_value=10**7),
    spaces=st.sampled_from(["", " ", "  "]),
)
def test_a_rule_is_attempts_per_seconds(count, seconds, spaces):
    rule = parse_rule(f"{spaces}{count}{spaces}/{spaces}{seconds}{spaces}")
    assert rule == ((count, seconds) if count else None)


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=20))
@example(text="²/60")  # a digit to str.isdigit, not to int()
def test_any_other_text_is_off_or_a_clear_error(text):
    try:
        rule = parse_rule(text)
    except ValueError as exc:
        assert "10/60" in str(exc)
    else:
        assert rule is None or (rule[0] > 0 and rule[1] > 0)


def test_counts_to_the_limit_then_refuses_with_a_retry_after(redis_url):
    limiter = RedisRateLimiter(redis_url, {"upload": "3/60", "login": "off"})
    who = f"token:{uuid.uuid4().hex}"
    for _ in range(3):
        limiter.hit("upload", who)
    with pytest.raises(RateLimited) as refused:
        limiter.hit("upload", who)
    assert refused.value.name == "upload" and 1 <= refused.value.retry_after <= 60
    limiter.hit("upload", f"token:{uuid.uuid4().hex}")  # someone else has their own allowance
    for _ in range(10):
        limiter.hit("login", who)  # off: never counted
    assert not list(limiter.redis.scan_iter("aeontel:rl:login:*"))


def test_a_malformed_rule_fails_when_the_limiter_is_built(redis_url):
    with pytest.raises(ValueError, match="10/60"):
        RedisRateLimiter(redis_url, {"login": "ten a minute"})
