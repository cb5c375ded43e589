"""The Cloudflare Images API client (the real service or the local stand-in, one client for both)."""

from __future__ import annotations

from urllib.parse import quote

from app.delivery_signing import sign_delivery_url


class ImagesError(Exception):
    """A failed call to the Images API; `transient` says whether the same call may succeed later."""

    transient = False

    def __init__(self, message: str, *, status: int | None = None, code: int | None = None,
                 retry_after: float | None = None):
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

    def __init__(self, api_base: str, account_id: str, api_token: str, account_hash: str, delivery_base: str,
                 *, signing_key: str = "", timeout: tuple[float, float] = (5.0, 30.0), session=None):
        import requests

        self.api_base = api_base.rstrip("/")
        self.account_id = account_id
        self.account_hash = account_hash
        self.delivery_base = delivery_base.rstrip("/")
        self.timeout = timeout
        self._signing_key = signing_key
        self.session = session or requests.Session()
        self.session.headers["Authorization"] = f"Bearer {api_token}"

    @classmethod
    def from_config(cls, config) -> "CloudflareImages":
        return cls(config["IMAGES_API_BASE"], config["IMAGES_ACCOUNT_ID"], config["IMAGES_API_TOKEN"],
                   config["IMAGES_ACCOUNT_HASH"], config["IMAGES_DELIVERY_BASE"],
                   signing_key=config.get("IMAGES_SIGNING_KEY", ""))

    def _url(self, path: str) -> str:
        return f"{self.api_base}/accounts/{self.account_id}/images/{path}"

    def _call(self, method: str, path: str, **kwargs):
        import requests

        try:
            response = self.session.request(method, self._url(path), timeout=self.timeout, **kwargs)
        except requests.Timeout as exc:
            raise TransientImagesError(f"The images service did not answer in time ({exc.__class__.__name__}).") from exc
        except requests.RequestException as exc:
            raise TransientImagesError(f"The images service could not be reached ({exc.__class__.__name__}).") from exc
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.ok and isinstance(body, dict) and body.get("success"):
            return body.get("result")
        raise self._error(response, body)

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

    def upload_url(self, url: str, *, image_id: str | None = None, metadata: dict | None = None,
                   require_signed_urls: bool = False, creator: str | None = None) -> dict:
        import json

        fields = {"url": url, "requireSignedURLs": "true" if require_signed_urls else "false"}
        if image_id:
            fields["id"] = image_id
        if metadata:
            fields["metadata"] = json.dumps(metadata)
        if creator:
            fields["creator"] = creator
        # Multipart like Cloudflare's own clients send it: one part per field, no file part.
        return self._call("POST", "v1", files={key: (None, value) for key, value in fields.items()})

    def get(self, image_id: str) -> dict:
        return self._call("GET", f"v1/{quote(image_id, safe='')}")

    def delete(self, image_id: str) -> None:
        self._call("DELETE", f"v1/{quote(image_id, safe='')}")

    def list(self, *, creator: str | None = None, per_page: int = 100, continuation_token: str | None = None) -> dict:
        params = {"per_page": per_page}
        if creator:
            params["creator"] = creator
        if continuation_token:
            params["continuation_token"] = continuation_token
        return self._call("GET", "v2", params=params)

    def signing_key(self) -> str:
        if not self._signing_key:
            keys = (self._call("GET", "v1/keys") or {}).get("keys") or []
            if not keys:
                raise PermanentImagesError("The images account has no signing key.")
            self._signing_key = keys[0]["value"]
        return self._signing_key

    def delivery_url(self, image_id: str, variant: str = "public", *, signed: bool = False, ttl: int = 3600) -> str:
        url = f"{self.delivery_base}/{self.account_hash}/{image_id}/{variant}"
        return sign_delivery_url(url, self.signing_key(), ttl=ttl) if signed else url
