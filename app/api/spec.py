"""The API's contract through spectree: requests are validated with the domain's pydantic models, answers are
declared by them, and the OpenAPI 3.1 document is generated from the same declarations (`document()`)."""

from __future__ import annotations

import copy
import typing
from dataclasses import dataclass
from functools import wraps

from flask import request
from pydantic import BaseModel, ValidationError
from spectree import Response, SpecTree
from spectree.response import DEFAULT_CODE_DESC

from app.api.problems import ApiProblem
from app.domain import inputs, queries, shapes
from app.domain.errors import DomainError

PROBLEM = "application/problem+json"
SECURED = [{"bearerAuth": []}, {"cookieAuth": []}]

PROBLEM_DESCRIPTIONS = {
    400: "The request is malformed; `parameter` names the query parameter or body field at fault.",
    401: "No credentials, or an unknown or revoked token.",
    403: "The token's scope or the user's role does not allow this.",
    404: "No such object in the caller's workspace (another workspace's objects answer exactly the same).",
    405: "The method is not allowed on this path.",
    408: "The request body did not arrive in time (BODY_READ_TIMEOUT); the connection is closed.",
    409: "The object is not in a state that allows this yet (`image_not_ready`: the image is still processing, "
    "waiting for the images service, or failed; `imageStatus` says which), or an upload URL was already used, or a "
    "webhook endpoint is disabled or the workspace has 20, or a resumable upload is at another offset "
    "(`offset_mismatch`; `offset` says where it is).",
    410: "The one-time upload URL, or the unfinished resumable upload, has expired.",
    412: "The request's `Tus-Resumable` is not `1.0.0`, the only tus version served (`Tus-Version` says so).",
    413: "A limit was hit: `limit` names it (`file_size`, `request_size`, `form_parts`, `form_field_size`) and "
    "`value` is its setting.",
    415: "The request body has the wrong media type.",
    422: "The Idempotency-Key was already used for a different request (`idempotency_key_reused`), or the image's "
    "header already shows more pixels than the product processes (`image_too_large`): refused as soon as its first "
    "64 KB arrived, and nothing was kept; or a URL to import names nothing (`url_not_found`, `url_unreachable`).",
    423: "Another request is sending bytes of this resumable upload (`upload_locked`); try again shortly.",
    429: "Too many uploads: wait `Retry-After` seconds and send it again.",
    460: "The piece's sha256 is not its `Upload-Checksum` (`checksum_mismatch`); nothing of it was kept.",
    502: "Import from a URL: its server answered an error or the download broke off (`url_fetch_failed`).",
    503: "A backing service (database or storage) is busy or unavailable; try again after `Retry-After` seconds.",
    504: "Import from a URL: its server did not answer, or the download did not finish, in time (`url_timed_out`).",
    507: "Storage is full.",
}
DEFAULT_CODE_DESC.setdefault("HTTP_460", "Checksum Mismatch")  # tus 1.0's checksum extension; not in HTTPStatus
# Response headers by name, for `operation(headers=...)`.
HEADERS = {
    "ETag": {"schema": {"type": "string"}, "description": "Send as `If-None-Match` to get 304 when unchanged."},
    "Location": {"required": True, "schema": {"type": "string"}, "description": "The new object's URL."},
    "Retry-After": {
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
        "description": "Seconds to wait before trying again.",
    },
    "Allow": {"required": True, "schema": {"type": "string"}},
    # tus 1.0 (app/api/tus.py)
    "Tus-Resumable": {"required": True, "schema": {"type": "string"}, "description": "`1.0.0`."},
    "Tus-Version": {"required": True, "schema": {"type": "string"}, "description": "The versions served: `1.0.0`."},
    "Tus-Extension": {
        "required": True,
        "schema": {"type": "string"},
        "description": "`creation,creation-with-upload,termination,expiration,checksum`.",
    },
    "Tus-Max-Size": {
        "required": True,
        "schema": {"type": "integer"},
        "description": "The largest file, in bytes (`MAX_UPLOAD_BYTES`).",
    },
    "Tus-Checksum-Algorithm": {"required": True, "schema": {"type": "string"}, "description": "`sha256`."},
    "Upload-Offset": {"required": True, "schema": {"type": "integer"}, "description": "Bytes received so far."},
    "Upload-Length": {"required": True, "schema": {"type": "integer"}, "description": "The file's declared size."},
    "Upload-Expires": {
        "required": True,
        "schema": {"type": "string"},
        "description": "When an unfinished upload is removed (RFC 9110 date); each piece received moves it on.",
    },
    "Content-Location": {"schema": {"type": "string"}, "description": "Once finished: the file it became."},
}
# The headers of a tus answer about an upload's state.
TUS_STATE = ("Tus-Resumable", "Upload-Offset", "Upload-Length", "Upload-Expires", "Content-Location")


def _refuse(_request, _response, error, _instance, *_):
    """A value the models refuse answers 400 problem+json naming it (names were checked before: params.py)."""
    if error is not None:
        raise problem_of(error)


