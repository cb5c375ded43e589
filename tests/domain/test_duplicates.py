"""Near duplicates in the database (SQLite, or PostgreSQL with TEST_DATABASE_URL): the band lookup finds what the
rule says and nothing of another workspace or the trash; groups list each group once; a merge carries alt text and
focal point and puts the others in the trash (restorable); the backfill resumes where a stopped run left off."""

from __future__ import annotations

import io
import random
import tempfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image as PILImage
from sqlalchemy import select

from app.domain import accounts, duplicates, organise, services, trash
from app.domain.common import new_id
from app.domain.events import Event
from app.domain.files import File
from app.domain.grouping import Collection, Tag, labels
from app.domain.images import Image
from app.domain.pictures import placeholder
from app.extensions import db


def flip(value: int, bits) -> int:
    for bit in bits:
        value ^= 1 << bit
    return value


def make_image(tenant, phash: int | None, *, alt_text=None, focal=None, data: bytes | None = None) -> str:
    file_id = new_id("fil")
    db.session.add(
        File(
            id=file_id,
            workspace_id=tenant.workspace_id,
            project_id=tenant.project_id,
            name=f"{file_id}.jpg",
            mime_type="image/jpeg",
            size=len(data or b"x"),
            sha256=f"{random.getrandbits(256):064x}",
            storage_key=f"{tenant.workspace_id}/{file_id}",
            status="ready",
        )
    )
    db.session.flush()
    image = Image(
        file_id=file_id,
        workspace_id=tenant.workspace_id,
        cf_image_id=file_id,
        width=10,
        height=10,
        size=1,
        format="jpeg",
        exif={},
        alt_text=alt_text,
        focal_x=focal and focal[0],
        focal_y=focal and focal[1],
    )
    image.set_phash(phash)
    db.session.add(image)
    if data is not None:
        _put(f"{tenant.workspace_id}/{file_id}", data)
    db.session.commit()
    return file_id


def _put(key: str, data: bytes) -> None:
    with tempfile.NamedTemporaryFile(delete=False) as out:
        out.write(data)
    services.storage().put_file(key, out.name)


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield
        db.session.remove()


BASE = 0x0123_4567_89AB_CDEF


def test_similar_finds_near_hashes_of_this_workspace_only(ctx, tenant, other_tenant):
    me = make_image(tenant, BASE)
    close = make_image(tenant, flip(BASE, [0, 17, 40, 63]))  # 4 bits, one per band
    edge = make_image(tenant, flip(BASE, [0, 1, 2, 16, 17, 18, 32, 33, 34, 48, 49, 50]))  # 12 bits, 3 per band: missed
    far = make_image(tenant, flip(BASE, range(0, 64, 3)))
    foreign = make_image(other_tenant, BASE)
    found = duplicates.similar(tenant.workspace_id, me)
    assert [(n.file.id, n.distance) for n in found] == [(close, 4)]
    assert {edge, far, foreign}.isdisjoint(n.file.id for n in found)
    assert duplicates.similar(tenant.workspace_id, me, threshold=3) == []


def test_an_image_in_the_trash_is_not_similar(ctx, tenant):
    me = make_image(tenant, BASE)
    twin = make_image(tenant, BASE)
    trash.delete_file(tenant.workspace_id, twin)
    assert duplicates.similar(tenant.workspace_id, me) == []


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(st.integers(0, (1 << 64) - 1), st.sets(st.integers(0, 63), max_size=11))
def test_the_database_lookup_finds_every_hash_within_eleven_bits(ctx, tenant, value, bits):
    me = make_image(tenant, value)
    near = make_image(tenant, flip(value, bits))
    assert near in [n.file.id for n in duplicates.similar(tenant.workspace_id, me)]


def test_groups_list_each_group_once_under_its_oldest(ctx, tenant):
    first = make_image(tenant, BASE)
    second = make_image(tenant, flip(BASE, [5]))
    alone = make_image(tenant, flip(BASE, range(0, 64, 2)))
    third = make_image(tenant, flip(BASE, [5, 22]))
    found, after = duplicates.groups(tenant.workspace_id)
    assert after is None
    assert [[m.file.id for m in g.members] for g in found] == [[first, second, third]]
    assert alone not in [m.file.id for g in found for m in g.members]


def test_merge_carries_alt_text_and_focal_point_and_trashes_the_others(ctx, tenant):
    kept = make_image(tenant, BASE)
    described = make_image(tenant, BASE, alt_text="A red boat", focal=(0.2, 0.7))
    other = make_image(tenant, BASE, alt_text="Another description")
    merged = duplicates.merge(tenant.workspace_id, kept, [described, other])
    assert set(merged.changed) == {"altText", "focalPoint"}
    image = db.session.get(Image, kept)
    assert image.alt_text == "A red boat" and (image.focal_x, image.focal_y) == (0.2, 0.7)
    assert set(merged.trashed) == {described, other} and all(merged.trashed.values())
    assert db.session.get(File, described).deleted_at is not None
    types = db.session.scalars(select(Event.type).where(Event.workspace_id == tenant.workspace_id)).all()
    assert "image.updated" in types and types.count("file.deleted") == 2
    restored = trash.restore(tenant.workspace_id, described)  # Undo, as for any delete
    assert restored.deleted_at is None


