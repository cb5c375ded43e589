"""Errors the stand-in answers with: Cloudflare's envelope for the API, `ERROR 9xxx` text for delivery."""

from __future__ import annotations

# Codes a client may retry after a pause; every other code is permanent for the same request.
TRANSIENT_CODES = frozenset({5429, 5452, 5503})


class ApiError(Exception):
    """An API failure with its HTTP status, Cloudflare-style code and a sentence an editor can read."""

    def __init__(self, status: int, code: int, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


class DeliveryError(Exception):
    """A delivery failure, reported like Cloudflare's resizer: `ERROR <code>: <reason>` and `Cf-Resized: err=<code>`."""

    def __init__(self, status: int, code: int, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def bad_request(message: str) -> ApiError:
    return ApiError(400, 5400, message)


def not_found(message: str = "Image not found") -> ApiError:
    return ApiError(404, 5404, message)
