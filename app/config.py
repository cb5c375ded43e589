"""Every setting of every process (web, worker, images stand-in) is read here, once, from the environment."""

from __future__ import annotations

import ipaddress
import logging
import math
import os
import re
import secrets
import sqlite3
import time
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = Path(os.environ.get("AEONTEL_INSTANCE_DIR", PROJECT_ROOT / "instance"))

# The stand-in and the product share these defaults so that the embedded stack works with no .env at all.
DEV_IMAGES_ACCOUNT_ID = "0123456789abcdef0123456789abcdef"
DEV_IMAGES_ACCOUNT_HASH = "aeontel-dev-hash"
DEV_IMAGES_API_TOKEN = "dev-images-token"

# Keys that were ever public (old defaults, examples, the tests'); a production process refuses each of them.
KNOWN_DEV_SECRET_KEYS = frozenset(
    {
        "dev-only-secret-change-me",
        "change-me-to-a-long-random-string",
        "change-me",
        "changeme",
        "secret",
        "dev",
        "test-secret",
        "load-secret",
    }
)
MIN_SECRET_KEY_BYTES = 32
# A key must also look random: its estimated entropy (secret_key_bits) at least this many bits. 32 random hex
# digits score 90-120 by that estimate, a `secrets.token_urlsafe(48)` key about 340; 40 × "a" scores 0.
MIN_SECRET_KEY_BITS = 80
SECRET_KEY_FILE = "secret_key"
MAKE_A_KEY = 'python -c "import secrets; print(secrets.token_urlsafe(48))"'


class InsecureSettings(ValueError):
    """A production process was given settings that would let anyone forge what it signs."""


def env_str(name: str, default: str) -> str:
    value = os.environ.get(name)
    return default if value is None or value == "" else value


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {value!r}") from None


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"{name} must be a number, not {value!r}") from None


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    if value.strip().lower() in {"1", "true", "yes", "on"}:
        return True
    if value.strip().lower() in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"{name} must be true or false, not {value!r}")


def _sqlite_default() -> str:
    return f"sqlite:///{INSTANCE_DIR / 'aeontel.db'}"


