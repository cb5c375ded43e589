"""The one query engine: every list of files, images and the trash (gallery, API, CLI, MCP) is a `ListQuery` run by
`run`, with one keyset per sort, one signed cursor bound to its query and workspace, and one count strategy."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Literal

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, create_model, model_validator
from sqlalchemy import (
    and_,
    case,
    false,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    text,
    tuple_,
    union,
    union_all,
)
from sqlalchemy.orm import aliased

from app.domain import grouping, image_status, photo_facts, pictures
from app.domain.accounts import get_project
from app.domain.errors import DomainError, NotFound
from app.domain.files import File, FileTally
from app.domain.images import Image, Provisioning
from app.extensions import db

SORTS = ("-created", "created", "-name", "name", "-size", "size", "-taken", "taken")
FILE_STATUSES = ("pending", "ready", "error")
IMAGE_STATES = ("ready", "processing", "failed")
MAX_Q = 255
MAX_PIXELS = 2**31 - 1
MAX_BYTES = 2**63 - 1
SOURCES = ("original", "master")
MAX_CURSOR = 2000
MAX_TAG_FILTERS = 10
ID_PATTERN = r"^[A-Za-z0-9_-]{1,32}$"
_CURSOR_SALT = "aeontel.list-cursor.v2"
_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}


def _flag(raw):
    """true/false/1/0 in any case (or a bool); anything else is refused by the model."""
    if isinstance(raw, str):
        if raw.lower() not in _BOOLEANS:
            raise ValueError("must be true or false")
        return _BOOLEANS[raw.lower()]
    return raw


def _moment(raw):
    """An ISO 8601 date or time read as an instant in UTC (a time without an offset is UTC), from 1970 to 9998."""
    if raw is None or isinstance(raw, datetime):
        stamp = raw
    else:
        if not isinstance(raw, str) or len(raw) > 40:
            raise ValueError("must be an ISO 8601 date or time, e.g. 2026-11-30 or 2026-11-30T12:00:00Z")
        try:
            stamp = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError("must be an ISO 8601 date or time, e.g. 2026-11-30 or 2026-11-30T12:00:00Z") from None
    if stamp is None:
        return None
    stamp = stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
    if not 1970 <= stamp.year <= 9998:
        raise ValueError("must be a date between 1970 and 9998")
    return stamp.astimezone(UTC)


def _text(raw):
    return raw.strip() or None if isinstance(raw, str) else raw


def _format(raw):
    """One of the formats an image can have (app.domain.pictures.FORMATS), in any case."""
    if raw is None:
        return None
    if not isinstance(raw, str) or raw.lower() not in pictures.FORMATS:
        raise ValueError(f"must be one of the image formats: {', '.join(sorted(pictures.FORMATS))}")
    return raw.lower()


def _tags(raw):
    """One tag or several (a repeated parameter), each read in any case: the sorted, unique keys."""
    if raw is None:
        return None
    values = [raw] if isinstance(raw, str) else raw
    if not isinstance(values, list | tuple):
        raise ValueError("must be a tag or a list of tags")
    try:
        return sorted({grouping.tag_key(value) for value in values})
    except DomainError as refused:
        raise ValueError(refused.message.rstrip(".")) from None


Flag = Annotated[bool | None, BeforeValidator(_flag)]
Moment = Annotated[datetime | None, BeforeValidator(_moment)]
Fact = Annotated[
    Annotated[str, Field(max_length=photo_facts.MAX_FACT)] | None,
    BeforeValidator(_text),
]
Pixels = Annotated[int | None, Field(ge=0, le=MAX_PIXELS)]
Bytes = Annotated[int | None, Field(ge=0, le=MAX_BYTES)]
# Lower and upper bounds that must not cross: (low, high) field names.
RANGES = (
    ("taken_after", "taken_before"),
    ("min_width", "max_width"),
    ("min_height", "max_height"),
    ("min_size", "max_size"),
)


class ListQuery(BaseModel):
    """One description of a listing: its scope, filters, search, sort, page and count. Every field but `limit`,
    `cursor` and `count` is bound into the cursors a run hands out."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    subject: Literal["files", "images"] = Field(
        "files", description="`files`: every file; `images`: only files that became an image (the Image list)."
    )
    scope: Literal["live", "trash"] = Field("live", description="`live` files, or those in the trash.")
    workspace_id: str = Field(pattern=ID_PATTERN, description="The workspace listed; its id is bound into cursors.")
    project_id: str | None = Field(None, pattern=ID_PATTERN, description="Only this project's files.")
    q: Annotated[
        Annotated[str, Field(max_length=MAX_Q)] | None,
        BeforeValidator(_text),
        Field(
            description=f"Only items whose name (or an image's alt text) contains this text, in any case and with or "
            f"without accents (≤ {MAX_Q} characters)."
        ),
    ] = None
    sort: Literal[SORTS] = Field(
        "-created",
        description="Order: `created` (upload time), `name`, `size` or `taken` (date taken: EXIF DateTimeOriginal, "
        "else the upload time); a leading `-` is descending.",
    )
    created_after: Moment = Field(None, description="Only items uploaded after this ISO 8601 date or time.")
    created_before: Moment = Field(None, description="Only items uploaded before this ISO 8601 date or time.")
    status: Literal[FILE_STATUSES] | None = Field(None, description="Only files in this state.")
    is_image: Flag = Field(None, description="`true`: only image files; `false`: only files that are no image.")
    image_state: Literal[IMAGE_STATES] | None = Field(
        None, description="Only image files whose image is `ready`, still `processing`, or `failed`."
    )
    format: Annotated[
        str | None,
        BeforeValidator(_format),
        Field(description="Only images of this format: " + ", ".join(sorted(pictures.FORMATS)) + "."),
    ] = None
    sha256: Annotated[
        str | None,
        BeforeValidator(lambda raw: raw.lower() if isinstance(raw, str) else raw),
        Field(
            pattern="^[0-9a-f]{64}$",
            description="Only files with exactly these bytes (their SHA-256, hex): ask "
            "before uploading whether the workspace has them.",
        ),
    ] = None
    has_alt_text: Flag = Field(
        None, description="`true`: only images with alt text; `false`: only those still to describe (not decorative)."
    )
    camera: Fact = Field(None, description="Only images taken with this camera (its model as shown, exact).")
    camera_make: Fact = Field(None, description="Only images from cameras of this maker (EXIF Make, exact).")
    lens: Fact = Field(None, description="Only images taken with this lens (exact).")
    taken_after: Moment = Field(
        None, description="Only images taken after this ISO 8601 date or time (EXIF, else the upload time)."
    )
    taken_before: Moment = Field(None, description="Only images taken before this ISO 8601 date or time.")
    orientation: Literal[photo_facts.ORIENTATIONS] | None = Field(
        None, description="Only `landscape`, `portrait` or `square` images (as displayed)."
    )
    min_width: Pixels = Field(None, description="Only images at least this many pixels wide.")
    max_width: Pixels = Field(None, description="Only images at most this many pixels wide.")
    min_height: Pixels = Field(None, description="Only images at least this many pixels high.")
    max_height: Pixels = Field(None, description="Only images at most this many pixels high.")
    min_size: Bytes = Field(None, description="Only files of at least this many bytes.")
    max_size: Bytes = Field(None, description="Only files of at most this many bytes.")
    source: Literal[SOURCES] | None = Field(
        None, description="Only images sent to the images service as the `original` or as a `master`."
    )
    colour: Literal[photo_facts.COLOUR_FAMILIES] | None = Field(
        None, description="Only images whose dominant colour is of this family."
    )
    collection: str | None = Field(
        None, pattern=ID_PATTERN, description="Only images in this collection (its id); another workspace's is 404."
    )
    tag: Annotated[
        list[str] | None,
        BeforeValidator(_tags),
        Field(
            max_length=MAX_TAG_FILTERS,
            description=f"Only images carrying this tag, in any case; repeat it (at most {MAX_TAG_FILTERS}) for images "
            "carrying every one.",
        ),
    ] = None
    limit: int = Field(50, ge=1, le=100, description="Page size, 1 to 100.")
    cursor: str | None = Field(
        None,
        max_length=MAX_CURSOR,
        description="The `next_cursor` of the previous page: signed, and only valid for the same list it came from.",
    )
    count: Annotated[bool, BeforeValidator(_flag)] = Field(
        False, description="`true` adds `total`: how many items match the filters on all pages together."
    )

    @model_validator(mode="after")
    def _ranges_in_order(self):
        for low, high in RANGES:
            bounds = getattr(self, low), getattr(self, high)
            if None not in bounds and bounds[0] > bounds[1]:
                raise ValueError(f"{low} is above {high}")
        return self

    def fingerprint(self) -> str:
        """What a cursor is bound to: the workspace, scope and every filter and the sort (not the page size)."""
        bound = self.model_dump(mode="json", exclude={"limit", "cursor", "count"})
        return hashlib.sha256(json.dumps(bound, sort_keys=True).encode()).hexdigest()[:22]