def problem_of(error: ValidationError) -> ApiProblem | DomainError:
    """The first error of a validation, with the code its field declares (`inputs.Code`) or, for a list's
    parameters, the query engine's (`queries.invalid_parameter`)."""
    model = _declared_model(error.title)
    first = error.errors(include_url=False)[0]
    where = [str(part) for part in first["loc"]]
    name = where[0] if where else None
    query = issubclass(model, inputs.Query)
    if first["type"] == "extra_forbidden" and len(where) == 1:
        if query:
            allowed = ", ".join(model.model_fields)
            return ApiProblem(
                400, "invalid_parameter", f"Unknown parameter {name!r}; {model.WHAT} take {allowed}.", parameter=name
            )
        return ApiProblem(400, model.UNKNOWN, f"Unknown field {name!r}.", parameter=name)
    message = first["msg"].removeprefix("Value error, ")
    if issubclass(model, inputs.LIST_QUERIES):
        return queries.invalid_parameter(name or "query", message)  # the engine's codes: invalid_q, invalid_limit, …
    code = _code(model, name) or ("invalid_parameter" if query else "invalid_field")
    detail = f"{'.'.join(where)}: {message}." if where else f"{message}."
    return ApiProblem(400, code, detail, parameter=name)


def _declared_model(title: str) -> type[BaseModel]:
    """The query or body model a ValidationError names (its `title`), among those the routes declare."""
    for declared in DECLARED.values():
        for model in (declared.query, declared.body, declared.headers):
            if model is not None and model.__name__ == title:
                return model
    return getattr(inputs, title)  # a model validated outside a route (tests)


def _code(model: type[BaseModel], name: str | None) -> str | None:
    field = next((f for n, f in model.model_fields.items() if name in (n, f.alias)), None)
    if field is None:
        return None
    pending = [field.annotation, *field.metadata]
    while pending:
        item = pending.pop()
        if isinstance(item, inputs.Code):
            return item.code
        pending.extend(getattr(item, "__metadata__", ()))
        pending.extend(typing.get_args(item))
    return None


def _naming(model) -> str:
    return model.__name__


spec = SpecTree(
    "flask",
    mode="strict",
    title="aeontel Images API",
    version="1",
    annotations=False,
    validation_error_status=400,
    validation_error_model=shapes.Problem,
    naming_strategy=_naming,
    nested_naming_strategy=lambda _parent, child: child,
    before=_refuse,
    security_schemes=[
        (
            {
                "name": "bearerAuth",
                "data": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API token (`aet_…`) with scope `read` or `write`.",
                },
            }
        ),
        (
            {
                "name": "cookieAuth",
                "data": {
                    "type": "apiKey",
                    "field_in": "cookie",
                    "name": "session",
                    "description": "The gallery's session; writes also need the `X-CSRFToken` header.",
                },
            }
        ),
    ],
    security=SECURED,
)


@dataclass(frozen=True)
class Declared:
    """What one endpoint takes besides its path: its query, JSON body and multipart form models."""

    query: type[inputs.Query] | None
    body: type[inputs.Body] | None
    form: type[BaseModel] | None
    headers: type[BaseModel] | None = None
    encoded_form: type[BaseModel] | None = None

    def names(self, part: str) -> tuple[str, ...]:
        """The names a part may hold, as callers write them (the JSON body's by alias; a form's, either encoding)."""
        models = [getattr(self, part)] + ([self.encoded_form] if part == "form" else [])
        names = [field.alias or name for model in models if model for name, field in model.model_fields.items()]
        return tuple(dict.fromkeys(names))

    def lists(self, part: str) -> tuple[str, ...]:
        """The names of a part whose values are lists (a query parameter that may be repeated)."""
        model = getattr(self, part)
        if model is None:
            return ()
        return tuple(name for name, field in model.model_fields.items() if "list[" in str(field.annotation))


# Every /api endpoint's declaration, by endpoint name (e.g. "api.list_files").
DECLARED: dict[str, Declared] = {}
bp_name = "api"

# Per operation: the response headers and multipart bodies spectree has no words for, merged into the document.
_EXTRAS: dict[str, dict] = {}


def operation(
    operation_id: str,
    tag: str,
    answers: dict[int, tuple[type[BaseModel] | None, str]],
    problems: tuple[int, ...] = (),
    *,
    query: type[inputs.Query] | None = None,
    body: type[inputs.Body] | None = None,
    form: type[BaseModel] | None = None,
    encoded_form: type[BaseModel] | None = None,
    media: tuple[str, ...] = ("application/json",),
    octets: str | None = None,
    octets_required: bool = True,
    request_headers: type[BaseModel] | None = None,
    headers: dict[int, tuple[str, ...]] | None = None,
    path: dict[str, str] | None = None,
    public: bool = False,
    method: str | None = None,
):
    """A route's contract: its parameters, body and answers as models; every route may also answer 503.

    `encoded_form` is a second form body (application/x-www-form-urlencoded); `octets` a raw body of that media type
    the view streams itself (tus pieces); `method` is "HEAD" or "OPTIONS" for a view that serves that method itself,
    which the document then lists (spectree leaves out the ones Flask adds to every route)."""
    validate = spec.validate(
        query=query,
        json=body,
        headers=request_headers,
        resp=_responses(answers, problems),
        tags=[tag],
        security={} if public else None,
        operation_id=operation_id,
        path_parameter_descriptions=path,
    )
    _EXTRAS[operation_id] = {
        "headers": headers or {},
        "form": form,
        "encoded_form": encoded_form,
        "octets": (octets, octets_required) if octets else None,
        "media": media,
        "descriptions": {str(s): d for s, (m, d) in answers.items() if m is None},
    }

    def decorate(view):
        DECLARED[f"{bp_name}.{view.__name__}"] = Declared(query, body, form, request_headers, encoded_form)
        checked = validate(view)
        checked.serves_itself = method
        return checked if body is None else _json_first(checked, body)

    return decorate


