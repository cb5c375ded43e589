"""Organising images: a project's collections (create, rename, delete, add and remove images one at a time, by ids
or by a list query) and a workspace's tags (suggestions, bulk add and remove). A change by query is one
INSERT … SELECT or DELETE over the query engine's ids, never a loop; counts move in the same transaction."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import String, and_, any_, delete, func, literal, select, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from app.domain import queries
from app.domain.accounts import get_project
from app.domain.common import new_id, utcnow
from app.domain.errors import DomainError
from app.domain.events import emit
from app.domain.files import File
from app.domain.grouping import (
    Collection,
    CollectionImage,
    ImageTag,
    Tag,
    collection_name,
    get_collection,
    tag_key,
    tag_name,
)
from app.event_types import EventType
from app.extensions import db

MAX_SELECTION = 10_000  # ids in one request; a query selects any number
MAX_COLLECTIONS = 500  # per project: a sidebar, not a folder tree
MAX_TAGS_PER_CHANGE = 50
PER_IMAGE_EVENTS = 100  # up to this many changed images, each also gets its own image.updated
# The list parameters a change may select by: GET /api/images's filters (not its page).
SELECTABLE = tuple(name for name in queries.PARAMETERS["images"] if name not in ("limit", "cursor", "count"))


def list_collections(workspace_id: str, project_id: str | None = None) -> list[Collection]:
    """The workspace's collections (or one project's), by name in any case."""
    statement = select(Collection).where(Collection.workspace_id == workspace_id)
    if project_id is not None:
        get_project(workspace_id, project_id)
        statement = statement.where(Collection.project_id == project_id)
    return list(db.session.scalars(statement.order_by(Collection.name_key, Collection.id)))


def _taken(project_id: str, key: str, but: str | None = None) -> DomainError | None:
    clash = db.session.scalar(
        select(Collection.id).where(Collection.project_id == project_id, Collection.name_key == key)
    )
    if clash is None or clash == but:
        return None
    return DomainError(
        "collection_exists", "This project already has a collection of that name.", 409, parameter="name"
    )


def create_collection(workspace_id: str, project_id: str, name) -> Collection:
    """A new, empty collection; a name the project already has (in any case) is 409 `collection_exists`."""
    get_project(workspace_id, project_id)
    shown = collection_name(name)
    if clash := _taken(project_id, shown.casefold()):
        raise clash
    if db.session.scalar(select(func.count()).where(Collection.project_id == project_id)) >= MAX_COLLECTIONS:
        raise DomainError("too_many_collections", f"A project can hold at most {MAX_COLLECTIONS} collections.", 409)
    collection = Collection(
        id=new_id("col"), workspace_id=workspace_id, project_id=project_id, name=shown, name_key=shown.casefold()
    )
    collection.image_count = 0
    db.session.add(collection)
    emit(EventType.COLLECTION_CREATED, workspace_id=workspace_id, subject_id=collection.id, payload={"name": shown})
    return _committed(collection)


def _committed(collection: Collection) -> Collection:
    try:
        db.session.commit()
    except IntegrityError:  # a second create or rename with the same name won the race
        db.session.rollback()
        raise DomainError("collection_exists", "This project already has a collection of that name.", 409) from None
    return collection


def rename_collection(workspace_id: str, collection_id: str, name) -> Collection:
    collection = get_collection(workspace_id, collection_id)
    shown = collection_name(name)
    if clash := _taken(collection.project_id, shown.casefold(), but=collection.id):
        raise clash
    if shown != collection.name:
        emit(
            EventType.COLLECTION_UPDATED,
            workspace_id=workspace_id,
            subject_id=collection.id,
            payload={"changed": {"name": shown}},
        )
        collection.name, collection.name_key = shown, shown.casefold()
    return _committed(collection)


def delete_collection(workspace_id: str, collection_id: str) -> None:
    """The collection goes; its images stay where they are."""
    collection = get_collection(workspace_id, collection_id)
    db.session.execute(delete(CollectionImage).where(CollectionImage.collection_id == collection.id))
    emit(
        EventType.COLLECTION_DELETED,
        workspace_id=workspace_id,
        subject_id=collection.id,
        payload={"name": collection.name, "projectId": collection.project_id},
    )
    db.session.delete(collection)
    db.session.commit()


def selection(workspace_id: str, ids: Iterable[str] | None, query: dict | None, project_id: str | None = None):
    """The ids a change acts on, as one SELECT: the listed ids, or every image an images-list query matches (its
    parameters as GET /api/images takes them), limited to the workspace, live image files and `project_id`."""
    if (ids is None) == (query is None):
        raise DomainError("invalid_selection", "Send either ids (a list of image ids) or query (list parameters).")
    if query is not None:
        if not isinstance(query, dict):
            raise DomainError("invalid_query", "query is an object of GET /api/images's filters.", parameter="query")
        unknown = sorted(set(query) - set(SELECTABLE))
        if unknown:
            raise DomainError(
                "invalid_query",
                f"query: unknown filter {unknown[0]!r}; it takes {', '.join(SELECTABLE)}.",
                parameter=f"query.{unknown[0]}",
            )
        values = dict(query)
        if project_id is not None:
            if values.get("project_id", project_id) != project_id:
                raise DomainError("invalid_selection", "The query names another project than the collection's.")
            values["project_id"] = project_id
        return queries.matching_ids(queries.parse(values, workspace_id=workspace_id, subject="images"))
    wanted = sorted({i for i in ids if isinstance(i, str) and 0 < len(i) <= 32})
    if not wanted:
        raise DomainError("nothing_selected", "Select at least one image first.")
    if len(wanted) > MAX_SELECTION:
        raise DomainError("too_many_selected", f"At most {MAX_SELECTION:,} ids can be sent at once; send a query.")
    conditions = [File.workspace_id == workspace_id, File.live(), File.mime_type.like("image/%"), _among(wanted)]
    if project_id is not None:
        conditions.append(File.project_id == project_id)
    return select(File.id).where(*conditions)


def _among(ids: list[str]):
    """`file.id` among the ids: one array parameter on PostgreSQL (10,000 binds cost more to send and plan than the
    lookups), an IN list elsewhere."""
    if db.engine.dialect.name == "postgresql":
        return File.id == any_(literal(ids, postgresql.ARRAY(String)))
    return File.id.in_(ids)


def _insert():
    """INSERT … ON CONFLICT DO NOTHING in the database's own words (both count only the rows they added)."""
    return {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[db.engine.dialect.name]


def add_to_collection(workspace_id: str, collection_id: str, ids=None, query=None) -> tuple[Collection, int]:
    """Adds the selection (ids, or a query's every match) in one INSERT … SELECT; returns how many were new."""
    collection = get_collection(workspace_id, collection_id)
    chosen = selection(workspace_id, ids, query, collection.project_id).subquery()
    # WHERE true: SQLite reads "SELECT … ON CONFLICT" as a join unless the SELECT has a WHERE.
    rows = select(literal(collection.id), chosen.c.id, literal(utcnow(), CollectionImage.added_at.type)).where(true())
    added = _insert()(CollectionImage).from_select(["collection_id", "file_id", "added_at"], rows)
    changed = list(db.session.scalars(added.on_conflict_do_nothing().returning(CollectionImage.file_id)))
    return _counted(collection, changed, "added"), len(changed)


def remove_from_collection(workspace_id: str, collection_id: str, ids=None, query=None) -> tuple[Collection, int]:
    """Takes the selection out of the collection (the images stay); returns how many were in it."""
    collection = get_collection(workspace_id, collection_id)
    chosen = selection(workspace_id, ids, query, collection.project_id)
    gone = delete(CollectionImage).where(
        CollectionImage.collection_id == collection.id, CollectionImage.file_id.in_(chosen)
    )
    changed = list(db.session.scalars(gone.returning(CollectionImage.file_id)))
    return _counted(collection, changed, "removed"), len(changed)


def _counted(collection: Collection, changed: list[str], how: str) -> Collection:
    """Moves the collection's count in the change's transaction, announces it, commits."""
    step = len(changed) if how == "added" else -len(changed)
    if changed:
        db.session.execute(
            update(Collection)
            .where(Collection.id == collection.id)
            .values(image_count=Collection.image_count + step, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        emit(
            EventType.COLLECTION_UPDATED,
            workspace_id=collection.workspace_id,
            subject_id=collection.id,
            payload={"changed": {f"images{how.title()}": len(changed)}},
        )
        if len(changed) <= PER_IMAGE_EVENTS:
            for file_id in changed:
                _image_updated(collection.workspace_id, file_id, {"collections": {how: [collection.id]}})
    db.session.commit()
    db.session.refresh(collection)
    return collection


def _image_updated(workspace_id: str, file_id: str, changed: dict) -> None:
    emit(EventType.IMAGE_UPDATED, workspace_id=workspace_id, subject_id=file_id, payload={"changed": changed})


def suggest_tags(workspace_id: str, prefix: str | None = None, limit: int = 20) -> list[Tag]:
    """The workspace's tags starting with `prefix` in any case (one range of the (workspace, key) index), most used
    first; without a prefix, the most used."""
    statement = select(Tag).where(Tag.workspace_id == workspace_id)
    if prefix:
        start = tag_key(prefix)
        statement = statement.where(Tag.key >= start, Tag.key < start + "\U0010ffff")
    return list(db.session.scalars(statement.order_by(Tag.use_count.desc(), Tag.key).limit(limit)))


def _tags(raw, what: str) -> dict[str, str]:
    """Tag names sent to add or remove, by key (the first spelling of a key wins)."""
    if raw is None:
        return {}
    if not isinstance(raw, list) or len(raw) > MAX_TAGS_PER_CHANGE:
        raise DomainError("invalid_tag", f"{what} takes a list of at most {MAX_TAGS_PER_CHANGE} tags.", parameter=what)
    found: dict[str, str] = {}
    for value in raw:
        found.setdefault(tag_key(value), tag_name(value))
    return found


def _tag_rows(workspace_id: str, wanted: dict[str, str]) -> dict[str, Tag]:
    """The workspace's tags of these keys, made when missing (a race to make one keeps the first)."""
    if not wanted:
        return {}
    rows = [{"id": new_id("tag"), "workspace_id": workspace_id, "key": k, "name": n, "use_count": 0,
             "created_at": utcnow()} for k, n in wanted.items()]  # fmt: skip
    db.session.execute(_insert()(Tag).values(rows).on_conflict_do_nothing())
    found = db.session.scalars(select(Tag).where(Tag.workspace_id == workspace_id, Tag.key.in_(list(wanted))))
    return {tag.key: tag for tag in found}


def change_tags(workspace_id: str, ids=None, query=None, add=None, remove=None, edit: bool = False) -> int:
    """Adds and removes tags on the selection, one statement per tag; each image changed gets `image.updated`
    naming the tags added and removed (an `edit` of one image leaves both that and the commit to its caller).
    Returns how many images changed."""
    adding, removing = _tags(add, "add"), _tags(remove, "remove")
    if not adding and not removing:
        raise DomainError("nothing_to_change", "Name at least one tag to add or remove.")
    if set(adding) & set(removing):
        raise DomainError("invalid_tag", "A tag cannot be added and removed at once.", parameter="remove")
    chosen = selection(workspace_id, ids, query)
    touched: dict[str, dict[str, list[str]]] = {}
    for tag in _tag_rows(workspace_id, adding).values():
        picked = chosen.subquery()
        rows = select(literal(tag.id), picked.c.id).where(true())
        statement = _insert()(ImageTag).from_select(["tag_id", "file_id"], rows).on_conflict_do_nothing()
        _tally(tag, list(db.session.scalars(statement.returning(ImageTag.file_id))), "added", touched)
    if removing:
        gone = select(Tag).where(Tag.workspace_id == workspace_id, Tag.key.in_(list(removing)))
        for tag in db.session.scalars(gone).all():
            statement = delete(ImageTag).where(ImageTag.tag_id == tag.id, ImageTag.file_id.in_(chosen))
            _tally(tag, list(db.session.scalars(statement.returning(ImageTag.file_id))), "removed", touched)
    if edit:
        return len(touched)
    for file_id, changed in touched.items():
        _image_updated(workspace_id, file_id, {"tags": changed})
    db.session.commit()
    return len(touched)


def _tally(tag: Tag, changed: list[str], how: str, touched: dict) -> None:
    if not changed:
        return
    step = len(changed) if how == "added" else -len(changed)
    db.session.execute(
        update(Tag)
        .where(Tag.id == tag.id)
        .values(use_count=Tag.use_count + step)
        .execution_options(synchronize_session=False)
    )
    for file_id in changed:
        touched.setdefault(file_id, {}).setdefault(how, []).append(tag.name)


def set_tags(workspace_id: str, file_id: str, names) -> dict | None:
    """Makes the image's tags exactly `names` (PATCH), in the caller's transaction; returns what changed, if any."""
    wanted = _tags(names, "tags")
    current = dict(
        db.session.execute(
            select(Tag.key, Tag.name)
            .join(ImageTag, and_(ImageTag.tag_id == Tag.id, ImageTag.file_id == file_id))
            .where(Tag.workspace_id == workspace_id)
        ).all()
    )
    add = [wanted[k] for k in wanted if k not in current]
    remove = [current[k] for k in current if k not in wanted]
    if not add and not remove:
        return None
    change_tags(workspace_id, ids=[file_id], add=add or None, remove=remove or None, edit=True)
    return {"added": add, "removed": remove}


def merge_labels(kept, other) -> dict:
    """A merge of duplicates (app.domain.duplicates registers this) gives the kept image the discarded one's tags and, within the kept one's project, its
    collections (in the merge's transaction; counts move by one per new label, the kept image being live)."""
    kept_file = db.session.get(File, kept.file_id)
    theirs = select(Tag.id, literal(kept.file_id)).where(
        Tag.id.in_(select(ImageTag.tag_id).where(ImageTag.file_id == other.file_id))
    )
    added = _insert()(ImageTag).from_select(["tag_id", "file_id"], theirs).on_conflict_do_nothing()
    tag_ids = list(db.session.scalars(added.returning(ImageTag.tag_id)))
    gained: dict = {}
    if tag_ids:
        db.session.execute(
            update(Tag)
            .where(Tag.id.in_(tag_ids))
            .values(use_count=Tag.use_count + 1)
            .execution_options(synchronize_session=False)
        )
        names = db.session.scalars(select(Tag.name).where(Tag.id.in_(tag_ids)).order_by(Tag.key))
        gained["tags"] = {"added": list(names)}
    groups = select(Collection.id, literal(kept.file_id), literal(utcnow(), CollectionImage.added_at.type)).where(
        Collection.project_id == kept_file.project_id,
        Collection.id.in_(select(CollectionImage.collection_id).where(CollectionImage.file_id == other.file_id)),
    )
    joined = _insert()(CollectionImage).from_select(["collection_id", "file_id", "added_at"], groups)
    collection_ids = sorted(
        db.session.scalars(joined.on_conflict_do_nothing().returning(CollectionImage.collection_id))
    )
    if collection_ids:
        db.session.execute(
            update(Collection)
            .where(Collection.id.in_(collection_ids))
            .values(image_count=Collection.image_count + 1, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        for collection_id in collection_ids:
            emit(
                EventType.COLLECTION_UPDATED,
                workspace_id=kept.workspace_id,
                subject_id=collection_id,
                payload={"changed": {"imagesAdded": 1}},
            )
        gained["collections"] = {"added": collection_ids}
    return gained
