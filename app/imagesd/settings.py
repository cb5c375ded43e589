"""The stand-in's settings: the shared ones from app.config plus its own IMAGESD_* knobs, read once."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from functools import cached_property

from app.config import Settings, env_bool, env_float, env_int, env_str, load_settings

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_SIDE = 12_000
MAX_PIXELS = 100_000_000


@dataclass(frozen=True)
class ImagesdSettings:
    account_id: str
    account_hash: str
    api_token: str
    data_dir: str
    public_url: str
    signing_key: str = ""
    faults: str = ""
    fault_retry_after: int = 1
    fetch_connect_timeout: float = 5.0
    fetch_read_timeout: float = 10.0
    fetch_total_timeout: float = 30.0
    browser_ttl: int = 2 * 24 * 3600
    derivative_cache: bool = True
    max_upload_bytes: int = MAX_UPLOAD_BYTES
    # Upload-by-URL fetches public addresses only; these CIDRs/hosts are let through too (the embedded stack
    # sets `127.0.0.0/8,::1` so the stand-in can fetch the web app's signed storage URLs on loopback).
    fetch_allow: str = ""

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> "ImagesdSettings":
        settings = settings or load_settings()
        return cls(
            account_id=settings.images_account_id,
            account_hash=settings.images_account_hash,
            api_token=settings.images_api_token,
            data_dir=settings.imagesd_data_dir,
            public_url=settings.imagesd_public_url.rstrip("/"),
            signing_key=settings.images_signing_key,
            faults=env_str("IMAGESD_FAULTS", ""),
            fault_retry_after=env_int("IMAGESD_FAULT_RETRY_AFTER", 1),
            fetch_connect_timeout=env_float("IMAGESD_FETCH_CONNECT_TIMEOUT", 5.0),
            fetch_read_timeout=env_float("IMAGESD_FETCH_READ_TIMEOUT", 10.0),
            fetch_total_timeout=env_float("IMAGESD_FETCH_TOTAL_TIMEOUT", 30.0),
            browser_ttl=env_int("IMAGESD_BROWSER_TTL", 2 * 24 * 3600),
            # IMAGESD_DERIVATIVE_CACHE=off renders every request (for benchmarks and engine debugging).
            derivative_cache=env_bool("IMAGESD_DERIVATIVE_CACHE", True),
            fetch_allow=env_str("IMAGESD_FETCH_ALLOW", ""),
        )

    @cached_property
    def fetch_allow_rules(self):
        from .fetch import FetchAllow

        return FetchAllow.parse(self.fetch_allow)

    def __post_init__(self) -> None:
        self.fetch_allow_rules  # noqa: B018 - a malformed IMAGESD_FETCH_ALLOW fails at start, not on the first fetch

    def with_overrides(self, **overrides) -> "ImagesdSettings":
        known = {f.name for f in fields(self)}
        unknown = set(overrides) - known
        if unknown:
            raise TypeError(f"unknown imagesd settings: {', '.join(sorted(unknown))}")
        return replace(self, **overrides)