# The filters each list takes (besides the workspace): the API's query parameters, the CLI's flags and the MCP tools'
# arguments are these names; a new filter joins the lists that offer it here.
COMMON = ("project_id", "q", "sort", "created_after", "created_before", "limit", "cursor", "count")
# The image facts (issue 22): each needs the image row, so a list of files keeps only files that became an image.
FACTS = (
    "camera",
    "camera_make",
    "lens",
    "taken_after",
    "taken_before",
    "orientation",
    "min_width",
    "max_width",
    "min_height",
    "max_height",
    "source",
    "colour",
    "format",
    "has_alt_text",
)
SIZES = ("min_size", "max_size")
PARAMETERS = {
    "images": COMMON + FACTS + SIZES + ("collection", "tag"),
    "files": COMMON + ("status", "is_image", "image_state", "sha256") + FACTS + SIZES + ("collection", "tag"),
    "trash": COMMON + ("is_image",),
}
# The facet counts take the images list's filters (`sort` too, so a list's filters can be passed as they are; it
# changes no count) without its paging; tests/test_cross_face.py holds every face's facet parameters to these.
PAGING = ("limit", "cursor", "count")
FACET_PARAMETERS = tuple(name for name in PARAMETERS["images"] if name not in PAGING)


def parameters_model(kind: str, base: type[BaseModel] | None = None) -> type[BaseModel]:
    """The query parameters of the list `kind` as a model of their own (`workspace_id` optional), made from
    ListQuery's fields, for the API's request validation and its OpenAPI document (`base`: the API's own base)."""
    names = FACET_PARAMETERS if kind == "facets" else PARAMETERS[kind]
    fields = {name: (ListQuery.model_fields[name].annotation, ListQuery.model_fields[name]) for name in names}
    fields["workspace_id"] = (str | None, Field(None, description="The workspace; defaults to the token's own."))
    title = f"{kind.title()}ListParameters"
    if base is not None:
        return create_model(title, __base__=base, __doc__=f"What the {kind} list takes.", **fields)
    return create_model(title, __config__=ConfigDict(extra="forbid"), __doc__=f"What the {kind} list takes.", **fields)