@dataclass(frozen=True)
class Settings:
    instance_dir: str = str(INSTANCE_DIR)
    database_url: str = field(default_factory=_sqlite_default)
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_timeout: float = 0.5  # seconds a request waits on Redis (connect or answer) before going on without it
    # Empty: development reads (or makes once) `<instance>/secret_key`; production must set SECRET_KEY.
    secret_key: str = ""
    environment: str = "development"
    port: int = 5000
    public_url: str = "http://127.0.0.1:5000"

    storage_backend: str = "local"
    storage_root: str = str(INSTANCE_DIR / "storage")
    s3_endpoint_url: str = ""
    s3_access_key_id: str = ""
    s3_secret_access_key: str = ""
    s3_region: str = "auto"
    s3_bucket: str = "aeontel"
    s3_bucket_per_workspace: bool = False
    signed_url_ttl: int = 900
    # How long browsers and shared caches may keep the stable URL's redirect (so show the old version's pixels after a
    # replace); versioned URLs never change their pixels and are cached for the images service's browser TTL.
    stable_url_max_age: int = 60

    max_upload_bytes: int = 100 * 1024 * 1024
    upload_tmp_dir: str = str(INSTANCE_DIR / "uploads")
    stale_upload_seconds: int = 3600
    # A resumable (tus) upload that receives no bytes for this long expires; its spool and row are removed.
    resumable_upload_seconds: int = 24 * 3600
    # The gallery sends files of at least this many bytes resumably (tus), one piece of this size per request.
    resumable_chunk_bytes: int = 8 * 1024 * 1024
    # A request body must average BODY_MIN_RATE bytes/s after BODY_READ_TIMEOUT s of grace and never stall for longer
    # than BODY_READ_TIMEOUT, or it answers 408 and is closed (app/http.py DeadlineInput).
    body_read_timeout: float = 30.0
    body_min_rate: int = 500
    # How long a database statement waits for another writer's lock before the request answers 503.
    database_busy_timeout: float = 10.0

    relay_after_seconds: float = 5.0
    relay_interval_seconds: float = 2.0
    event_max_attempts: int = 10

    images_api_base: str = "http://127.0.0.1:8787/client/v4"
    images_account_id: str = DEV_IMAGES_ACCOUNT_ID
    images_api_token: str = DEV_IMAGES_API_TOKEN
    # Legacy auth instead of the token when both are set (Cloudflare's global API key); empty by default.
    images_api_email: str = ""
    images_api_key: str = ""
    images_account_hash: str = DEV_IMAGES_ACCOUNT_HASH
    images_delivery_base: str = "http://127.0.0.1:8787"
    images_signing_key: str = ""
    # The batch host for image calls (outside the global rate limit): empty derives it from IMAGES_API_BASE; `off`.
    images_batch_base: str = ""
    images_max_attempts: int = 5
    provision_lease_seconds: int = 45
    # Transient failures (unreachable, timeouts, 5xx, 429) are retried from the database until this deadline;
    # each wait is min(cap, base * 2**n) with jitter, so a returning service is used within about the cap.
    provision_deadline_seconds: int = 86400
    retry_base_seconds: float = 1.0
    retry_cap_seconds: float = 30.0

    # Attempts per seconds (`off` disables): sign-in per client address and email, sign-in per address across all
    # emails (password spraying), uploads per token or user.
    login_rate_limit: str = "10/60"
    login_address_rate_limit: str = "30/60"
    upload_rate_limit: str = "600/60"

    # Browser origins (`https://app.example.com`, comma-separated, or `*`) that may call /api cross-origin with a
    # token; empty = none. Never with credentials. One-time upload URLs accept any origin (the URL is the secret).
    cors_origins: str = ""

    # Webhooks: targets must be public addresses except these CIDRs/hosts (`make dev` allows loopback); the wait
    # before each retry in seconds; a message is given up this long after it was first tried, and an endpoint whose
    # deliveries have failed without a success for this long is disabled.
    webhook_allow: str = ""
    # Import from a URL (POST /api/files with url=): non-public addresses it may still fetch (as WEBHOOK_ALLOW), and
    # the seconds the whole download may take.
    url_import_allow: str = ""
    url_import_timeout: float = 60.0
    webhook_retry_schedule: str = "5,300,1800,7200,18000,36000"
    webhook_give_up_seconds: float = 86400.0
    webhook_disable_after_seconds: float = 86400.0
    webhook_timeout_seconds: float = 10.0

    imagesd_port: int = 8787
    imagesd_data_dir: str = str(INSTANCE_DIR / "imagesd")
    imagesd_public_url: str = "http://127.0.0.1:8787"

    @classmethod
    def from_env(cls) -> "Settings":
        instance = Path(env_str("AEONTEL_INSTANCE_DIR", str(PROJECT_ROOT / "instance")))
        defaults = cls(
            instance_dir=str(instance),
            database_url=f"sqlite:///{instance / 'aeontel.db'}",
            storage_root=str(instance / "storage"),
            upload_tmp_dir=str(instance / "uploads"),
            imagesd_data_dir=str(instance / "imagesd"),
        )
        return cls(
            instance_dir=defaults.instance_dir,
            database_url=env_str("DATABASE_URL", defaults.database_url),
            redis_url=env_str("REDIS_URL", defaults.redis_url),
            redis_timeout=env_float("REDIS_TIMEOUT", defaults.redis_timeout),
            secret_key=env_str("SECRET_KEY", defaults.secret_key),
            environment=env_str("AEONTEL_ENV", defaults.environment).strip().lower(),
            port=env_int("PORT", defaults.port),
            public_url=env_str("PUBLIC_URL", f"http://127.0.0.1:{env_int('PORT', defaults.port)}"),
            storage_backend=env_str("STORAGE_BACKEND", defaults.storage_backend),
            storage_root=env_str("STORAGE_ROOT", defaults.storage_root),
            s3_endpoint_url=env_str("S3_ENDPOINT_URL", defaults.s3_endpoint_url),
            s3_access_key_id=env_str("S3_ACCESS_KEY_ID", defaults.s3_access_key_id),
            s3_secret_access_key=env_str("S3_SECRET_ACCESS_KEY", defaults.s3_secret_access_key),
            s3_region=env_str("S3_REGION", defaults.s3_region),
            s3_bucket=env_str("S3_BUCKET", defaults.s3_bucket),
            s3_bucket_per_workspace=env_bool("S3_BUCKET_PER_WORKSPACE", defaults.s3_bucket_per_workspace),
            signed_url_ttl=env_int("SIGNED_URL_TTL", defaults.signed_url_ttl),
            stable_url_max_age=env_int("STABLE_URL_MAX_AGE", defaults.stable_url_max_age),
            max_upload_bytes=env_int("MAX_UPLOAD_BYTES", defaults.max_upload_bytes),
            upload_tmp_dir=env_str("UPLOAD_TMP_DIR", defaults.upload_tmp_dir),
            stale_upload_seconds=env_int("STALE_UPLOAD_SECONDS", defaults.stale_upload_seconds),
            resumable_upload_seconds=env_int("RESUMABLE_UPLOAD_SECONDS", defaults.resumable_upload_seconds),
            resumable_chunk_bytes=env_int("RESUMABLE_CHUNK_BYTES", defaults.resumable_chunk_bytes),
            body_read_timeout=env_float("BODY_READ_TIMEOUT", defaults.body_read_timeout),
            body_min_rate=env_int("BODY_MIN_RATE", defaults.body_min_rate),
            database_busy_timeout=env_float("DATABASE_BUSY_TIMEOUT", defaults.database_busy_timeout),
            relay_after_seconds=env_float("RELAY_AFTER_SECONDS", defaults.relay_after_seconds),
            relay_interval_seconds=env_float("RELAY_INTERVAL_SECONDS", defaults.relay_interval_seconds),
            event_max_attempts=env_int("EVENT_MAX_ATTEMPTS", defaults.event_max_attempts),
            images_api_base=env_str("IMAGES_API_BASE", defaults.images_api_base),
            images_account_id=env_str("IMAGES_ACCOUNT_ID", defaults.images_account_id),
            images_api_token=env_str("IMAGES_API_TOKEN", defaults.images_api_token),
            images_api_email=env_str("IMAGES_API_EMAIL", defaults.images_api_email),
            images_api_key=env_str("IMAGES_API_KEY", defaults.images_api_key),
            images_account_hash=env_str("IMAGES_ACCOUNT_HASH", defaults.images_account_hash),
            images_delivery_base=env_str("IMAGES_DELIVERY_BASE", defaults.images_delivery_base),
            images_signing_key=env_str("IMAGES_SIGNING_KEY", defaults.images_signing_key),
            images_batch_base=env_str("IMAGES_BATCH_BASE", defaults.images_batch_base),
            images_max_attempts=env_int("IMAGES_MAX_ATTEMPTS", defaults.images_max_attempts),
            provision_lease_seconds=env_int("PROVISION_LEASE_SECONDS", defaults.provision_lease_seconds),
            provision_deadline_seconds=env_int("PROVISION_DEADLINE_SECONDS", defaults.provision_deadline_seconds),
            retry_base_seconds=env_float("RETRY_BASE_SECONDS", defaults.retry_base_seconds),
            retry_cap_seconds=env_float("RETRY_CAP_SECONDS", defaults.retry_cap_seconds),
            login_rate_limit=env_str("LOGIN_RATE_LIMIT", defaults.login_rate_limit),
            login_address_rate_limit=env_str("LOGIN_ADDRESS_RATE_LIMIT", defaults.login_address_rate_limit),
            upload_rate_limit=env_str("UPLOAD_RATE_LIMIT", defaults.upload_rate_limit),
            cors_origins=env_str("CORS_ORIGINS", defaults.cors_origins),
            webhook_allow=env_str("WEBHOOK_ALLOW", defaults.webhook_allow),
            url_import_allow=env_str("URL_IMPORT_ALLOW", defaults.url_import_allow),
            url_import_timeout=env_float("URL_IMPORT_TIMEOUT", defaults.url_import_timeout),
            webhook_retry_schedule=env_str("WEBHOOK_RETRY_SCHEDULE", defaults.webhook_retry_schedule),
            webhook_give_up_seconds=env_float("WEBHOOK_GIVE_UP_SECONDS", defaults.webhook_give_up_seconds),
            webhook_disable_after_seconds=env_float(
                "WEBHOOK_DISABLE_AFTER_SECONDS", defaults.webhook_disable_after_seconds
            ),
            webhook_timeout_seconds=env_float("WEBHOOK_TIMEOUT_SECONDS", defaults.webhook_timeout_seconds),
            imagesd_port=env_int("IMAGESD_PORT", defaults.imagesd_port),
            imagesd_data_dir=env_str("IMAGESD_DATA_DIR", defaults.imagesd_data_dir),
            imagesd_public_url=env_str(
                "IMAGESD_PUBLIC_URL", f"http://127.0.0.1:{env_int('IMAGESD_PORT', defaults.imagesd_port)}"
            ),
        )

    def validate(self) -> "Settings":
        if self.max_upload_bytes <= 0:
            raise ValueError("MAX_UPLOAD_BYTES must be positive")
        if self.resumable_chunk_bytes <= 0 or self.resumable_upload_seconds <= 0:
            raise ValueError("RESUMABLE_CHUNK_BYTES and RESUMABLE_UPLOAD_SECONDS must be positive")
        cors_origin_list(self.cors_origins)
        if not 0 < self.retry_base_seconds <= self.retry_cap_seconds:
            raise ValueError("RETRY_BASE_SECONDS must be positive and at most RETRY_CAP_SECONDS")
        if self.provision_deadline_seconds <= 0:
            raise ValueError("PROVISION_DEADLINE_SECONDS must be positive")
        webhook_schedule(self.webhook_retry_schedule)
        from app.netguard import AddressAllow

        AddressAllow.parse(self.webhook_allow, "WEBHOOK_ALLOW")
        AddressAllow.parse(self.url_import_allow, "URL_IMPORT_ALLOW")
        if self.environment not in {"development", "production"}:
            raise ValueError(f"AEONTEL_ENV must be development or production, not {self.environment!r}")
        if self.is_production:
            check_production_secret(self.secret_key, self.production_reason, dev_secret_path(self.instance_dir))
        return self

    @property
    def is_production(self) -> bool:
        """Production is said (AEONTEL_ENV=production) or implied: others reach this site at a non-loopback URL."""
        return self.environment == "production" or not is_loopback_url(self.public_url)

    @property
    def production_reason(self) -> str:
        """Why this is a production setup, in the words of the setting that made it one."""
        if self.environment == "production":
            return "AEONTEL_ENV=production"
        return f"PUBLIC_URL {self.public_url} is not a loopback address"

    def with_secret(self) -> "Settings":
        """Development without SECRET_KEY uses the instance folder's own random key; production keeps what it got."""
        if self.secret_key or self.is_production:
            return self
        return replace(self, secret_key=dev_secret_key(self.instance_dir))

    def ready(self) -> "Settings":
        return self.with_secret().validate()

    def as_flask_config(self) -> dict:
        """Flask's own keys plus every setting under its upper-case name."""
        values = {key.upper(): value for key, value in asdict(self).items()}
        values.update(
            SQLALCHEMY_DATABASE_URI=self.database_url,
            SECRET_KEY=self.secret_key,
            # Multipart framing adds a little to the file itself; the file's own size is checked exactly later.
            MAX_CONTENT_LENGTH=self.max_upload_bytes + 64 * 1024,
            MAX_FORM_MEMORY_SIZE=1024 * 1024,
            SQLALCHEMY_ENGINE_OPTIONS=engine_options(self.database_url, self.database_busy_timeout),
            # Pages, styles, scripts and JSON go out gzip- or brotli-compressed when the client accepts it.
            COMPRESS_MIMETYPES=[
                "text/html",
                "text/css",
                "text/javascript",
                "application/javascript",
                "application/json",
                "application/problem+json",
                "image/svg+xml",
            ],
            COMPRESS_ALGORITHM=["br", "gzip"],
            # Streamed responses (static files, storage downloads) pass through untouched: flask-compress does not
            # close the file behind a stream it compresses.
            COMPRESS_STREAMS=False,
        )
        return values


