"""Errors as application/problem+json with a stable machine `code` and a human `detail`."""

from __future__ import annotations

from flask import Response, json
from werkzeug.exceptions import HTTPException

from app.domain.errors import DomainError

PROBLEM_TYPE = "https://aeontel.dev/problems/"

_GENERIC_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    409: "conflict",
    413: "file_too_large",
    415: "unsupported_media_type",
    422: "unprocessable",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
    507: "storage_full",
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
        code, detail, extra = _too_large(error)
        return problem(413, code, detail, **extra)
    headers = {}
    if status == 405 and getattr(error, "valid_methods", None):
        from app.api.methods import allowed_methods

        headers["Allow"] = ", ".join(allowed_methods())
    return problem(status, _GENERIC_CODES.get(status, "error"), detail, headers=headers)


def register_error_handlers(blueprint) -> None:
    blueprint.register_error_handler(
        ApiProblem, lambda e: problem(e.status, e.code, e.detail, headers=e.headers, **e.extra)
    )
    blueprint.register_error_handler(DomainError, from_domain_error)
    blueprint.register_error_handler(HTTPException, from_http_exception)


def _too_large(error: HTTPException) -> tuple[str, str, dict]:
    """Which limit a 413 hit and its value: the request's size, the number of form parts, or one form field's size."""
    from flask import current_app, request

    limit = getattr(error, "limit", None)
    if limit == "max_form_parts":
        return (
            "too_many_form_parts",
            f"The form has more than {error.value:,} parts (fields and files).",
            {"limit": "form_parts", "value": error.value},
        )
    if limit == "max_form_memory_size":
        return (
            "form_field_too_large",
            f"A form field other than the file is larger than {error.value:,} bytes.",
            {"limit": "form_field_size", "value": error.value},
        )
    maximum = request.max_content_length
    file_limit = current_app.config.get("MAX_UPLOAD_BYTES")
    detail = f"The request is larger than the limit of {maximum:,} bytes" if maximum else "The request is too large"
    if file_limit:
        detail += f"; a file can be at most {file_limit:,} bytes"
    return "request_too_large", detail + ".", {"limit": "request_size", "value": maximum}