def parse(values: dict, **fixed) -> ListQuery:
    """A ListQuery from raw values (strings from a URL are fine); a bad one is a DomainError naming the field."""
    try:
        return ListQuery(**values, **fixed)
    except ValidationError as invalid:
        error = invalid.errors()[0]
        name = str(error["loc"][0]) if error["loc"] else _crossed(error["msg"])
        raise invalid_parameter(name, error["msg"]) from None


def _crossed(message: str) -> str:
    """The field a crossed range names (`min_width is above max_width`), or `query`."""
    return next((low for low, _ in RANGES if f"{low} is above" in message), "query")


def invalid_parameter(name: str, message: str) -> DomainError:
    """The error of a bad list parameter: `invalid_q`, `invalid_limit`, `invalid_cursor` or `invalid_parameter`."""
    if name == "project_id":
        return NotFound("project_not_found", "No project with that id in this workspace.")
    if name == "collection":
        return NotFound("collection_not_found", "No collection with that id in this workspace.")
    if name == "q":
        return DomainError("invalid_q", f"The search (q) can be at most {MAX_Q} characters.", parameter="q")
    if name == "limit":
        return DomainError("invalid_limit", "limit must be a whole number from 1 to 100.", parameter="limit")
    if name == "cursor":
        return _refused_cursor()
    if name == "sort":
        message = f"must be one of {', '.join(SORTS)} (a leading '-' means descending)"
    if name in {low for low, _ in RANGES} and "is above" in message:
        return DomainError("invalid_range", message.removeprefix("Value error, ") + ".", parameter=name)
    message = message.removeprefix("Value error, ")
    return DomainError("invalid_parameter", f"{name}: {message}.", parameter=name)


@dataclass(frozen=True)
class Entry:
    """One listed file with its image row and provisioning row, either of which may not exist (yet)."""

    file: File
    image: Image | None
    provisioning: Provisioning | None

    @property
    def state(self) -> str:
        """ready | processing | waiting (for the images service) | failed | file (not an image)."""
        if self.file.status == "error" and self.image is None:
            return "failed"
        return image_status.status(self.file, self.provisioning, self.image) or "file"

    @property
    def can_retry(self) -> bool:
        return image_status.can_retry(self.file, self.provisioning, self.image)

    @property
    def image_state(self) -> dict | None:
        return image_status.image_state(self.file, self.provisioning, self.image, loaded=True)


