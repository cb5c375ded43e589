"""Import from a URL: the file is fetched from public addresses only (app.netguard: every address the host resolves
to is checked, the connection goes to the checked address, every redirect hop is checked again), within a size and
a time limit, straight into the caller's sink (an upload spool), never all in memory."""

from __future__ import annotations

import http.client
import ssl
import time
from urllib.parse import unquote, urljoin, urlsplit

from app.netguard import AddressAllow, AddressRefused, PinnedHTTPConnection, PinnedHTTPSConnection, resolve_checked

MAX_REDIRECTS = 5
PIECE = 64 * 1024


class FetchFailed(Exception):
    """Why the URL could not be imported: a stable `code`, an HTTP `status` for the answer, a `message` for people."""

    def __init__(self, code: str, message: str, status: int):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def _connection(url: str, timeout: float, allow: AddressAllow) -> tuple[http.client.HTTPConnection, str]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise FetchFailed("invalid_url", "The url must be an http:// or https:// address with a host name.", 400)
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise FetchFailed("invalid_url", "The url has an invalid port.", 400) from None
    try:
        addresses = resolve_checked(parts.hostname, port, allow)
    except AddressRefused as refused:
        if refused.address is None:
            raise FetchFailed("url_unreachable", f"{parts.hostname} does not resolve.", 422) from None
        raise FetchFailed(
            "url_address_refused",
            f"Files are only imported from public addresses; {parts.hostname} is {refused.address}, which is not.",
            400,
        ) from None
    if scheme == "https":
        conn: http.client.HTTPConnection = PinnedHTTPSConnection(
            parts.hostname, parts.port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        conn = PinnedHTTPConnection(parts.hostname, parts.port, timeout=timeout)
    conn.addresses = addresses
    return conn, (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def fetch_into(url: str, sink, *, max_bytes: int, timeout: float, allow: AddressAllow) -> str | None:
    """Writes the body at `url` into `sink` and returns the file name its path ends in; raises FetchFailed."""
    deadline = time.monotonic() + timeout
    current = url.strip()
    for _hop in range(MAX_REDIRECTS + 1):
        conn, target = _connection(current, timeout, allow)
        response = None
        try:
            response = _get(conn, target, current)
            if response.status in (301, 302, 303, 307, 308) and response.getheader("Location"):
                current = urljoin(current, response.getheader("Location"))
                continue
            if response.status in (404, 410):
                raise FetchFailed("url_not_found", f"{_host(current)} answered {response.status}: no file there.", 422)
            if response.status != 200:
                raise FetchFailed("url_fetch_failed", f"{_host(current)} answered HTTP {response.status}.", 502)
            declared = response.getheader("Content-Length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise _too_large(max_bytes)
            _copy(response, sink, max_bytes, deadline, current)
            return unquote(urlsplit(current).path.rsplit("/", 1)[-1]) or None
        finally:
            if response is not None:
                response.close()
            conn.close()
    raise FetchFailed("url_fetch_failed", f"The url redirected more than {MAX_REDIRECTS} times.", 502)


def _get(conn: http.client.HTTPConnection, target: str, url: str) -> http.client.HTTPResponse:
    try:
        conn.request("GET", target, headers={"User-Agent": "aeontel-import/1", "Accept": "*/*"})
        return conn.getresponse()
    except TimeoutError:
        raise FetchFailed("url_timed_out", f"{_host(url)} did not answer in time.", 504) from None
    except (OSError, http.client.HTTPException) as exc:
        raise FetchFailed(
            "url_fetch_failed", f"{_host(url)} could not be fetched ({exc.__class__.__name__}).", 502
        ) from None


def _copy(response: http.client.HTTPResponse, sink, max_bytes: int, deadline: float, url: str) -> None:
    total = 0
    while True:
        if time.monotonic() > deadline:
            raise FetchFailed("url_timed_out", f"The download from {_host(url)} took too long.", 504)
        try:
            piece = response.read1(PIECE)
        except TimeoutError:
            raise FetchFailed("url_timed_out", f"{_host(url)} stopped sending.", 504) from None
        except (OSError, http.client.HTTPException) as exc:
            raise FetchFailed("url_fetch_failed", f"The download broke off ({exc.__class__.__name__}).", 502) from None
        if not piece:
            return
        total += len(piece)
        if total > max_bytes:
            raise _too_large(max_bytes)
        sink.write(piece)


def _too_large(max_bytes: int) -> FetchFailed:
    return FetchFailed("file_too_large", f"The file at the url is larger than the limit of {max_bytes:,} bytes.", 413)


def _host(url: str) -> str:
    return urlsplit(url).hostname or url[:100]