_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?|https?://\[[0-9A-Fa-f:]+\](:[0-9]{1,5})?")


def webhook_schedule(text: str) -> list[float]:
    """WEBHOOK_RETRY_SCHEDULE `5,300,1800` → seconds to wait after the first, second, … failure (the last repeats)."""
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        values = []
    if not values or any(value <= 0 for value in values):
        raise ValueError(f"WEBHOOK_RETRY_SCHEDULE holds positive seconds separated by commas, not {text!r}")
    return values


def cors_origin_list(text: str) -> list[str]:
    """CORS_ORIGINS as a list of exact origins (scheme, host, optional port; no path), or ["*"]."""
    origins = [part.strip().rstrip("/") for part in (text or "").split(",") if part.strip()]
    for origin in origins:
        if origin != "*" and not _ORIGIN.fullmatch(origin):
            raise ValueError(f"CORS_ORIGINS: {origin!r} is not an origin like https://app.example.com or *")
    if "*" in origins and len(origins) > 1:
        raise ValueError("CORS_ORIGINS: '*' allows every origin; list origins or give '*' alone")
    return origins


class _WaitingCursor(sqlite3.Cursor):
    """Retries a statement refused with SQLITE_BUSY until the connection's busy timeout, sleeping between tries."""

    def execute(self, *args):
        return self.connection.waiting(super().execute, *args)

    def executemany(self, *args):
        return self.connection.waiting(super().executemany, *args)