@dataclass(frozen=True)
class Page:
    entries: list[Entry]
    next_cursor: str | None
    total: int | None


# --- filters: the one place a new filter goes ------------------------------------------------------------------


def is_image():
    return File.mime_type.like("image/%")


def _processing():
    # An image file with no image yet and no error: its provisioning is queued or running, or not requested yet.
    return and_(
        is_image(),
        Image.file_id.is_(None),
        File.status != "error",
        or_(Provisioning.file_id.is_(None), Provisioning.state.in_(("queued", "running", "waiting"))),
    )


_IMAGE_STATE = {
    "ready": lambda: Image.file_id.is_not(None),
    "processing": _processing,
    "failed": lambda: and_(is_image(), File.status == "error", Image.file_id.is_(None)),
}


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def _contains(column, fts: str, rowid: str, folded: str):
    """`column` contains `folded`: a pg_trgm index on PostgreSQL; on SQLite the FTS5 trigram table `fts` (three
    characters or more; shorter text is a LIKE on the column)."""
    if _dialect() == "sqlite" and len(folded) >= 3:
        phrase = '"' + folded.replace('"', '""') + '"'
        matched = select(literal_column("rowid")).select_from(text(fts)).where(literal_column(fts).op("MATCH")(phrase))
        return literal_column(rowid).in_(matched)
    return column.like(f"%{_escaped(folded)}%", escape="\\")


# A search the planner expects to match at most this many names and alt texts is answered from the trigram indexes;
# a more common one is checked row by row while the sort's index is walked (a page is found after a few thousand).
SEARCH_INDEX_AT_MOST = 5_000


def _planned(statement) -> int:
    """The planner's row estimate of a statement (EXPLAIN, no rows read). IN lists are rendered as one parameter
    each: EXPLAIN through the driver cannot expand them itself."""
    compiled = statement.compile(db.session.get_bind(), compile_kwargs={"render_postcompile": True})
    plan = db.session.connection().exec_driver_sql(f"EXPLAIN (FORMAT JSON) {compiled}", compiled.params).scalar()
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return int(plan[0]["Plan"]["Plan Rows"])


def _search(query: ListQuery):
    folded = photo_facts.fold(query.q)
    if _dialect() == "postgresql":
        pattern = f"%{_escaped(folded)}%"
        name, alt = File.name_folded.like(pattern, escape="\\"), Image.alt_folded.like(pattern, escape="\\")
        named, described = select(File.id).where(name), select(Image.file_id).where(alt)
        # The page, its total and its facets each build this query: the planner is asked once per request
        # (the session lives as long as the request's app context; a few words at most are kept).
        rare = db.session.info.setdefault("search_is_rare", {})
        if pattern not in rare:
            if len(rare) >= 16:
                rare.clear()
            rare[pattern] = _planned(named) + _planned(described) <= SEARCH_INDEX_AT_MOST
        if rare[pattern]:
            # A rare word: the ids from the two trigram indexes (an OR across the join could use neither).
            return File.id.in_(union(named, described))
        # A common word (one name in a hundred or more): the sort's index finds a page after a few thousand rows,
        # where collecting every match first would read them all.
        return or_(name, alt)
    name = _contains(File.name_folded, "file_name_fts", "file.rowid", folded)
    return or_(name, _contains(Image.alt_folded, "image_alt_fts", "image.rowid", folded))


_EQUALS = {
    "camera": lambda: Image.camera_model,
    "camera_make": lambda: Image.camera_make,
    "lens": lambda: Image.lens,
    "orientation": lambda: Image.orientation,
    "source": lambda: Image.source,
    "colour": lambda: Image.colour,
    "format": lambda: Image.format,
}
_BOUNDS = {
    "taken_after": (lambda: Image.taken_at, lambda c, v: c > v),
    "taken_before": (lambda: Image.taken_at, lambda c, v: c < v),
    "min_width": (lambda: Image.width, lambda c, v: c >= v),
    "max_width": (lambda: Image.width, lambda c, v: c <= v),
    "min_height": (lambda: Image.height, lambda c, v: c >= v),
    "max_height": (lambda: Image.height, lambda c, v: c <= v),
    "min_size": (lambda: File.size, lambda c, v: c >= v),
    "max_size": (lambda: File.size, lambda c, v: c <= v),
}


