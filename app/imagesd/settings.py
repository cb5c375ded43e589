"""The stand-in's settings: the shared ones from app.config plus its own IMAGESD_* knobs, read once."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from functools import cached_property

from app.config import Settings, env_bool, env_float, env_int, env_str, load_settings

# The legacy credentials the stand-in accepts unless IMAGES_API_EMAIL / IMAGES_API_KEY say otherwise.
DEV_IMAGES_API_EMAIL = "dev@aeontel.invalid"
DEV_IMAGES_API_KEY = "dev-images-global-key"

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_SIDE = 12_000
MAX_PIXELS = 100_000_000
AVIF_MAX_SIDE = 1_200


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
    # Upload-by-URL fetches public addresses only; these CIDRs/hosts/host:port entries are let through too (the
    # Procfile and `make dev` set the web app's own address so the stand-in can fetch its signed storage URLs).
    fetch_allow: str = ""
    # Legacy auth (X-Auth-Email + X-Auth-Key), accepted beside the bearer token as Cloudflare still does.
    api_email: str = DEV_IMAGES_API_EMAIL
    api_key: str = DEV_IMAGES_API_KEY
    # `requests/seconds` per credential, like Cloudflare's 1200/300 (off by default); over it, 429 and a block.
    rate_limit: str = ""
    rate_limit_block: int = 0
    batch_token_ttl: int = 3600
    # Cloudflare takes AVIF uploads on Enterprise plans only, and caps a hosted AVIF at 1,200 px: `off` refuses every
    # AVIF upload (the documented default), `enterprise` accepts those up to 1,200 px on the longest side.
    avif_uploads: str = "off"

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
            api_email=env_str("IMAGES_API_EMAIL", DEV_IMAGES_API_EMAIL),
            api_key=env_str("IMAGES_API_KEY", DEV_IMAGES_API_KEY),
            rate_limit=env_str("IMAGESD_RATE_LIMIT", ""),
            rate_limit_block=env_int("IMAGESD_RATE_LIMIT_BLOCK", 0),
            batch_token_ttl=env_int("IMAGESD_BATCH_TOKEN_TTL", 3600),
            avif_uploads=env_str("IMAGESD_AVIF_UPLOADS", "off"),
        )

    @cached_property
    def fetch_allow_rules(self):
        from .fetch import FetchAllow

        return FetchAllow.parse(self.fetch_allow)

    @cached_property
    def rate_limit_rule(self) -> tuple[int, float, float] | None:
        """IMAGESD_RATE_LIMIT `1200/300` → (1200 requests, per 300 s, blocked for IMAGESD_RATE_LIMIT_BLOCK or 300 s)."""
        if self.rate_limit in {"", "off"}:
            return None
        count, sep, seconds = self.rate_limit.partition("/")
        if not sep or not count.isdigit() or not seconds.isdigit() or int(count) < 1 or int(seconds) < 1:
            raise ValueError(
                f"IMAGESD_RATE_LIMIT must look like 1200/300 (requests/seconds) or off, not {self.rate_limit!r}"
            )
        return int(count), float(seconds), float(self.rate_limit_block or seconds)

    def __post_init__(self) -> None:
        self.fetch_allow_rules  # noqa: B018 - a malformed IMAGESD_FETCH_ALLOW fails at start, not on the first fetch
        self.rate_limit_rule  # noqa: B018 - the same for IMAGESD_RATE_LIMIT
        if self.avif_uploads not in {"off", "enterprise"}:
            raise ValueError(f"IMAGESD_AVIF_UPLOADS must be off or enterprise, not {self.avif_uploads!r}")

    def with_overrides(self, **overrides) -> "ImagesdSettings":
        known = {f.name for f in fields(self)}
        unknown = set(overrides) - known
        if unknown:
            raise TypeError(f"unknown imagesd settings: {', '.join(sorted(unknown))}")
        return replace(self, **overrides)
