"""Signed delivery URLs as Cloudflare Images checks them, shared by the product's client and the local stand-in.

It sits below both (stdlib only), so the stand-in signs and checks the same way without importing the product.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlsplit, urlunsplit


def _signature(key: str, message: str) -> str:
    return hmac.new(key.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).hexdigest()


def sign_delivery_url(url: str, key: str, *, ttl: int = 86400, expires_at: int | None = None) -> str:
    """Add `exp` and `sig` to a delivery URL the way Cloudflare Images checks them (HMAC-SHA256 over path?query)."""
    parts = urlsplit(url)
    exp = int(expires_at if expires_at is not None else time.time() + ttl)
    query = f"{parts.query}&exp={exp}" if parts.query else f"exp={exp}"
    sig = _signature(key, f"{parts.path}?{query}")
    return urlunsplit((parts.scheme, parts.netloc, parts.path, f"{query}&sig={sig}", ""))


def verify_signed_path(path: str, query: str, keys: Iterable[str], *, now: float | None = None) -> str | None:
    """Check `exp` and `sig` of a raw request path and query; return None when valid, else the reason it is not."""
    pairs = [part for part in query.split("&") if part]
    signatures = [part[4:] for part in pairs if part.startswith("sig=")]
    rest = [part for part in pairs if not part.startswith("sig=")]
    params = dict(parse_qsl("&".join(rest), keep_blank_values=True))
    if not signatures or "exp" not in params:
        return "This image needs a signed URL: exp and sig are missing."
    if len(signatures) != 1:
        return "The signed URL carries more than one sig."
    try:
        exp = int(params["exp"])
    except ValueError:
        return "The signed URL's exp is not a whole number of seconds."
    if (time.time() if now is None else now) > exp:
        return "The signed URL has expired."
    message = f"{path}?{'&'.join(rest)}"
    given = signatures[0].lower()
    for key in keys:
        if hmac.compare_digest(_signature(key, message), given):
            return None
    return "The signed URL's signature does not match."