def _joins_image(query: ListQuery) -> bool:
    return (
        query.subject == "images" or bool(query.image_state) or any(getattr(query, name) is not None for name in FACTS)
    )


def _criteria(query: ListQuery) -> list:
    """The WHERE clauses of a query's filters (scope and workspace come from `_select`)."""
    found = []
    if query.project_id:
        found.append(File.project_id == query.project_id)
    if query.sha256:
        found.append(File.sha256 == query.sha256)  # ix_file_workspace_id_sha256
    if query.q:
        found.append(_search(query))
    for name, column in _EQUALS.items():
        if getattr(query, name) is not None:
            found.append(column() == getattr(query, name))
    for name, (column, compare) in _BOUNDS.items():
        if getattr(query, name) is not None:
            found.append(compare(column(), getattr(query, name)))
    if query.created_after:
        found.append(File.created_at > query.created_after)
    if query.created_before:
        found.append(File.created_at < query.created_before)
    if query.status:
        found.append(File.status == query.status)
    if query.is_image is not None:
        found.append(is_image() if query.is_image else not_(is_image()))
    if query.image_state:
        found.append(_IMAGE_STATE[query.image_state]())
    if query.has_alt_text is True:
        found += [Image.alt_text.is_not(None), Image.alt_text != ""]
    elif query.has_alt_text is False:
        # Still to describe: an image with no alt text that is not marked decorative (decorative images want none).
        found += [Image.file_id.is_not(None), or_(Image.alt_text.is_(None), Image.alt_text == "")]
        found.append(Image.decorative.is_(False))
    return found


def _memberships(query: ListQuery, statement):
    """The collection and tag filters as joins on a known collection and tag id: each membership's primary key
    (collection or tag, file) holds its files in id order, so a page walks the smaller one in the sort's order and
    stops, where `file.id IN (members)` collected and sorted them all. The key makes each join one row per file."""
    if query.collection:
        member = aliased(grouping.CollectionImage)
        statement = statement.join(member, and_(member.file_id == File.id, member.collection_id == query.collection))
    if query.tag:
        keys = db.session.execute(
            select(grouping.Tag.key, grouping.Tag.id).where(
                grouping.Tag.workspace_id == query.workspace_id, grouping.Tag.key.in_(query.tag)
            )
        ).all()
        if len(keys) < len(query.tag):
            return statement.where(false())  # a tag nobody carries: nothing matches
        for _, tag_id in keys:
            tagged = aliased(grouping.ImageTag)
            statement = statement.join(tagged, and_(tagged.file_id == File.id, tagged.tag_id == tag_id))
    return statement


def _select(query: ListQuery, *columns):
    """(File, Image, Provisioning) rows of the query's workspace and scope with its filters, in no order yet; with
    `columns` (a count, the ids), only the joins the filters need."""
    if query.project_id:
        get_project(query.workspace_id, query.project_id)
    if query.collection:
        grouping.get_collection(query.workspace_id, query.collection)
    statement = select(*(columns or (File, Image, Provisioning))).select_from(File)
    if query.subject == "images":
        # Both sides carry the workspace, so a sort can walk file's index in order and stop after a page.
        statement = statement.join(Image, and_(Image.file_id == File.id, Image.workspace_id == query.workspace_id))
    elif not columns or _joins_image(query) or query.q:
        # The workspace on the image side too, so a fact filter can enter its (workspace_id, fact, file_id) index.
        statement = statement.outerjoin(Image, and_(Image.file_id == File.id, Image.workspace_id == query.workspace_id))
    if not columns or query.image_state == "processing":
        statement = statement.outerjoin(Provisioning, Provisioning.file_id == File.id)
    live = File.live() if query.scope == "live" else File.deleted_at.is_not(None)
    return _memberships(query, statement).where(File.workspace_id == query.workspace_id, live, *_criteria(query))


# --- sorts and keysets ---------------------------------------------------------------------------------------------

# The column each sort orders by before the id tiebreak (None: the time-ordered id alone), and the key's type in a
# cursor (a date taken travels as its ISO 8601 text, read back by _KEY_READERS).
_SORT_COLUMNS = {
    "created": (None, type(None)),
    "name": (lambda: func.lower(File.name), str),
    "size": (lambda: File.size, int),
    "taken": (lambda: File.taken_at, str),
}