def _responses(answers: dict[int, tuple[type[BaseModel] | None, str]], problems: tuple[int, ...]) -> Response:
    codes = {f"HTTP_{status}": (model, description) for status, (model, description) in answers.items() if model}
    bare = [f"HTTP_{status}" for status, (model, _) in answers.items() if model is None]
    for status in sorted({*problems, 503}):
        codes[f"HTTP_{status}"] = (shapes.Problem, PROBLEM_DESCRIPTIONS[status])
    return Response(*bare, **codes)


def _json_first(checked, body: type[inputs.Body]):
    @wraps(checked)
    def json_first(*args, **kwargs):
        _require_json_object(body)
        return checked(*args, **kwargs)

    return json_first


_spectree_bypass = spec.backend.bypass


def _bypass(func, method: str) -> bool:
    """spectree leaves HEAD and OPTIONS out of the document; a view that serves one itself (tus) is listed."""
    if method in ("HEAD", "OPTIONS") and getattr(func, "serves_itself", None) == method:
        return False
    return _spectree_bypass(func, method)


spec.backend.bypass = _bypass


def _require_json_object(model: type[inputs.Body]) -> None:
    """The body must be JSON (415 otherwise) holding an object (400), before its members are checked."""
    if not request.is_json:
        raise ApiProblem(415, model.NOT_JSON, model.SEND)
    body = request.get_json(silent=True)
    if body is None:
        raise ApiProblem(400, model.BROKEN_JSON, "The body is not valid JSON.")
    if not isinstance(body, dict):
        raise ApiProblem(400, model.NOT_OBJECT, model.SEND)


def validated(part: str):
    """The request's query or body as its model (spectree validated it before the view runs)."""
    return getattr(request.context, part)


def document(app, info: dict, webhooks: dict) -> dict:
    """The OpenAPI 3.1 document generated from the routes' declarations, with what spectree leaves to us."""
    with app.app_context():
        generated = copy.deepcopy(spec.spec)
    generated["info"] = info
    generated["jsonSchemaDialect"] = "https://json-schema.org/draft/2020-12/schema"
    generated["webhooks"] = webhooks
    generated["components"]["securitySchemes"]["cookieAuth"]["name"] = app.config.get("SESSION_COOKIE_NAME", "session")
    for item in generated["paths"].values():
        for operation in item.values():
            _finish(operation, _EXTRAS[operation["operationId"]])
        _path_parameters_once(item)
    return generated


def _path_parameters_once(item: dict) -> None:
    """A path's own parameters are declared on the path, once, rather than on each of its operations."""
    shared = {}
    for operation in item.values():
        for parameter in [p for p in operation["parameters"] if p["in"] == "path"]:
            shared.setdefault(parameter["name"], parameter)
            operation["parameters"].remove(parameter)
        if not operation["parameters"]:
            del operation["parameters"]
    if shared:
        item["parameters"] = list(shared.values())


def _finish(operation: dict, extras: dict) -> None:
    for status, response in operation["responses"].items():
        content = response.get("content", {})
        if int(status) >= 400 and "application/json" in content:
            content[PROBLEM] = content.pop("application/json")
        if status in extras["descriptions"]:
            response["description"] = extras["descriptions"][status]
    for status, names in extras["headers"].items():
        response = operation["responses"][str(status)]
        response["headers"] = {name: HEADERS[name] for name in names}
    if extras["form"] is not None:
        schema = extras["form"].model_json_schema()
        operation["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": schema}}}
    if extras["encoded_form"] is not None:
        schema = extras["encoded_form"].model_json_schema()
        operation["requestBody"]["content"]["application/x-www-form-urlencoded"] = {"schema": schema}
    if "requestBody" in operation:
        operation["requestBody"]["required"] = True
        content = operation["requestBody"]["content"]
        if "application/json" in content:
            operation["requestBody"]["content"] = dict.fromkeys(extras["media"], content["application/json"])
    if extras["octets"] is not None:
        media, required = extras["octets"]
        binary = {"schema": {"type": "string", "format": "binary"}}
        if "requestBody" in operation:  # another body, or this one (tus creation on a one-time upload URL)
            operation["requestBody"]["content"][media] = binary
            operation["requestBody"]["required"] = required
        else:
            operation["requestBody"] = {"required": required, "content": {media: binary}}
    if not operation.get("security") and "security" in operation:
        operation["security"] = []
