"""Who counts as one caller for each rate limit; the faces pass plain identities and turn RateLimited into a 429."""

from __future__ import annotations

from app.adapters.ratelimit import RateLimited
from app.domain import services

__all__ = ["RateLimited", "check_login", "check_upload"]


def check_login(address: str | None, email: str) -> None:
    """Sign-in attempts per client address and email (lower-cased), so one account is not guessed at speed, and per
    address across all emails, so one address cannot spray a common password over many accounts."""
    limiter = services.rate_limiter()
    limiter.hit("login_address", address or "")
    limiter.hit("login", f"{address}|{(email or '').strip().lower()}")


def check_upload(*, token_id: str | None = None, user_id: str | None = None, address: str | None = None) -> None:
    """Upload requests per API token, else per signed-in user, else per client address."""
    who = f"token:{token_id}" if token_id else f"user:{user_id}" if user_id else f"ip:{address}"
    services.rate_limiter().hit("upload", who)
