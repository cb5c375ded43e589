"""The Cloudflare Images API client (the real service or the local stand-in, one client for both)."""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime
from urllib.parse import quote

from app.delivery_signing import sign_delivery_url

log = logging.getLogger(__name__)

CLOUDFLARE_API = "https://api.cloudflare.com/client/v4"
CLOUDFLARE_BATCH = "https://batch.imagedelivery.net"
BATCH_TOKEN_MARGIN = 60  # seconds before expiresAt when a new batch token is fetched
BATCH_RETRY_AFTER = 60  # seconds the API is used directly after a batch token could not be had


def batch_base_for(api_base: str, configured: str = "") -> str:
    """The batch host: configured, Cloudflare's for Cloudflare's API, the stand-in's `/batch` for a stand-in; `off`."""
    if configured:
        return "" if configured == "off" else configured.rstrip("/")
    api_base = api_base.rstrip("/")
    if api_base == CLOUDFLARE_API:
        return CLOUDFLARE_BATCH
    if api_base.endswith("/client/v4"):
        return api_base[: -len("/client/v4")] + "/batch"
    return ""


def _parse_time(text: str | None) -> float | None:
    """expiresAt as Cloudflare writes it (`2023-08-09T15:33:56.273411222Z`: nanoseconds, Z)."""
    if not text:
        return None
    head, dot, fraction = text.rstrip("Z").partition(".")
    return datetime.fromisoformat(f"{head}.{fraction[:6]}+00:00" if dot else f"{head}+00:00").timestamp()


class ImagesError(Exception):
    """A failed call to the Images API; `transient` says whether the same call may succeed later."""

    transient = False

    def __init__(
        self, message: str, *, status: int | None = None, code: int | None = None, retry_after: float | None = None
    ):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.retry_after = retry_after


class TransientImagesError(ImagesError):
    transient = True


class PermanentImagesError(ImagesError):
    pass


class ImageNotFound(PermanentImagesError):
    pass


class ImageIdTaken(PermanentImagesError):
    pass


# Cloudflare codes that mean "try again later" even when the HTTP status is a 4xx (origin fetch failed, rate limit).
TRANSIENT_API_CODES = frozenset({5429, 5452, 5503})