def test_merge_carries_tags_and_collections_of_the_kept_images_project(ctx, tenant):
    kept = make_image(tenant, BASE)
    other = make_image(tenant, BASE)
    shared = organise.create_collection(tenant.workspace_id, tenant.project_id, "Harbour")
    theirs = organise.create_collection(tenant.workspace_id, tenant.project_id, "Boats")
    organise.add_to_collection(tenant.workspace_id, shared.id, ids=[kept, other])
    organise.add_to_collection(tenant.workspace_id, theirs.id, ids=[other])
    organise.change_tags(tenant.workspace_id, ids=[kept], add=["Sea"])
    organise.change_tags(tenant.workspace_id, ids=[other], add=["sea", "Boat"])
    elsewhere = accounts.create_project(tenant.workspace_id, "Elsewhere")
    # A third copy in another project, in that project's collection: the kept image cannot join it.
    foreign_copy = make_image(tenant, BASE)
    db.session.get(File, foreign_copy).project_id = elsewhere.id
    db.session.commit()
    far = organise.create_collection(tenant.workspace_id, elsewhere.id, "Far")
    organise.add_to_collection(tenant.workspace_id, far.id, ids=[foreign_copy])

    merged = duplicates.merge(tenant.workspace_id, kept, [other, foreign_copy])

    assert merged.changed == {"tags": {"added": ["Boat"]}, "collections": {"added": [theirs.id]}}
    tags, collections = labels([kept])[kept]
    assert tags == ["Boat", "Sea"] and sorted(collections) == sorted([shared.id, theirs.id])
    counts = {tag.name: tag.use_count for tag in db.session.scalars(select(Tag))}
    assert counts == {"Sea": 1, "Boat": 1}  # the kept image counts; the merged ones in the trash do not
    sizes = {c.name: c.image_count for c in db.session.scalars(select(Collection))}
    assert sizes == {"Harbour": 1, "Boats": 1, "Far": 0}
    updated = db.session.scalars(
        select(Event.payload).where(Event.type == "image.updated", Event.subject_id == kept)
    ).all()
    assert {"changed": merged.changed} in updated
    trash.restore(tenant.workspace_id, other)  # Undo: the merged image has its own labels back and counts again
    assert labels([other])[other][0] == ["Boat", "Sea"]
    assert db.session.get(Tag, db.session.scalars(select(Tag.id).where(Tag.name == "Boat")).one()).use_count == 2


def test_a_bad_merge_changes_nothing(ctx, tenant, other_tenant):
    kept = make_image(tenant, BASE)
    mine = make_image(tenant, BASE, alt_text="Mine")
    foreign = make_image(other_tenant, BASE)
    for others, code in (([kept], "invalid_merge"), ([], "invalid_merge"), ([mine, foreign], "image_not_found")):
        with pytest.raises(Exception) as refused:
            duplicates.merge(tenant.workspace_id, kept, others)
        assert refused.value.code == code
        db.session.rollback()
    assert db.session.get(File, mine).deleted_at is None
    assert db.session.get(Image, kept).alt_text is None


def jpeg(seed: int) -> bytes:
    rng = random.Random(seed)
    picture = PILImage.new("RGB", (64, 48))
    picture.putdata([tuple(rng.randrange(256) for _ in range(3)) for _ in range(64 * 48)])
    out = io.BytesIO()
    picture.resize((320, 240)).save(out, "JPEG")
    return out.getvalue()


def test_the_backfill_resumes_where_it_stopped(ctx, tenant):
    duplicates.start_backfill(restart=True)
    made = [make_image(tenant, None, data=jpeg(n)) for n in range(5)]
    broken = make_image(tenant, None, data=b"not an image at all")
    first = duplicates.backfill(batches=1, batch=2)  # a run stopped after one batch (as if killed)
    assert first.state == "running" and first.done == 2 and first.after_file_id == made[1]
    assert db.session.get(Image, made[2]).phash is None
    row = duplicates.backfill(batch=2)  # run again: continues after made[1], never walks the first two again
    assert row.state == "done" and row.done == 5 and row.failed == 1
    for file_id, n in zip(made, range(5)):
        expected = placeholder(io.BytesIO(jpeg(n))).phash
        stored = db.session.get(Image, file_id)
        assert stored.phash is not None and duplicates.is_near(stored.phash, expected, 0)
        assert stored.phash_band0 is not None
    assert db.session.get(Image, broken).phash is None


def test_the_backfill_commands_run_and_report_progress(app, cli, tenant):
    import json

    with app.app_context():
        duplicates.start_backfill(restart=True)
        made = [make_image(tenant, None, data=jpeg(10 + n)) for n in range(3)]
        db.session.remove()
    first = cli("duplicates", "backfill", "--batches", "1", "--json")
    assert first.exit_code == 0, first.output
    assert json.loads(first.output)["state"] in ("running", "done")
    done = cli("duplicates", "backfill")
    assert done.exit_code == 0 and done.output.startswith("backfill done: 3 hashed"), done.output
    status = cli("duplicates", "backfill-status", "--json")
    assert json.loads(status.output)["afterFileId"] == made[-1]
    with app.app_context():
        assert all(db.session.get(Image, file_id).phash is not None for file_id in made)
        db.session.remove()
