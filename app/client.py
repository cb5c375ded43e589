"""The one Python client of the aeontel JSON API, shared by the CLI and the MCP server (it never touches the database)."""

from __future__ import annotations

import base64
import hashlib
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
# Files of at least one piece go resumably (tus 1.0 at /api/tus), one piece per PATCH; AEONTEL_TUS_CHUNK overrides.
TUS_CHUNK = 8 * 1024 * 1024
TUS_HEADERS = {"Tus-Resumable": "1.0.0"}


@dataclass(frozen=True)
class Filter:
    """One image-fact filter of the API's lists, declared once for the faces that speak HTTP: the CLI makes an option
    of it (`--min-width`), the MCP server a tool argument (`min_width`)."""

    name: str  # the API's query parameter
    kind: type  # str, int or bool
    description: str
    choices: tuple[str, ...] = ()
    maximum: int | None = None  # an int's bounds (from 0)
    max_length: int | None = None
    metavar: str = ""


ORIENTATIONS = ("landscape", "portrait", "square")
COLOURS = ("black", "white", "grey", "red", "orange", "brown", "yellow", "green", "teal", "blue", "purple", "pink")
_PIXELS, _BYTES = 2**31 - 1, 2**63 - 1
# The image facts (and the size bounds) that `image list`/`list_images`, `file list`/`list_files` and the facets take;
# tests/test_cross_face.py holds them to the query engine's parameters.
FACT_FILTERS = (
    Filter("camera", str, "Only this camera, exactly as `cameraModel` (e.g. 'Canon EOS R5').", metavar="MODEL"),
    Filter("camera_make", str, "Only cameras of this maker (`cameraMake`, EXIF Make, e.g. Canon).", metavar="MAKER"),
    Filter("lens", str, "Only this lens, exactly as `lens`.", metavar="LENS"),
    Filter("taken_after", str, "Only photos taken after this ISO 8601 date or time.", metavar="TIME"),
    Filter("taken_before", str, "Only photos taken before this ISO 8601 date or time.", metavar="TIME"),
    Filter("orientation", str, "Only images of this orientation.", choices=ORIENTATIONS),
    Filter("min_width", int, "At least this many pixels wide (as displayed).", maximum=_PIXELS, metavar="PX"),
    Filter("max_width", int, "At most this many pixels wide (as displayed).", maximum=_PIXELS, metavar="PX"),
    Filter("min_height", int, "At least this many pixels high (as displayed).", maximum=_PIXELS, metavar="PX"),
    Filter("max_height", int, "At most this many pixels high (as displayed).", maximum=_PIXELS, metavar="PX"),
    Filter("min_size", int, "Files of at least this many bytes.", maximum=_BYTES, metavar="BYTES"),
    Filter("max_size", int, "Files of at most this many bytes.", maximum=_BYTES, metavar="BYTES"),
    Filter(
        "source", str, "What the images service was sent: the original or a master.", choices=("original", "master")
    ),
    Filter("colour", str, "Only images whose dominant colour is of this family.", choices=COLOURS),
    Filter("format", str, "Only this image format: jpeg, png, webp, gif, svg, …", max_length=16, metavar="FORMAT"),
    Filter(
        "has_alt_text",
        bool,
        "Only images with alt text (true), or only those still to describe: no alt text, not decorative (false).",
    ),
)