def _instant(text: str) -> datetime:
    """A cursor's date taken: only the spelling _cursor_key writes (UTC, microseconds), 1970 to 9998, is read back."""
    stamp = datetime.fromisoformat(text)
    if stamp.tzinfo is None or stamp.utcoffset() or _cursor_key(stamp) != text or not 1970 <= stamp.year <= 9998:
        raise ValueError("not a cursor's instant")
    return stamp


def _cursor_key(key):
    return key.astimezone(UTC).isoformat(timespec="microseconds") if isinstance(key, datetime) else key


_KEY_READERS = {"taken": _instant}


def _sort_parts(sort: str):
    make, key_type = _SORT_COLUMNS[sort.lstrip("-")]
    return (make() if make else None), key_type, sort.startswith("-")


def _id_columns(query: ListQuery) -> tuple:
    # Both sides of the image join get the id bound: PostgreSQL does not carry it across a merge join by itself.
    return (File.id, Image.file_id) if query.subject == "images" else (File.id,)


def _after(query: ListQuery, key, last_id: str):
    """Rows after (key, id) in the sort's order: a row value, so the index is entered at the cursor, not scanned."""
    column, _, descending = _sort_parts(query.sort)
    beyond = (lambda a, b: a < b) if descending else (lambda a, b: a > b)
    if column is None:
        return and_(*(beyond(id_column, last_id) for id_column in _id_columns(query)))
    if isinstance(key, datetime):
        key = literal(key, File.taken_at.type)  # stored as the column stores it (naive UTC)
    return beyond(tuple_(column, File.id), tuple_(key, last_id))


def _order(query: ListQuery) -> list:
    column, _, descending = _sort_parts(query.sort)
    columns = [_id_columns(query)[-1]] if column is None else [column, File.id]  # the index's order: no sort step
    return [c.desc() if descending else c.asc() for c in columns]


# --- the signed cursor ---------------------------------------------------------------------------------------------


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_CURSOR_SALT)


def _refused_cursor() -> DomainError:
    return DomainError(
        "invalid_cursor",
        "That cursor (page link) is out of date or was not given out for this list; start again from the first page.",
        parameter="cursor",
    )


def sign_cursor(query: ListQuery, key, last_id: str) -> str:
    """The cursor after the row (key, last_id), bound to the query's fingerprint (workspace, scope, filters, sort)."""
    return _serializer().dumps([query.fingerprint(), _cursor_key(key), last_id])


def read_cursor(query: ListQuery) -> tuple[object, str] | None:
    """(sort key, id) of the last row of the previous page; a made-up, tampered or foreign cursor is refused."""
    if not query.cursor:
        return None
    try:
        data = _serializer().loads(query.cursor)
    except (BadSignature, ValueError, UnicodeDecodeError):
        raise _refused_cursor() from None
    # Only the canonical spelling passes: base64's spare bits cannot make a second cursor for the same page.
    if not hmac.compare_digest(_serializer().dumps(data), query.cursor):
        raise _refused_cursor()
    _, key_type, _ = _sort_parts(query.sort)
    if (
        not isinstance(data, list)
        or len(data) != 3
        or data[0] != query.fingerprint()
        or not isinstance(data[2], str)
        or type(data[1]) is not key_type
    ):
        raise _refused_cursor()
    reader = _KEY_READERS.get(query.sort.lstrip("-"))
    try:
        return (reader(data[1]) if reader else data[1]), data[2]
    except ValueError:
        raise _refused_cursor() from None


# --- counts --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tallies:
    """A project's standing counts, as the gallery's header shows them."""

    images: int
    failed: int
    files: int
    trashed: int = 0


def _tally_rows(project_id: str) -> list[tuple[bool, str, str, int]]:
    """The project's counts per (live, kind, status) from `file_tally`, which triggers keep in the transaction of
    every change of a file or an image (migrations 0015 and 0019): a handful of rows, never a scan of the project."""
    statement = select(FileTally.live, FileTally.kind, FileTally.status, FileTally.n).where(
        FileTally.project_id == project_id
    )
    return [tuple(row) for row in db.session.execute(statement)]


