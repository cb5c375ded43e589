"""The one Python client of the aeontel JSON API, shared by the CLI and the MCP server (it never touches the database)."""

from __future__ import annotations

import json
import os
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import quote

import requests

DEFAULT_API_URL = "http://127.0.0.1:5000"
CHUNK = 256 * 1024
# 429 and 503 with Retry-After are waited out this many times, each wait at most MAX_WAIT seconds.
MAX_RETRIES, MAX_WAIT = 8, 60.0
RETRYABLE = (429, 503)


class ApiError(Exception):
    """A problem+json answer (or a transport failure) with its HTTP `status`, machine `code` and human `detail`."""

    def __init__(self, status: int | None, code: str, detail: str, title: str | None = None, body: dict | None = None):
        super().__init__(detail)
        self.status, self.code, self.detail, self.title, self.body = status, code, detail, title, body or {}

    def __str__(self) -> str:
        return f"{self.detail} ({self.code})" if self.code else self.detail


class AuthError(ApiError):
    """401 or 403: the token is missing, unknown, revoked, or lacks the scope."""


class NotFoundError(ApiError):
    """404: no such object in the token's workspace."""


class ApiConnectionError(ApiError):
    """The API could not be reached at all (refused, DNS, timeout)."""


@dataclass(frozen=True)
class Settings:
    api_url: str
    token: str | None
    project_id: str | None = None


def config_path() -> Path:
    if os.environ.get("AEONTEL_CONFIG"):
        return Path(os.environ["AEONTEL_CONFIG"])
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "aeontel" / "config.json"


def read_config() -> dict:
    path = config_path()
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ApiError(None, "config_unreadable", f"cannot read the config file {path}: {exc}") from None
    return data if isinstance(data, dict) else {}


def write_config(**values: str | None) -> Path:
    """Merges `values` into the config file, written atomically and readable by its owner only (0600)."""
    path = config_path()
    data = read_config()
    data.update({key: value for key, value in values.items() if value is not None})
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=".config-", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle, indent=2)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    os.chmod(path, 0o600)
    return path


def load_settings(api_url: str | None = None, token: str | None = None, project_id: str | None = None) -> Settings:
    """Explicit values win, then the environment, then the login config file, then the defaults."""
    config = read_config()
    return Settings(
        api_url=(api_url or os.environ.get("AEONTEL_API_URL") or config.get("api_url") or DEFAULT_API_URL).rstrip("/"),
        token=token or os.environ.get("AEONTEL_TOKEN") or config.get("token") or None,
        project_id=project_id or os.environ.get("AEONTEL_PROJECT") or config.get("project_id") or None,
    )