class CooperativeSQLiteConnection(sqlite3.Connection):
    """SQLite's own busy wait sleeps inside C and so blocks a gevent worker's whole process (every request in it, and
    /healthz, waited for one request's lock); this connection waits with time.sleep, which gevent makes cooperative,
    and gives up with the same "database is locked" error (503) after the same DATABASE_BUSY_TIMEOUT."""

    def __init__(self, *args, timeout: float = 5.0, **kwargs):
        super().__init__(*args, timeout=0, **kwargs)
        self.busy_timeout = timeout

    def cursor(self, factory=_WaitingCursor):
        return super().cursor(factory)

    def commit(self) -> None:
        self.waiting(super().commit)

    def waiting(self, call, *args):
        """`call(*args)`, tried again while another connection holds the lock, until the busy timeout has passed."""
        deadline, tries = time.monotonic() + self.busy_timeout, 0
        while True:
            try:
                return call(*args)
            except sqlite3.OperationalError as exc:
                # SQLITE_BUSY_SNAPSHOT cannot succeed by waiting (our read snapshot is stale); give up at once.
                if getattr(exc, "sqlite_errorname", "SQLITE_BUSY") not in _WAITABLE or time.monotonic() >= deadline:
                    raise
            tries += 1
            time.sleep(min(0.001 * 2**tries, 0.05, max(deadline - time.monotonic(), 0)))