def tallies(workspace_id: str, project_id: str) -> Tallies:
    """How many images (of which failed), other files and trashed files a project holds, from its tally rows (a
    failed image is an image file in `error` without an image row)."""
    get_project(workspace_id, project_id)
    rows = _tally_rows(project_id)
    return Tallies(
        images=sum(n for live, kind, _, n in rows if live and kind != "other"),
        failed=sum(n for live, kind, status, n in rows if live and kind == "picture" and status == "error"),
        files=sum(n for live, kind, _, n in rows if live and kind == "other"),
        trashed=sum(n for live, _, _, n in rows if not live),
    )


# The filters a tally row can answer; any other filter (or a search) is counted another way.
_TALLIED = {"project_id", "status", "is_image", "image_state", "subject", "scope"}
_TALLY_STATES = {
    "ready": lambda kind, status: kind == "image",
    "failed": lambda kind, status: kind == "picture" and status == "error",
}


def _from_tally(query: ListQuery, known: Tallies | None) -> int | None:
    """A project's view by scope, subject, status, kind and ready/failed, summed from its tally rows."""
    set_filters = {
        name for name in ListQuery.model_fields if name not in _NOT_FILTERS and getattr(query, name) is not None
    }
    if not query.project_id or not set_filters <= _TALLIED or query.image_state == "processing":
        return None
    get_project(query.workspace_id, query.project_id)
    wanted = [
        lambda live, kind, status: live == (query.scope == "live"),
        lambda live, kind, status: query.subject != "images" or kind == "image",
        lambda live, kind, status: query.status is None or status == query.status,
        lambda live, kind, status: query.is_image is None or (kind != "other") == query.is_image,
        lambda live, kind, status: query.image_state is None or _TALLY_STATES[query.image_state](kind, status),
    ]
    rows = _tally_rows(query.project_id)
    return sum(n for live, kind, status, n in rows if all(test(bool(live), kind, status) for test in wanted))


_NOT_FILTERS = {"workspace_id", "sort", "limit", "cursor", "count", "subject", "scope"}


class Estimate(int):
    """A count the database planner estimated (above ESTIMATE_ABOVE matches): the faces say "about"."""

    estimated = True
    at_least = False


class AtLeast(Estimate):
    """A lower bound: the view holds more than this many (counting stopped there): the faces say "more than"."""

    at_least = True


# A filtered count the planner puts above this many rows is answered by its estimate, not counted: counting reads
# every match (10-20 µs each at a million rows), so a page that shows a total stays within its budget.
ESTIMATE_ABOVE = 1_000
# An exact count reads at most this many matches: a view the planner put below ESTIMATE_ABOVE that holds more (the
# planner assumes filters independent; a tag inside a collection is not) is answered "more than" this many, never
# by reading on.
COUNT_AT_MOST = 1_000


def _planned_rows(query: ListQuery) -> int | None:
    """On PostgreSQL, the planner's row estimate of the view (EXPLAIN, no rows read); None elsewhere."""
    if _dialect() != "postgresql":
        return None
    return _planned(_select(query, File.id))


def _estimated(query: ListQuery, known: Tallies | None) -> int | None:
    """A large filtered view on PostgreSQL: the planner's estimate; None below ESTIMATE_ABOVE (counted exactly)."""
    rows = _planned_rows(query)
    return Estimate(rows) if rows is not None and rows > ESTIMATE_ABOVE else None


def _by_scan(query: ListQuery, known: Tallies | None) -> int:
    """Counts the matches; on PostgreSQL at most COUNT_AT_MOST of them (beyond, "more than" that number). SQLite, the
    embedded default for one machine's library, counts them all."""
    bounded = _dialect() == "postgresql"
    matches = _select(query, File.id)
    if bounded:
        matches = matches.limit(COUNT_AT_MOST + 1)
    found = db.session.scalar(select(func.count()).select_from(matches.subquery())) or 0
    return AtLeast(COUNT_AT_MOST) if bounded and found > COUNT_AT_MOST else found


# The count strategy: the first counter that answers wins. A counter table or a planner estimate plugs in here
# (before `_by_scan`), and every face's totals follow.
COUNTERS: list[Callable[[ListQuery, Tallies | None], int | None]] = [_from_tally, _estimated, _by_scan]


def count(query: ListQuery, known: Tallies | None = None) -> int:
    """How many rows the query matches on all pages together (`known`: tallies the caller already has)."""
    for counter in COUNTERS:
        found = counter(query, known)
        if found is not None:
            return found
    raise RuntimeError("no counter answered")  # _by_scan always does


# --- running -------------------------------------------------------------------------------------------------------