class CloudflareImages:
    """The Images API over requests; the same code talks to Cloudflare and to the local stand-in."""

    def __init__(
        self,
        api_base: str,
        account_id: str,
        api_token: str,
        account_hash: str,
        delivery_base: str,
        *,
        signing_key: str = "",
        timeout: tuple[float, float] = (5.0, 30.0),
        session=None,
        batch_base: str = "",
        api_email: str = "",
        api_key: str = "",
    ):
        import requests

        self.api_base = api_base.rstrip("/")
        self.account_id = account_id
        self.account_hash = account_hash
        self.delivery_base = delivery_base.rstrip("/")
        self.timeout = timeout
        self._signing_key = signing_key
        self.configured_signing_key = signing_key
        self.session = session or requests.Session()
        # The legacy global key (X-Auth-Email + X-Auth-Key) when both are configured, else the API token; per
        # request, so that calls to the batch host carry only the batch token.
        self._auth = (
            {"X-Auth-Email": api_email, "X-Auth-Key": api_key}
            if api_email and api_key
            else {"Authorization": f"Bearer {api_token}"}
        )
        # Image calls go to the batch host with a batch token, outside the account's global rate limit.
        self.batch_base = batch_base_for(self.api_base, batch_base)
        self._batch_lock = threading.Lock()
        self._batch_token: tuple[str, float] | None = None
        self._batch_unavailable_until = 0.0

    @classmethod
    def from_config(cls, config) -> "CloudflareImages":
        return cls(
            config["IMAGES_API_BASE"],
            config["IMAGES_ACCOUNT_ID"],
            config["IMAGES_API_TOKEN"],
            config["IMAGES_ACCOUNT_HASH"],
            config["IMAGES_DELIVERY_BASE"],
            signing_key=config.get("IMAGES_SIGNING_KEY", ""),
            batch_base=config.get("IMAGES_BATCH_BASE", ""),
            api_email=config.get("IMAGES_API_EMAIL", ""),
            api_key=config.get("IMAGES_API_KEY", ""),
        )

    def _url(self, path: str) -> str:
        return f"{self.api_base}/accounts/{self.account_id}/images/{path}"

    def _call(self, method: str, path: str, *, batch: bool = False, **kwargs):
        """One API call; `batch` ones go to the batch host when a batch token can be had, else to the API."""
        token = self._batch_token_value() if batch else None
        if token is None:
            return self._send(method, self._url(path), None, **kwargs)
        try:
            return self._send(method, f"{self.batch_base}/images/{path}", token, **kwargs)
        except ImagesError as exc:
            if exc.status != 401:
                raise
            with self._batch_lock:  # the token expired or was revoked early: take a new one, once
                self._batch_token = None
            token = self._batch_token_value()
            if token is None:
                return self._send(method, self._url(path), None, **kwargs)
            return self._send(method, f"{self.batch_base}/images/{path}", token, **kwargs)

    def _send(self, method: str, url: str, batch_token: str | None, **kwargs):
        import requests

        headers = {"Authorization": f"Bearer {batch_token}"} if batch_token else self._auth
        try:
            response = self.session.request(method, url, timeout=self.timeout, headers=headers, **kwargs)
        except requests.Timeout as exc:
            raise TransientImagesError(
                f"The images service did not answer in time ({exc.__class__.__name__})."
            ) from exc
        except requests.RequestException as exc:
            raise TransientImagesError(f"The images service could not be reached ({exc.__class__.__name__}).") from exc
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.ok and isinstance(body, dict) and body.get("success"):
            return body.get("result")
        raise self._error(response, body)

    def _batch_token_value(self) -> str | None:
        """A cached batch token (renewed a minute before it expires); None when the account cannot give one now."""
        if not self.batch_base:
            return None
        now = time.time()
        with self._batch_lock:
            if self._batch_token and self._batch_token[1] - BATCH_TOKEN_MARGIN > now:
                return self._batch_token[0]
            if self._batch_unavailable_until > now:
                return None
            try:
                result = self._send("GET", self._url("v1/batch_token"), None) or {}
                token, expires = result["token"], _parse_time(result.get("expiresAt"))
            except (ImagesError, KeyError, TypeError, ValueError) as exc:
                log.warning("no batch token, using the API directly for %s s: %s", BATCH_RETRY_AFTER, exc)
                self._batch_unavailable_until = now + BATCH_RETRY_AFTER
                return None
            self._batch_token = (token, expires or now + 600)
            return token

    def _error(self, response, body) -> ImagesError:
        errors = (body or {}).get("errors") or [] if isinstance(body, dict) else []
        first = errors[0] if errors and isinstance(errors[0], dict) else {}
        code = first.get("code") if isinstance(first.get("code"), int) else None
        message = str(first.get("message") or f"The images service answered HTTP {response.status_code}.")
        status = response.status_code
        retry_after = None
        if status == 429 or status >= 500:  # RFC 9110: Retry-After goes with 503 as well as 429
            try:
                retry_after = float(response.headers.get("Retry-After", ""))
            except ValueError:
                retry_after = None
        if status in (408, 429) or status >= 500 or code in TRANSIENT_API_CODES:
            return TransientImagesError(message, status=status, code=code, retry_after=retry_after)
        if status == 404:
            return ImageNotFound(message, status=status, code=code)
        if status == 409:
            return ImageIdTaken(message, status=status, code=code)
        return PermanentImagesError(message, status=status, code=code)

    def upload_url(
        self,
        url: str,
        *,
        image_id: str | None = None,
        metadata: dict | None = None,
        require_signed_urls: bool = False,
        creator: str | None = None,
    ) -> dict:
        import json

        fields = {"url": url, "requireSignedURLs": "true" if require_signed_urls else "false"}
        if image_id:
            fields["id"] = image_id
        if metadata:
            fields["metadata"] = json.dumps(metadata)
        if creator:
            fields["creator"] = creator
        # Multipart like Cloudflare's own clients send it: one part per field, no file part.
        return self._call("POST", "v1", batch=True, files={key: (None, value) for key, value in fields.items()})

    def get(self, image_id: str) -> dict:
        return self._call("GET", f"v1/{quote(image_id, safe='')}", batch=True)

    def delete(self, image_id: str) -> None:
        self._call("DELETE", f"v1/{quote(image_id, safe='')}", batch=True)

    def list(self, *, creator: str | None = None, per_page: int = 100, continuation_token: str | None = None) -> dict:
        params = {"per_page": per_page}
        if creator:
            params["creator"] = creator
        if continuation_token:
            params["continuation_token"] = continuation_token
        return self._call("GET", "v2", batch=True, params=params)

    def get_config(self) -> dict:
        return self._call("GET", "v1/config") or {}

    def edit_config(self, changes: dict) -> dict:
        return self._call("PATCH", "v1/config", json=changes) or {}

    def variants(self) -> dict[str, dict]:
        """Named variants by name: `{id, options, neverRequireSignedURLs}` each."""
        return (self._call("GET", "v1/variants") or {}).get("variants") or {}

    def create_variant(self, name: str, options: dict, never_require_signed_urls: bool = False) -> dict:
        body = {"id": name, "options": options, "neverRequireSignedURLs": never_require_signed_urls}
        return (self._call("POST", "v1/variants", json=body) or {}).get("variant") or {}

    def edit_variant(self, name: str, options: dict, never_require_signed_urls: bool = False) -> dict:
        body = {"options": options, "neverRequireSignedURLs": never_require_signed_urls}
        return (self._call("PATCH", f"v1/variants/{quote(name, safe='')}", json=body) or {}).get("variant") or {}

    def keys(self) -> list[dict]:
        return (self._call("GET", "v1/keys") or {}).get("keys") or []

    def signing_key(self) -> str:
        if not self._signing_key:
            keys = self.keys()
            if not keys:
                raise PermanentImagesError("The images account has no signing key.")
            self._signing_key = keys[0]["value"]
        return self._signing_key

    def is_delivered(self, image_id: str) -> bool:
        """Whether the public delivery URL of an image still answers 200 (doctor's check after a delete)."""
        import requests

        try:
            return requests.get(self.delivery_url(image_id, "public"), timeout=10).status_code == 200
        except (requests.RequestException, ImagesError):
            return False

    def delivery_url(self, image_id: str, variant: str = "public", *, signed: bool = False, ttl: int = 3600) -> str:
        url = f"{self.delivery_base}/{self.account_hash}/{image_id}/{variant}"
        return sign_delivery_url(url, self.signing_key(), ttl=ttl) if signed else url