_WAITABLE = {"SQLITE_BUSY", "SQLITE_BUSY_RECOVERY", "SQLITE_BUSY_TIMEOUT"}


def engine_options(database_url: str, busy_timeout: float = 10.0) -> dict:
    if database_url.startswith("sqlite"):
        # Several processes share one file: wait for a writer a while instead of failing at once (then 503), in a
        # way that lets the other requests of a gevent worker go on meanwhile.
        return {"connect_args": {"timeout": busy_timeout, "factory": CooperativeSQLiteConnection}}
    # A server that does not answer fails the request in seconds (503) instead of holding it.
    # A lock held past the busy timeout fails the statement (lock_timeout) like SQLite's busy timeout does.
    return {
        "pool_pre_ping": True,
        "pool_timeout": busy_timeout,
        "connect_args": {
            "connect_timeout": max(1, round(busy_timeout)),
            "options": f"-c lock_timeout={max(1, int(busy_timeout * 1000))}",
        },
    }


def load_settings() -> Settings:
    return Settings.from_env().ready()


def is_loopback_url(url: str) -> bool:
    host = (urlsplit(url or "").hostname or "").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def dev_secret_path(instance_dir: str) -> Path:
    return Path(instance_dir) / SECRET_KEY_FILE


def dev_secret_key(instance_dir: str) -> str:
    """Reads the development key, or writes a random one (mode 0600) exactly once, even with processes racing."""
    path = dev_secret_path(instance_dir)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{SECRET_KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(48) + "\n")
        try:
            os.link(draft, path)  # atomic and never overwrites: the first process's key wins
            logging.getLogger(__name__).warning(
                "made a development SECRET_KEY in %s; a production setup must set SECRET_KEY itself", path
            )
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    key = path.read_text().strip()
    if len(key.encode()) < MIN_SECRET_KEY_BYTES:
        raise InsecureSettings(
            f"{path} holds a key shorter than {MIN_SECRET_KEY_BYTES} bytes; delete it to make a new one."
        )
    return key


