"""Upload by URL: http(s) only, bounded time, at most three redirects, at most 10 MB, the URL sent byte for byte.

Only public addresses are fetched (no SSRF into the machine or its network): the host is resolved here, every
address it resolves to must be public (or allowed by IMAGESD_FETCH_ALLOW), and the connection goes to the address
that was checked, so a second DNS answer cannot swap in a private one (rebinding). Every redirect hop is checked again.
"""

from __future__ import annotations

import base64
import http.client
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import unquote, urljoin, urlsplit

from app.netguard import (  # noqa: F401 - is_public and embedded_ipv4 are part of this module's face
    AddressAllow,
    AddressRefused,
    IPAddress,
    PinnedHTTPConnection,
    PinnedHTTPSConnection,
    embedded_ipv4,
    is_public,
    resolve_checked,
)

from .errors import ApiError

MAX_REDIRECTS = 3
CHUNK = 64 * 1024


@dataclass(frozen=True)
class Fetched:
    data: bytes
    filename: str | None


class FetchAllow(AddressAllow):
    """Non-public destinations upload-by-URL may still reach (IMAGESD_FETCH_ALLOW), by app.netguard's rules."""

    @classmethod
    def parse(cls, text: str, setting: str = "IMAGESD_FETCH_ALLOW") -> "FetchAllow":
        return super().parse(text, setting)


def _configured_allow() -> FetchAllow:
    from flask import current_app, has_app_context

    if has_app_context() and "imagesd" in current_app.extensions:
        return current_app.extensions["imagesd"].settings.fetch_allow_rules
    return FetchAllow()


def _resolve_checked(url: str, host: str, port: int, allow: FetchAllow) -> list[IPAddress]:
    """Every address the host resolves to, after checking that each is public or allowed; any other refuses all."""
    try:
        return resolve_checked(host, port, allow)
    except AddressRefused as refused:
        if refused.address is None:
            raise _origin_failure(url, "the host name does not resolve") from None
        raise ApiError(
            400,
            5400,
            f"Images only fetch from public addresses; {host} resolves to {refused.address}, which is private, "
            "loopback, link-local or otherwise not public (IMAGESD_FETCH_ALLOW can permit it on a development "
            "stand-in).",
        ) from None


def _origin_failure(url: str, reason: str) -> ApiError:
    # The origin may recover, so this code is transient; the HTTP status stays 4xx like Cloudflare's fetch errors.
    return ApiError(400, 5452, f"Could not fetch the image from {_host(url)}: {reason}.")


def _host(url: str) -> str:
    parts = urlsplit(url)
    return parts.hostname or url[:100]


def _connection(url: str, connect_timeout: float, allow: FetchAllow) -> tuple[http.client.HTTPConnection, str, dict]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in {"http", "https"}:
        shown = f"{scheme}://" if scheme else "a URL without a scheme"
        raise ApiError(400, 5411, f"Images can only fetch http:// and https:// URLs, not {shown}.")
    if not parts.hostname:
        raise ApiError(400, 5411, "The url has no host name.")
    try:
        port = parts.port
    except ValueError:
        raise ApiError(400, 5411, "The url has an invalid port.") from None
    addresses = _resolve_checked(url, parts.hostname, port or (443 if scheme == "https" else 80), allow)
    if scheme == "https":
        conn: http.client.HTTPConnection = PinnedHTTPSConnection(
            parts.hostname, port, timeout=connect_timeout, context=ssl.create_default_context()
        )
    else:
        conn = PinnedHTTPConnection(parts.hostname, port, timeout=connect_timeout)
    conn.addresses = addresses
    # The path and query go out exactly as given: presigned URLs break if anything is re-encoded.
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = {"User-Agent": "aeontel-imagesd/1", "Accept": "image/*,*/*;q=0.8"}
    if parts.username is not None:
        credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(credentials).decode()
    return conn, target, headers


def fetch(
    url: str,
    *,
    max_bytes: int,
    connect_timeout: float,
    read_timeout: float,
    total_timeout: float,
    allow: FetchAllow | None = None,
) -> Fetched:
    """Download the image at url or raise an ApiError that says why not."""
    allow = allow if allow is not None else _configured_allow()
    deadline = time.monotonic() + total_timeout
    current = url.strip()
    for _hop in range(MAX_REDIRECTS + 1):
        conn, target, headers = _connection(current, connect_timeout, allow)
        try:
            try:
                conn.connect()
                conn.sock.settimeout(read_timeout)
                conn.request("GET", target, headers=headers)
                response = conn.getresponse()
            except socket.gaierror:
                raise _origin_failure(current, "the host name does not resolve") from None
            except ConnectionRefusedError:
                raise _origin_failure(current, "the connection was refused") from None
            except TimeoutError:
                raise _origin_failure(current, "the origin did not answer in time") from None
            except ssl.SSLError as exc:
                raise _origin_failure(current, f"TLS failed ({exc.reason or exc})") from None
            except (OSError, http.client.HTTPException) as exc:
                raise _origin_failure(current, f"the connection failed ({exc.__class__.__name__})") from None
            if response.status in {301, 302, 303, 307, 308}:
                location = response.getheader("Location")
                if not location:
                    raise ApiError(400, 5412, f"The origin {_host(current)} redirected without a Location.")
                current = urljoin(current, location)
                continue
            if response.status >= 500:
                raise _origin_failure(current, f"the origin answered HTTP {response.status}")
            if response.status != 200:
                raise ApiError(
                    400,
                    5412,
                    f"The origin {_host(current)} answered HTTP {response.status} {response.reason}"
                    " (an expired or wrong link?).",
                )
            declared = response.getheader("Content-Length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise too_large(int(declared), max_bytes)
            data = _read_capped(response, current, max_bytes, deadline)
            return Fetched(data, _filename(current))
        finally:
            conn.close()
    raise ApiError(400, 5412, f"The url redirected more than {MAX_REDIRECTS} times.")


def _read_capped(response: http.client.HTTPResponse, url: str, max_bytes: int, deadline: float) -> bytes:
    chunks, total = [], 0
    while True:
        if time.monotonic() > deadline:
            raise _origin_failure(url, "the download took too long")
        try:
            chunk = response.read1(CHUNK) if hasattr(response, "read1") else response.read(CHUNK)
        except TimeoutError:
            raise _origin_failure(url, "the origin stopped sending data") from None
        except (OSError, http.client.HTTPException) as exc:
            raise _origin_failure(url, f"the download broke off ({exc.__class__.__name__})") from None
        if not chunk:
            break
        total += len(chunk)
        if total > max_bytes:
            raise too_large(total, max_bytes, at_least=True)
        chunks.append(chunk)
    return b"".join(chunks)


def too_large(size: int, max_bytes: int, at_least: bool = False) -> ApiError:
    prefix = "more than " if at_least else ""
    return ApiError(
        413, 5413, f"The file is {prefix}{size / 1024 / 1024:.1f} MB; the limit is {max_bytes // 1024 // 1024} MB."
    )


def _filename(url: str) -> str | None:
    name = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    return name or None
