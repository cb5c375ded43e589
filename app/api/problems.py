"""Errors as application/problem+json with a stable machine `code` and a human `detail`."""

from __future__ import annotations

from flask import Response, json
from werkzeug.exceptions import HTTPException

from app.domain.accounts import DomainError

PROBLEM_TYPE = "https://aeontel.dev/problems/"

_GENERIC_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
    408: "request_timeout", 409: "conflict", 413: "file_too_large", 415: "unsupported_media_type",
    422: "unprocessable",
    429: "rate_limited", 500: "internal_error", 503: "unavailable", 507: "storage_full",
}


def problem(status: int, code: str, detail: str, title: str | None = None, headers=None, **extra) -> Response:
    body = {
        "type": PROBLEM_TYPE + code,
        "title": title or _title(status),
        "status": status,
        "detail": detail,
        "code": code,
        **{key: value for key, value in extra.items() if value is not None},
    }
    response = Response(json.dumps(body), status=status, mimetype="application/problem+json")
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _title(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


class ApiProblem(Exception):
    def __init__(self, status: int, code: str, detail: str, headers=None, **extra):
        super().__init__(detail)
        self.status, self.code, self.detail, self.headers, self.extra = status, code, detail, headers, extra


def from_domain_error(error: DomainError) -> Response:
    return problem(error.status, error.code, error.message, **error.extra)


def from_http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    detail = error.description or _title(status)
    if status == 413:
        detail = "The request is larger than the upload limit."
    headers = {}
    if status == 405 and getattr(error, "valid_methods", None):
        headers["Allow"] = ", ".join(error.valid_methods)
    return problem(status, _GENERIC_CODES.get(status, "error"), detail, headers=headers)


def register_error_handlers(blueprint) -> None:
    blueprint.register_error_handler(ApiProblem, lambda e: problem(e.status, e.code, e.detail, headers=e.headers, **e.extra))
    blueprint.register_error_handler(DomainError, from_domain_error)
    blueprint.register_error_handler(HTTPException, from_http_exception)