def secret_key_bits(key: str) -> float:
    """An estimate of the key's entropy that a guessable key fails: the key's shortest repeating unit, counted at the
    Shannon entropy of its own character frequencies (so 40 × "a" is 0 bits and "abcd" × 10 is 8)."""
    unit = key
    for period in range(1, len(key)):
        if len(key) % period == 0 and key[:period] * (len(key) // period) == key:
            unit = key[:period]
            break
    counts = Counter(unit)
    per_char = -sum(n / len(unit) * math.log2(n / len(unit)) for n in counts.values()) if unit else 0.0
    return per_char * len(unit)


def check_production_secret(key: str, reason: str, dev_path: Path) -> None:
    """Refuses a missing, short, known or guessable key, with a message that says how to make a good one."""
    problem = None
    if not key:
        problem = "SECRET_KEY is not set"
    elif key in KNOWN_DEV_SECRET_KEYS or (dev_path.exists() and dev_path.read_text().strip() == key):
        problem = "SECRET_KEY is a known development key"
    elif len(key.encode()) < MIN_SECRET_KEY_BYTES:
        problem = f"SECRET_KEY is shorter than {MIN_SECRET_KEY_BYTES} bytes"
    elif secret_key_bits(key) < MIN_SECRET_KEY_BITS:
        problem = (
            f"SECRET_KEY is too easy to guess (about {secret_key_bits(key):.0f} bits of entropy, "
            f"at least {MIN_SECRET_KEY_BITS} needed)"
        )
    if problem:
        raise InsecureSettings(
            f"{problem}, and this is a production setup ({reason}). Sessions, CSRF tokens and signed storage URLs "
            f"are signed with this key, so anyone who knows or guesses it can forge them. Make one with "
            f"`{MAKE_A_KEY}`, give the same value to every process (web, worker, images) as SECRET_KEY, and keep it "
            "out of the repository."
        )