def file_sha256(path: str | os.PathLike) -> str:
    """The SHA-256 (hex) of a file's bytes, read in chunks: what the API's hash-first check asks about."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as stream:
            for chunk in iter(lambda: stream.read(1 << 20), b""):
                digest.update(chunk)
    except OSError as exc:
        raise ApiError(None, "file_unreadable", f"cannot read {path}: {exc.strerror or exc}") from None
    return digest.hexdigest()


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

        `filters`: sort ("-created", "name", "-size", …), the image facts (camera, camera_make, lens, taken_after,
        taken_before, orientation, min/max_width/height, min/max_size, source, colour, format, has_alt_text),
        created_after, created_before, count, collection (an id), tag (a list: images carrying every one).
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

    def image_facets(
        self,
        workspace_id: str | None = None,
        project_id: str | None = None,
        q: str | None = None,
        **filters,
    ) -> dict:
        """Per facet its top values with counts among the images the filters match (`GET /api/images/facets`)."""
        params = {"workspace_id": workspace_id, "project_id": project_id, "q": q, **filters}
        return self._request("GET", "/api/images/facets", params=_query(params))

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
        """One page of files; `filters`: sort, status, is_image, image_state, sha256, created_after, created_before,
        count."""
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

    def change_tags(
        self,
        ids: list[str] | None = None,
        query: dict | None = None,
        add: list[str] | None = None,
        remove: list[str] | None = None,
    ) -> dict:
        """Adds and removes tags on the images `ids`, or on every image the list `query` matches: `{changed}`."""
        body = {
            key: value for key, value in (("ids", ids), ("query", query), ("add", add), ("remove", remove)) if value
        }
        return self._request("POST", "/api/images/tags", json=body)

    def suggest_tags(self, prefix: str | None = None, limit: int | None = None) -> dict:
        """The workspace's tags starting with `prefix` (any case), most used first."""
        return self._request("GET", "/api/tags", params=_query({"prefix": prefix, "limit": limit}))

    def list_collections(self, project_id: str | None = None) -> dict:
        return self._request("GET", "/api/collections", params=_query({"project_id": project_id}))

    def create_collection(self, project_id: str, name: str) -> dict:
        return self._request("POST", "/api/collections", json={"projectId": project_id, "name": name})

    def get_collection(self, collection_id: str) -> dict:
        return self._request("GET", f"/api/collections/{quote(collection_id, safe='')}")

    def rename_collection(self, collection_id: str, name: str) -> dict:
        return self._request("PATCH", f"/api/collections/{quote(collection_id, safe='')}", json={"name": name})

    def delete_collection(self, collection_id: str) -> dict:
        """The collection goes, its images stay; answers `{}`."""
        return self._request("DELETE", f"/api/collections/{quote(collection_id, safe='')}")

    def add_to_collection(self, collection_id: str, ids: list[str] | None = None, query: dict | None = None) -> dict:
        """Adds the images `ids`, or every image the list `query` matches: `{collection, changed}`."""
        body = {"ids": ids} if ids else {"query": query}
        return self._request("POST", f"/api/collections/{quote(collection_id, safe='')}/images", json=body)

    def remove_from_collection(
        self, collection_id: str, ids: list[str] | None = None, query: dict | None = None
    ) -> dict:
        body = {"ids": ids} if ids else {"query": query}
        return self._request("DELETE", f"/api/collections/{quote(collection_id, safe='')}/images", json=body)

    def delete_image(self, file_id: str, permanent: bool = False) -> dict:
        """Into the workspace's trash (`restorableUntil`), or for good with `permanent`."""
        params = {"permanent": "true"} if permanent else None
        return self._request("DELETE", f"/api/images/{quote(file_id, safe='')}", params=params)

    def similar_images(self, file_id: str, threshold: int | None = None, limit: int | None = None) -> dict:
        """The workspace's near duplicates of an image, nearest first: `{"data": [{"distance", "image"}]}`."""
        params = _query({"threshold": threshold, "limit": limit})
        return self._request("GET", f"/api/images/{quote(file_id, safe='')}/similar", params=params)

    def list_duplicates(
        self, project_id: str | None = None, cursor: str | None = None, workspace_id: str | None = None
    ) -> dict:
        """One page of groups of near duplicates; follow `next_cursor` until it is null."""
        params = _query({"project_id": project_id, "cursor": cursor, "workspace_id": workspace_id})
        return self._request("GET", "/api/duplicates", params=params)

    def iter_duplicates(self, project_id: str | None = None, workspace_id: str | None = None) -> Iterator[dict]:
        """Every group of near duplicates, page after page."""
        cursor = None
        while True:
            page = self.list_duplicates(project_id, cursor, workspace_id)
            yield from page["data"]
            cursor = page["next_cursor"]
            if not cursor:
                return

    def merge_duplicates(self, keep: str, merge: list[str]) -> dict:
        """Keeps `keep`; the others go to the trash; their alt text, focal point, tags and collections carry over."""
        return self._request("POST", "/api/duplicates/merge", json={"keep": keep, "merge": list(merge)})

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
        q: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        **filters,
    ) -> dict:
        """One page of the trash: files with `deletedAt` and `purgeAfter`; `filters` as for list_files."""
        params = {
            "workspace_id": workspace_id,
            "project_id": project_id,
            "q": q,
            "limit": limit,
            "cursor": cursor,
            **filters,
        }
        return self._request("GET", "/api/trash", params=_query(params))

    def iter_trash(
        self,
        workspace_id: str | None = None,
        project_id: str | None = None,
        q: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        **filters,
    ) -> Iterator[dict]:
        return self._iterate(self.list_trash, workspace_id, project_id, q, limit, cursor, **filters)

    def empty_trash(self, project_id: str | None = None) -> dict:
        """Purges every file in the trash (of one project, or the whole workspace): `{"purged": n}`."""
        return self._request("DELETE", "/api/trash", params=_query({"project_id": project_id}))

    def get_file(self, file_id: str) -> dict:
        return self._request("GET", f"/api/files/{quote(file_id, safe='')}")

    def retry_file(self, file_id: str) -> dict:
        """A failed image starts afresh; one waiting for the images service is tried now. Answers the file."""
        return self._request("POST", f"/api/files/{quote(file_id, safe='')}/retry")

    def find_by_sha256(self, sha256: str, workspace_id: str | None = None) -> dict | None:
        """The workspace's file with these bytes (their SHA-256, hex), or None: ask before sending them."""
        page = self._request("GET", "/api/files", params=_query({"sha256": sha256, "workspace_id": workspace_id}))
        return page["data"][0] if page["data"] else None

    def known_file(self, path: str | os.PathLike, workspace_id: str | None = None) -> dict | None:
        """The workspace's file with the same bytes as `path` (hashed here, nothing sent), or None."""
        return self.find_by_sha256(file_sha256(path), workspace_id)

    def upload_file(
        self,
        path: str | os.PathLike,
        project_id: str,
        progress: Callable[[int], None] | None = None,
        idempotency_key: str | None = None,
        duplicates: str | None = None,
    ) -> dict:
        """Streams the file from disk; `progress(n)` is called with each chunk's size as it is sent. Every call
        sends one Idempotency-Key (a new UUID unless given) with each of its tries, so a retry after a lost answer
        gets the first answer back instead of storing the file twice. Bytes the workspace already has answer that
        file with `duplicateOf` unless `duplicates="allow"`. A file of at least one tus piece goes resumably instead
        (see upload_resumable), where a retry goes on from the server's offset; a resumable upload always makes a new
        file (ask first with known_file to avoid sending bytes the workspace has)."""
        source = Path(path)
        try:
            if source.stat().st_size >= tus_chunk():
                return self.upload_resumable(source, project_id, progress)
        except OSError as exc:
            raise ApiError(None, "file_unreadable", f"cannot read {source}: {exc.strerror or exc}") from None
        try:
            body = _MultipartBody(source, {"project_id": project_id}, progress)
        except OSError as exc:
            raise ApiError(None, "file_unreadable", f"cannot read {source}: {exc.strerror or exc}") from None
        return self._request(
            "POST",
            "/api/files" + ("?duplicates=allow" if duplicates == "allow" else ""),
            data=body,
            headers={
                "Content-Type": body.content_type,
                "Content-Length": str(len(body)),
                "Idempotency-Key": idempotency_key or str(uuid.uuid4()),
            },
            timeout=(10, max(self.timeout, 300)),
        )

    def replace_file(
        self,
        file_id: str,
        path: str | os.PathLike,
        name: str | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> dict:
        """Streams new bytes for an image: they become its next version (`pending` until the worker has it ready; the
        current version serves meanwhile). `name` renames the file once the version is current."""
        source = Path(path)
        try:
            body = _MultipartBody(source, {"name": name} if name else {}, progress)
        except OSError as exc:
            raise ApiError(None, "file_unreadable", f"cannot read {source}: {exc.strerror or exc}") from None
        return self._request(
            "PUT",
            f"/api/files/{quote(file_id, safe='')}/content",
            data=body,
            headers={"Content-Type": body.content_type, "Content-Length": str(len(body))},
            timeout=(10, max(self.timeout, 300)),
        )

    def list_versions(self, file_id: str) -> dict:
        return self._request("GET", f"/api/files/{quote(file_id, safe='')}/versions")

    def get_version(self, file_id: str, number: int) -> dict:
        return self._request("GET", f"/api/files/{quote(file_id, safe='')}/versions/{int(number)}")

    def restore_version(self, file_id: str, number: int) -> dict:
        """The old version's bytes become a new version (processed like a replace)."""
        return self._request("POST", f"/api/files/{quote(file_id, safe='')}/versions/{int(number)}/restore")

    def wait_for_version(self, file_id: str, number: int, timeout: float = 120.0, interval: float = 0.5) -> dict:
        """Polls a version until it is no longer `pending` (current, or failed with its error)."""
        deadline = time.monotonic() + timeout
        while True:
            version = self.get_version(file_id, number)
            if version["state"] != "pending" or time.monotonic() >= deadline:
                return version
            time.sleep(interval)

    def import_url(self, url: str, project_id: str) -> dict:
        """The server fetches the file at `url` (public addresses only) and stores it like an upload; answers the file."""
        return self._request(
            "POST", "/api/files", data={"url": url, "project_id": project_id}, timeout=(10, max(self.timeout, 120))
        )

    def upload_resumable(self, source: Path, project_id: str, progress: Callable[[int], None] | None = None) -> dict:
        """tus 1.0: one piece per PATCH; after a dropped connection it asks the server's offset and goes on from
        there, and an upload cut short for good is remembered (resume_state_path) so the same command resumes it."""
        state = ResumeState(resume_state_path())
        key = state.key(self.api_url, source)
        url = state.get(key)
        offset = self._tus_offset(url) if url else None
        if offset is None:
            url, offset = self._tus_create(source, project_id), 0
            state.put(key, url)
        if progress and offset:
            progress(offset)
        size, failures = source.stat().st_size, 0
        with source.open("rb") as handle:
            while True:
                handle.seek(offset)
                try:
                    response = self._tus_patch(url, offset, handle.read(tus_chunk()))
                except ApiConnectionError:
                    failures += 1
                    if failures > self.max_retries:
                        raise ApiConnectionError(
                            None,
                            "upload_interrupted",
                            f"the upload of {source} stopped at {offset:,} of {size:,} bytes; "
                            "run the same command again to resume it",
                        ) from None
                    time.sleep(min(0.1 * 2**failures, self.max_wait))
                    offset = self._tus_offset(url, keep_going=True) or offset
                    continue
                if response.status_code in (409, 423):
                    offset = self._tus_offset(url) or offset
                    continue
                if not response.ok:
                    state.drop(key)
                    raise _error_from(response)
                sent, offset = int(response.headers["Upload-Offset"]) - offset, int(response.headers["Upload-Offset"])
                if progress:
                    progress(sent)
                if offset >= size:
                    state.drop(key)
                    return self._request("GET", "/api/files/" + response.headers["Content-Location"].rsplit("/", 1)[1])

    def _tus_create(self, source: Path, project_id: str) -> str:
        metadata = ",".join(
            f"{name} {base64.b64encode(value.encode()).decode()}"
            for name, value in (("filename", source.name), ("project_id", project_id))
        )
        response = self._send(
            "POST",
            self.api_url + "/api/tus",
            headers={**TUS_HEADERS, "Upload-Length": str(source.stat().st_size), "Upload-Metadata": metadata},
        )
        if response.status_code != 201:
            raise _error_from(response)
        return response.headers["Location"]

    def _tus_offset(self, url: str, keep_going: bool = False) -> int | None:
        """Where the server's copy ends; None when it has no such upload (gone, expired: start afresh)."""
        try:
            response = self._send("HEAD", url, headers=TUS_HEADERS)
        except ApiConnectionError:
            if keep_going:
                return None
            raise
        if response.status_code in (404, 410):
            return None
        if not response.ok:
            raise _error_from(response)
        return int(response.headers["Upload-Offset"])

    def _tus_patch(self, url: str, offset: int, piece: bytes) -> requests.Response:
        headers = {**TUS_HEADERS, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"}
        return self._send("PATCH", url, timeout=(10, max(self.timeout, 300)), data=piece, headers=headers)

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

    def list_views(self, workspace_id: str | None = None, project_id: str | None = None) -> dict:
        """The caller's saved views (a token's own views for a token), by name."""
        return self._request(
            "GET", "/api/views", params=_query({"workspace_id": workspace_id, "project_id": project_id})
        )

    def create_view(self, project_id: str, name: str, query: str = "", layout: str = "grid") -> dict:
        """Saves a view: `query` is list parameters as a query string (`q=beach&sort=-size`), checked by the API."""
        body = {"projectId": project_id, "name": name, "query": query, "layout": layout}
        return self._request("POST", "/api/views", json=body)

    def get_view(self, view_id: str) -> dict:
        return self._request("GET", f"/api/views/{quote(view_id, safe='')}")

    def rename_view(self, view_id: str, name: str) -> dict:
        return self._request("PATCH", f"/api/views/{quote(view_id, safe='')}", json={"name": name})

    def delete_view(self, view_id: str) -> dict:
        return self._request("DELETE", f"/api/views/{quote(view_id, safe='')}")

    def run_view(
        self, view_id: str, limit: int | None = None, cursor: str | None = None, count: bool | None = None
    ) -> dict:
        """One page of the view's images, in its sort."""
        params = _query({"limit": limit, "cursor": cursor, "count": count})
        return self._request("GET", f"/api/views/{quote(view_id, safe='')}/images", params=params)

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
        if response.status_code == 204:
            return {}
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


def tus_chunk() -> int:
    raw = os.environ.get("AEONTEL_TUS_CHUNK", "")
    return int(raw) if raw.isdigit() and int(raw) > 0 else TUS_CHUNK


def resume_state_path() -> Path:
    return config_path().parent / "uploads.json"


class ResumeState:
    """Unfinished resumable uploads by file (API, path, size, modification time) → their URL, kept beside the
    login config, so running the same upload again resumes where it stopped."""

    def __init__(self, path: Path):
        self.path = path

    @staticmethod
    def key(api_url: str, source: Path) -> str:
        info = source.stat()
        return f"{api_url}|{source.resolve()}|{info.st_size}|{info.st_mtime_ns}"

    def _read(self) -> dict:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def get(self, key: str) -> str | None:
        value = self._read().get(key)
        return value if isinstance(value, str) else None

    def put(self, key: str, url: str) -> None:
        self._write({**self._read(), key: url})

    def drop(self, key: str) -> None:
        data = self._read()
        if data.pop(key, None) is not None:
            self._write(data)

    def _write(self, data: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(prefix=".uploads-", dir=self.path.parent)
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle, indent=2)
        os.replace(tmp, self.path)


def _query(params: dict) -> dict:
    """Query parameters as the API spells them: None and "" left out (the API refuses an empty parameter), booleans
    as true/false."""
    return {
        key: (str(value).lower() if isinstance(value, bool) else list(value) if isinstance(value, tuple) else value)
        for key, value in params.items()
        if value is not None and value != "" and value != () and value != []
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