class _MultipartBody:
    """A multipart/form-data body streamed from disk in chunks, with a known length so no chunked encoding is needed."""

    def __init__(self, path: Path, fields: dict[str, str], progress: Callable[[int], None] | None = None):
        self.path, self.progress = path, progress
        self.boundary = uuid.uuid4().hex
        head = b"".join(
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
            for name, value in fields.items()
        )
        fallback = path.name.encode("ascii", "replace").decode().replace("\\", "_").replace('"', "_")
        head += (
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="file"; filename="{fallback}"; '
            f"filename*=UTF-8''{quote(path.name)}\r\n"
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        self.head, self.tail = head, f"\r\n--{self.boundary}--\r\n".encode()
        self.size = path.stat().st_size

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def __len__(self) -> int:
        return len(self.head) + self.size + len(self.tail)

    def __iter__(self) -> Iterator[bytes]:
        yield self.head
        with self.path.open("rb") as handle:
            while chunk := handle.read(CHUNK):
                yield chunk
                if self.progress:
                    self.progress(len(chunk))
        yield self.tail


class Client:
    """Calls the API with a bearer token; every failure is an `ApiError` subclass."""

    def __init__(
        self,
        api_url: str = DEFAULT_API_URL,
        token: str | None = None,
        timeout: float = 30.0,
        max_retries: int = MAX_RETRIES,
        max_wait: float = MAX_WAIT,
    ):
        self.api_url, self.token, self.timeout = api_url.rstrip("/"), token, timeout
        self.max_retries, self.max_wait = max_retries, max_wait
        self.retried = 0  # answers waited out (429/503 with Retry-After), for callers that report it
        self.session = requests.Session()
        self.session.headers["User-Agent"] = "aeontel-client/0.1"
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    @classmethod
    def from_settings(cls, settings: Settings) -> "Client":
        return cls(settings.api_url, settings.token)

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def list_images(
        self,
        workspace_id: str | None = None,
        project_id: str | None = None,
        q: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        **filters,
    ) -> dict:
        """One page: `{"object": "list", "data": [...], "has_more", "next_cursor"}` (+ `total` with count=True).

        `filters`: sort ("-created", "name", "-size", …), format, has_alt_text, created_after, created_before, count.
        """
        params = {
            "workspace_id": workspace_id,
            "project_id": project_id,
            "q": q,
            "limit": limit,
            "cursor": cursor,
            **filters,
        }
        return self._request("GET", "/api/images", params=_query(params))

    def iter_images(
        self,
        workspace_id: str | None = None,
        project_id: str | None = None,
        q: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        **filters,
    ) -> Iterator[dict]:
        """Every image from `cursor` on, following `next_cursor`; `limit` is the page size."""
        return self._iterate(self.list_images, workspace_id, project_id, q, limit, cursor, **filters)

    def list_files(
        self,
        workspace_id: str | None = None,
        project_id: str | None = None,
        q: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        **filters,
    ) -> dict:
        """One page of files; `filters`: sort, status, created_after, created_before, count."""
        params = {
            "workspace_id": workspace_id,
            "project_id": project_id,
            "q": q,
            "limit": limit,
            "cursor": cursor,
            **filters,
        }
        return self._request("GET", "/api/files", params=_query(params))

    def iter_files(
        self,
        workspace_id: str | None = None,
        project_id: str | None = None,
        q: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        **filters,
    ) -> Iterator[dict]:
        return self._iterate(self.list_files, workspace_id, project_id, q, limit, cursor, **filters)

    @staticmethod
    def _iterate(list_page, workspace_id, project_id, q, limit, cursor, **filters) -> Iterator[dict]:
        filters.pop("count", None)
        while True:
            page = list_page(workspace_id, project_id, q, limit, cursor, **filters)
            yield from page["data"]
            cursor = page.get("next_cursor")
            if not page.get("has_more") or not cursor:
                return

    def update_image(self, file_id: str, **changes) -> dict:
        """Changes any of altText, decorative, focalPoint ({"x", "y"} or None) and name; answers the image."""
        return self._request("PATCH", f"/api/images/{quote(file_id, safe='')}", json=changes)

    def get_image(self, file_id: str) -> dict:
        return self._request("GET", f"/api/images/{quote(file_id, safe='')}")

    def delete_image(self, file_id: str, permanent: bool = False) -> dict:
        """Into the workspace's trash (`restorableUntil`), or for good with `permanent`."""
        params = {"permanent": "true"} if permanent else None
        return self._request("DELETE", f"/api/images/{quote(file_id, safe='')}", params=params)

    def delete_file(self, file_id: str, permanent: bool = False) -> dict:
        """Into the workspace's trash (`restorableUntil`), or for good with `permanent` (also out of the trash)."""
        params = {"permanent": "true"} if permanent else None
        return self._request("DELETE", f"/api/files/{quote(file_id, safe='')}", params=params)

    def restore_file(self, file_id: str) -> dict:
        """Brings a file back from the trash; its image is provisioned again under the same delivery URL."""
        return self._request("POST", f"/api/files/{quote(file_id, safe='')}/restore")

    def list_trash(
        self,
        workspace_id: str | None = None,
        project_id: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> dict:
        """One page of the trash: files with `deletedAt` and `purgeAfter`."""
        params = {"workspace_id": workspace_id, "project_id": project_id, "limit": limit, "cursor": cursor}
        return self._request("GET", "/api/trash", params={k: v for k, v in params.items() if v is not None})

    def iter_trash(self, project_id: str | None = None, limit: int | None = None) -> Iterator[dict]:
        cursor = None
        while True:
            page = self.list_trash(project_id=project_id, limit=limit, cursor=cursor)
            yield from page["data"]
            cursor = page.get("next_cursor")
            if not page.get("has_more") or not cursor:
                return

    def empty_trash(self, project_id: str | None = None) -> dict:
        """Purges every file in the trash (of one project, or the whole workspace): `{"purged": n}`."""
        params = {"project_id": project_id} if project_id else None
        return self._request("DELETE", "/api/trash", params=params)

    def get_file(self, file_id: str) -> dict:
        return self._request("GET", f"/api/files/{quote(file_id, safe='')}")

    def retry_file(self, file_id: str) -> dict:
        """A failed image starts afresh; one waiting for the images service is tried now. Answers the file."""
        return self._request("POST", f"/api/files/{quote(file_id, safe='')}/retry")

    def upload_file(
        self, path: str | os.PathLike, project_id: str, progress: Callable[[int], None] | None = None
    ) -> dict:
        """Streams the file from disk; `progress(n)` is called with each chunk's size as it is sent."""
        source = Path(path)
        try:
            body = _MultipartBody(source, {"project_id": project_id}, progress)
        except OSError as exc:
            raise ApiError(None, "file_unreadable", f"cannot read {source}: {exc.strerror or exc}") from None
        return self._request(
            "POST",
            "/api/files",
            data=body,
            headers={"Content-Type": body.content_type, "Content-Length": str(len(body))},
            timeout=(10, max(self.timeout, 300)),
        )

    def create_upload_url(
        self,
        project_id: str,
        max_bytes: int | None = None,
        expires_in: int | None = None,
        alt_text: str | None = None,
        name: str | None = None,
    ) -> dict:
        """A one-time upload URL for a browser (or anyone) to post one file to, with no token of its own."""
        body: dict = {"projectId": project_id}
        if max_bytes is not None:
            body["maxBytes"] = max_bytes
        if expires_in is not None:
            body["expiresIn"] = expires_in
        metadata = {key: value for key, value in (("altText", alt_text), ("name", name)) if value is not None}
        if metadata:
            body["metadata"] = metadata
        return self._request("POST", "/api/uploads", json=body)

    def list_webhooks(self) -> dict:
        """The workspace's webhook endpoints (owners and write tokens only)."""
        return self._request("GET", "/api/webhooks")

    def create_webhook(self, url: str, events: list[str] | None = None, description: str | None = None) -> dict:
        """A new endpoint; the answer's `secret` (whsec_…) is how the receiver verifies signatures."""
        body: dict = {"url": url, "events": events or []}
        if description is not None:
            body["description"] = description
        return self._request("POST", "/api/webhooks", json=body)

    def update_webhook(self, webhook_id: str, **changes) -> dict:
        return self._request("PATCH", f"/api/webhooks/{quote(webhook_id, safe='')}", json=changes)

    def delete_webhook(self, webhook_id: str) -> dict:
        return self._request("DELETE", f"/api/webhooks/{quote(webhook_id, safe='')}")

    def webhook_secret(self, webhook_id: str) -> dict:
        return self._request("GET", f"/api/webhooks/{quote(webhook_id, safe='')}/secret")

    def webhook_deliveries(self, webhook_id: str, limit: int | None = None) -> dict:
        params = {"limit": limit} if limit is not None else {}
        return self._request("GET", f"/api/webhooks/{quote(webhook_id, safe='')}/deliveries", params=params)

    def redeliver_webhook(self, webhook_id: str, message_id: str) -> dict:
        return self._request(
            "POST", f"/api/webhooks/{quote(webhook_id, safe='')}/deliveries/{quote(message_id, safe='')}/redeliver"
        )

    def test_webhook(self, webhook_id: str) -> dict:
        return self._request("POST", f"/api/webhooks/{quote(webhook_id, safe='')}/test")

    def wait_for_file(self, file_id: str, timeout: float = 120.0, interval: float = 0.5) -> tuple[dict, dict | None]:
        """Polls until the file is ready (and, for an image, until the image exists) or failed: (file, image or None)."""
        deadline = time.monotonic() + timeout
        while True:
            file = self.get_file(file_id)
            if file["status"] == "error":
                return file, None
            if file["status"] == "ready":
                if not file.get("isImage"):
                    return file, None
                try:
                    return file, self.get_image(file_id)
                except NotFoundError:
                    pass  # stored, but the image is not requested yet (an older server answers 404 until ready)
                except ApiError as exc:
                    if exc.code != "image_not_ready":
                        raise
                    if exc.body.get("imageStatus") == "failed":
                        return self.get_file(file_id), None
            if time.monotonic() >= deadline:
                state = (file.get("image") or {}).get("status") or file["status"]
                if state == "waiting":
                    state = (
                        "waiting for the images service (retrying automatically; it becomes an image when the "
                        "service is back)"
                    )
                raise ApiError(None, "wait_timeout", f"{file_id} was still {state} after {timeout:g}s")
            time.sleep(interval)

    def _request(self, method: str, path: str, timeout=None, **kwargs) -> dict:
        url = self.api_url + path
        for attempt in range(self.max_retries + 1):
            response = self._send(method, url, timeout, **kwargs)
            wait = retry_after(response)
            if response.status_code not in RETRYABLE or wait is None or attempt == self.max_retries:
                break
            self.retried += 1
            time.sleep(min(wait, self.max_wait))
        if response.ok:
            try:
                return response.json()
            except ValueError:
                raise ApiError(
                    response.status_code, "bad_response", f"{method} {url} answered {response.status_code} without JSON"
                ) from None
        raise _error_from(response)

    def _send(self, method: str, url: str, timeout=None, **kwargs) -> requests.Response:
        try:
            return self.session.request(method, url, timeout=timeout or self.timeout, **kwargs)
        except requests.Timeout:
            raise ApiConnectionError(None, "timeout", f"{method} {url} timed out") from None
        except requests.ConnectionError:
            raise ApiConnectionError(
                None, "connection_failed", f"cannot reach the aeontel API at {self.api_url}"
            ) from None
        except requests.RequestException as exc:
            raise ApiConnectionError(None, "request_failed", f"{method} {url} failed: {exc}") from None


def _query(params: dict) -> dict:
    """Query parameters as the API spells them: None left out, booleans as true/false."""
    return {
        key: (str(value).lower() if isinstance(value, bool) else value)
        for key, value in params.items()
        if value is not None
    }


def retry_after(response: requests.Response) -> float | None:
    """Seconds the server asked to wait (Retry-After as seconds or an HTTP date); None when it did not ask."""
    raw = response.headers.get("Retry-After")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        return max(0.0, (parsedate_to_datetime(raw) - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return None


def _error_from(response: requests.Response) -> ApiError:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        body = {}
    status = response.status_code
    code = str(body.get("code") or f"http_{status}")
    detail = str(body.get("detail") or body.get("title") or response.reason or f"HTTP {status}")
    kind = AuthError if status in (401, 403) else NotFoundError if status == 404 else ApiError
    return kind(status, code, detail, body.get("title"), body)
