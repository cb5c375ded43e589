"""The webhook sender: one POST to the address the checks approved, pinned so a DNS answer that changes between the
check and the connection (rebinding) cannot redirect it, with no redirects followed."""

from __future__ import annotations

import http.client
import ssl
from urllib.parse import urlsplit

from app.netguard import AddressAllow, AddressRefused, PinnedHTTPConnection, PinnedHTTPSConnection, resolve_checked

# How much of an endpoint's answer is read and kept for its owner to look at.
EXCERPT = 1024


class SendFailed(Exception):
    """No answer came back; `reason` is `code: words` as the delivery log shows it."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def post(url: str, body: bytes, headers: dict, timeout: float, allow: AddressAllow) -> tuple[int, str]:
    """One POST to the checked address of url; returns (status, the first KB of the answer), or raises SendFailed
    saying why nothing came back."""
    try:
        return _post(url, body, headers, timeout, allow)
    except AddressRefused as refused:
        raise SendFailed(f"address_refused: {refused.reason}") from None
    except TimeoutError:
        raise SendFailed("timeout: the endpoint did not answer in time") from None
    except ConnectionRefusedError:
        raise SendFailed("connection_refused: the connection was refused") from None
    except ssl.SSLError as exc:
        raise SendFailed(f"tls_failed: {exc.reason or exc}") from None
    except (OSError, http.client.HTTPException) as exc:
        raise SendFailed(f"connection_failed: {type(exc).__name__}") from None


def _post(url: str, body: bytes, headers: dict, timeout: float, allow: AddressAllow) -> tuple[int, str]:
    parts = urlsplit(url)
    https = parts.scheme.lower() == "https"
    port = parts.port or (443 if https else 80)
    addresses = resolve_checked(parts.hostname, port, allow)
    if https:
        conn: http.client.HTTPConnection = PinnedHTTPSConnection(
            parts.hostname, parts.port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        conn = PinnedHTTPConnection(parts.hostname, parts.port, timeout=timeout)
    conn.addresses = addresses
    try:
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        conn.request("POST", target, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read(EXCERPT).decode("utf-8", "replace")
    finally:
        conn.close()