def run(query: ListQuery, known: Tallies | None = None) -> Page:
    """One page of the query in its sort's order, keyset-paginated on (sort key, id), with its total when asked."""
    after = read_cursor(query)
    column, _, _ = _sort_parts(query.sort)
    if _dialect() == "postgresql":
        # A page is at most 101 rows: starting a parallel worker costs more than it saves (the Failed view at a
        # million files: a Gather of one worker, 25 ms, where the index range alone takes 0.1 ms). For this
        # transaction only.
        db.session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
    statement = _select(query)
    if column is not None:
        statement = statement.add_columns(column)  # the cursor keeps the database's own key (SQLite lowers ASCII)
    if after is not None:
        statement = statement.where(_after(query, *after))
    rows = list(db.session.execute(statement.order_by(*_order(query)).limit(query.limit + 1)))
    next_cursor = None
    if len(rows) > query.limit:
        last = rows[query.limit - 1]
        next_cursor = sign_cursor(query, last[3] if column is not None else None, last[0].id)
    total = count(query, known) if query.count else None
    return Page([Entry(*row[:3]) for row in rows[: query.limit]], next_cursor, total)


def matching_ids(query: ListQuery):
    """A SELECT of the ids the query matches, in no order: what a bulk change inserts from in one statement."""
    return _select(query, File.id)


def ids(query: ListQuery, limit: int) -> list[str]:
    """Every id the query matches in its order, at most `limit` (the gallery's "select all that match")."""
    statement = _select(query, File.id)
    return list(db.session.scalars(statement.order_by(*_order(query)).limit(limit)))


def newer(query: ListQuery, after_id: str, limit: int = 30) -> list[Entry]:
    """Rows of the query uploaded after `after_id` (from anywhere: another browser, the API, the CLI), newest first."""
    if not re.fullmatch(ID_PATTERN, after_id or ""):
        return []
    statement = _select(query).where(File.id > after_id).order_by(File.id.desc()).limit(limit)
    return [Entry(*row) for row in db.session.execute(statement)]


# --- facet counts --------------------------------------------------------------------------------------------------

# Each facet: the filter that narrows to one of its values, and the value's column.
FACETS = {
    "camera": lambda: Image.camera_model,
    "camera_make": lambda: Image.camera_make,
    "lens": lambda: Image.lens,
    "orientation": lambda: Image.orientation,
    "colour": lambda: Image.colour,
    "format": lambda: Image.format,
    "source": lambda: Image.source,
    "has_alt_text": lambda: case((and_(Image.alt_text.is_not(None), Image.alt_text != ""), "true"), else_="false"),
}
FACET_TOP = 10
# Facets are counted over at most this many matching images (the first the database finds); beyond it the counts
# are scaled to the total and marked as estimates, so a facet answer costs the same at ten thousand or ten million.
FACET_SCAN = 5000


@dataclass(frozen=True)
class FacetCounts:
    """Per facet its top values with counts, for the images a query matches."""

    values: dict[str, list[tuple[str, int]]]
    total: int
    scanned: int

    @property
    def exact(self) -> bool:
        return self.scanned >= self.total


def facets(query: ListQuery, top: int = FACET_TOP) -> FacetCounts:
    """The top `top` values of every facet among the query's images, with their counts: exact up to FACET_SCAN
    matching images, estimated from the first FACET_SCAN the database finds above that."""
    query = query.model_copy(update={"subject": "images", "cursor": None})
    columns = [make().label(name) for name, make in FACETS.items()]
    # No order: the database takes the first FACET_SCAN matches its best index finds, so a selective filter does
    # not walk the project in the sort's order to collect them.
    sample = _select(query, *columns).limit(FACET_SCAN).cte("sample")
    grouped = [
        select(literal(name).label("facet"), sample.c[name].label("value"), func.count().label("n"))
        .where(sample.c[name].is_not(None))
        .group_by(sample.c[name])
        for name in FACETS
    ]
    found: dict[str, list[tuple[str, int]]] = {name: [] for name in FACETS}
    scanned = 0
    for facet, value, n in db.session.execute(union_all(*grouped)):
        found[facet].append((str(value), n))
        scanned += n if facet == "has_alt_text" else 0
    total = scanned if scanned < FACET_SCAN else count(query)
    scale = total / scanned if scanned else 1
    values = {
        name: [(value, round(n * scale)) for value, n in sorted(pairs, key=lambda pair: (-pair[1], pair[0]))[:top]]
        for name, pairs in found.items()
    }
    return FacetCounts(values=values, total=total, scanned=scanned)
