"""The rows that organise images — collections of a project and tags of a workspace, with the counts each keeps in
its own row — and what keeps those counts true when a file goes to the trash, comes back or is removed.

Collections are flat: a photo can sit in any number of them, which gives what nesting would (a "2024" and a
"Portraits" collection instead of "2024/Portraits"), and a flat membership table stays one index per lookup."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint, delete, func, select, update
from sqlalchemy.orm import Mapped, mapped_column

from app.domain import files
from app.domain.common import UTCDateTime, chunks, utcnow
from app.domain.errors import DomainError, NotFound
from app.domain.files import File
from app.extensions import db

MAX_TAG = 64
MAX_COLLECTION_NAME = 100
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# Byte order on PostgreSQL, so a prefix is one range of the unique (workspace, key) index in any database collation.
_KEY = String(MAX_TAG * 4).with_variant(String(MAX_TAG * 4, collation="C"), "postgresql")


class Collection(db.Model):
    """A named group of images inside one project; `image_count` counts its images that are not in the trash."""

    __tablename__ = "collection"
    __table_args__ = (
        UniqueConstraint("project_id", "name_key", name="uq_collection_project_id_name_key"),
        Index("ix_collection_workspace_id_id", "workspace_id", "id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    project_id: Mapped[str] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(MAX_COLLECTION_NAME))
    name_key: Mapped[str] = mapped_column(String(MAX_COLLECTION_NAME * 4))
    image_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class CollectionImage(db.Model):
    __tablename__ = "collection_image"
    __table_args__ = (Index("ix_collection_image_file_id", "file_id"),)

    collection_id: Mapped[str] = mapped_column(ForeignKey("collection.id", ondelete="CASCADE"), primary_key=True)
    file_id: Mapped[str] = mapped_column(ForeignKey("file.id", ondelete="CASCADE"), primary_key=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Tag(db.Model):
    """A workspace's tag: `key` is the case-folded form every lookup uses, `name` the form first typed; `use_count`
    counts the images carrying it that are not in the trash."""

    __tablename__ = "tag"
    __table_args__ = (UniqueConstraint("workspace_id", "key", name="uq_tag_workspace_id_key"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(_KEY)
    name: Mapped[str] = mapped_column(String(MAX_TAG * 4))
    use_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ImageTag(db.Model):
    __tablename__ = "image_tag"
    __table_args__ = (Index("ix_image_tag_file_id", "file_id"),)

    tag_id: Mapped[str] = mapped_column(ForeignKey("tag.id", ondelete="CASCADE"), primary_key=True)
    file_id: Mapped[str] = mapped_column(ForeignKey("file.id", ondelete="CASCADE"), primary_key=True)


def tag_name(raw) -> str:
    """A tag as shown: Unicode-normalised (NFKC), control characters out, runs of whitespace one space; 1 to 64
    characters, no comma (commas separate tags where they are typed)."""
    if not isinstance(raw, str):
        raise DomainError("invalid_tag", "A tag must be text.", parameter="tag")
    name = " ".join(_CONTROL.sub(" ", unicodedata.normalize("NFKC", raw)).split())
    if not name:
        raise DomainError("invalid_tag", "A tag cannot be empty.", parameter="tag")
    if len(name) > MAX_TAG:
        raise DomainError("invalid_tag", f"A tag can be at most {MAX_TAG} characters: {name[:20]!r}….", parameter="tag")
    if "," in name:
        raise DomainError("invalid_tag", f"A tag cannot hold a comma: {name!r}.", parameter="tag")
    return name


def tag_key(raw) -> str:
    """The case-insensitive identity of a tag: its shown form case-folded (so "Straße", "STRASSE" and "strasse" are
    one tag) and normalised again, since folding can leave composed characters decomposed."""
    return unicodedata.normalize("NFKC", tag_name(raw).casefold())


def collection_name(raw) -> str:
    """A collection's name as shown: control characters out, whitespace collapsed, 1 to 100 characters."""
    if not isinstance(raw, str):
        raise DomainError("invalid_name", "A collection's name must be text.", parameter="name")
    name = " ".join(_CONTROL.sub(" ", unicodedata.normalize("NFC", raw)).split())
    if not name or len(name) > MAX_COLLECTION_NAME:
        raise DomainError(
            "invalid_name", f"A collection's name must be 1 to {MAX_COLLECTION_NAME} characters.", parameter="name"
        )
    return name


def get_collection(workspace_id: str, collection_id) -> Collection:
    """The workspace's collection; any other id (another workspace's too) is 404 `collection_not_found`."""
    found = db.session.get(Collection, collection_id) if isinstance(collection_id, str) else None
    if found is None or found.workspace_id != workspace_id:
        raise NotFound("collection_not_found", f"No collection {collection_id!r} in this workspace.")
    return found


def labels(file_ids: list[str]) -> dict[str, tuple[list[str], list[str]]]:
    """Per file id: its tags (shown forms, in key order) and the ids of its collections, in two queries."""
    found: dict[str, tuple[list[str], list[str]]] = {file_id: ([], []) for file_id in file_ids}
    if not file_ids:
        return found
    tagged = select(ImageTag.file_id, Tag.name).join(Tag, Tag.id == ImageTag.tag_id)
    for file_id, name in db.session.execute(tagged.where(ImageTag.file_id.in_(file_ids)).order_by(Tag.key)):
        found[file_id][0].append(name)
    grouped = select(CollectionImage.file_id, CollectionImage.collection_id).where(
        CollectionImage.file_id.in_(file_ids)
    )
    for file_id, collection_id in db.session.execute(grouped.order_by(CollectionImage.collection_id)):
        found[file_id][1].append(collection_id)
    return found


def _recount(file_ids: list[str], step: int) -> None:
    """Moves the counts of every collection and tag these files belong to by `step` per file, in the caller's
    transaction: two statements per IN_CHUNK files, each row moved by `step` times how many of them it holds."""
    for chunk in chunks(file_ids):
        held = (
            select(func.count())
            .select_from(CollectionImage)
            .where(CollectionImage.collection_id == Collection.id, CollectionImage.file_id.in_(chunk))
            .scalar_subquery()
        )
        of_files = select(CollectionImage.collection_id).where(CollectionImage.file_id.in_(chunk))
        db.session.execute(
            update(Collection)
            .where(Collection.id.in_(of_files))
            .values(image_count=Collection.image_count + step * held)
            .execution_options(synchronize_session=False)
        )
        carried = (
            select(func.count())
            .select_from(ImageTag)
            .where(ImageTag.tag_id == Tag.id, ImageTag.file_id.in_(chunk))
            .scalar_subquery()
        )
        tags_of = select(ImageTag.tag_id).where(ImageTag.file_id.in_(chunk))
        db.session.execute(
            update(Tag)
            .where(Tag.id.in_(tags_of))
            .values(use_count=Tag.use_count + step * carried)
            .execution_options(synchronize_session=False)
        )


def left(file_ids: list[str]) -> None:
    """The files went to the trash: they keep their collections and tags, which stop counting them."""
    _recount(file_ids, -1)


def came_back(file_ids: list[str]) -> None:
    """The files were restored from the trash: their collections and tags count them again."""
    _recount(file_ids, +1)


@files.on_delete
def _forget(file: File) -> None:
    """A file removed for good leaves its collections and tags (a live one lowers their counts first)."""
    if file.deleted_at is None:
        _recount([file.id], -1)
    db.session.execute(delete(CollectionImage).where(CollectionImage.file_id == file.id))
    db.session.execute(delete(ImageTag).where(ImageTag.file_id == file.id))
