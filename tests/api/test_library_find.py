"""The library's facts and facets (issue 22): EXIF facts as filters in every list, the accent-blind search, facet
counts of the current result, counts from the tally table, and the resumable backfill of facts."""

from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

LIST, FILES, FACETS = "/api/images", "/api/files", "/api/images/facets"


def ids(client, auth, url=LIST, **query):
    answer = client.get(f"{url}?{urlencode(query)}", headers=auth)
    assert answer.status_code == 200, answer.json
    return sorted(item.get("fileId") or item["id"] for item in answer.json["data"])


def test_the_exif_facts_are_columns_and_filters(client, gallery, conforms):
    auth = gallery.a.auth("read")
    images = {item["fileId"]: item for item in client.get(f"{LIST}?limit=100", headers=auth).json["data"]}
    beach = images[gallery.a_ids[0]]
    assert beach["cameraMake"] == "Canon" and beach["cameraModel"] == "Canon EOS 40D"
    assert beach["takenAt"].startswith("2008-05-30") and beach["orientation"] == "landscape"
    assert images[gallery.a_ids[3]]["orientation"] == "portrait"
    canon = sorted([gallery.a_ids[0], gallery.a_ids[2]])
    assert ids(client, auth, camera="Canon EOS 40D") == canon
    assert ids(client, auth, FILES, camera="Canon EOS 40D") == canon  # the files list takes the same filters
    assert ids(client, auth, camera_make="Canon", orientation="landscape") == canon  # combinations AND
    assert ids(client, auth, camera="Canon EOS 40D", orientation="portrait") == []
    assert ids(client, auth, taken_before="2009-01-01", camera_make="NIKON CORPORATION") == sorted(
        item for item in gallery.a_all if images[item].get("cameraMake") == "NIKON CORPORATION"
    )
    assert ids(client, auth, orientation="portrait") == [gallery.a_ids[3]]
    assert ids(client, auth, source="master") == [] and ids(client, auth, source="original") == sorted(gallery.a_all)
    colour = images[gallery.a_ids[0]]["colour"]
    assert gallery.a_ids[0] in ids(client, auth, colour=colour)
    widest = max(item["width"] for item in images.values())
    assert ids(client, auth, min_width=widest) == sorted(i for i in images if images[i]["width"] == widest)
    smallest = min(item["size"] for item in images.values())
    assert ids(client, auth, max_size=smallest) == sorted(i for i in images if images[i]["size"] == smallest)


@pytest.mark.parametrize("common", [False, True], ids=["from the indexes", "while walking the sort"])
def test_the_search_ignores_case_and_accents_in_names_and_alt_text(client, gallery, monkeypatch, common):
    from app.domain import queries

    # PostgreSQL answers a rare word from the trigram indexes and a common one while walking the sort's index: both
    # ways find the same images (SQLite has one way).
    monkeypatch.setattr(queries, "SEARCH_INDEX_AT_MOST", -1 if common else 10**9)
    write, auth = gallery.a.auth("write"), gallery.a.auth("read")
    client.patch(f"{LIST}/{gallery.a_ids[1]}", json={"name": "Élodie à la Plage.jpg"}, headers=write)
    client.patch(f"{LIST}/{gallery.a_ids[3]}", json={"altText": "Café crème on a table"}, headers=write)
    assert ids(client, auth, q="elodie") == [gallery.a_ids[1]]
    assert ids(client, auth, q="ÉLODIE À") == [gallery.a_ids[1]]
    assert ids(client, auth, q="la") == [gallery.a_ids[1]]  # shorter than a trigram
    assert ids(client, auth, q="CAFE CREME") == [gallery.a_ids[3]]
    assert ids(client, auth, FILES, q="cafe") == [gallery.a_ids[3]]
    assert ids(client, auth, q="100%") == [] and ids(client, auth, q='"x"') == []


def test_facet_counts_of_the_current_result(client, gallery, conforms):
    auth = gallery.a.auth("read")
    answer = conforms(client.get(f"{FACETS}?project_id={gallery.a.project_id}", headers=auth), FACETS, "GET")
    assert answer["total"] == 4 and answer["exact"] is True
    assert answer["facets"]["camera"][0] == {"value": "Canon EOS 40D", "count": 2}
    assert {v["value"]: v["count"] for v in answer["facets"]["orientation"]} == {"landscape": 3, "portrait": 1}
    assert answer["facets"]["hasAltText"] == [{"value": "false", "count": 4}]
    narrowed = client.get(f"{FACETS}?camera=Canon+EOS+40D", headers=auth).json
    assert narrowed["total"] == 2 and narrowed["facets"]["camera"] == [{"value": "Canon EOS 40D", "count": 2}]
    assert client.get(f"{FACETS}?limit=3", headers=auth).json["code"] == "invalid_parameter"
    other = client.get(f"{FACETS}?project_id={gallery.a_second_project}", headers=gallery.b.auth("read"))
    assert other.status_code == 404


@pytest.mark.parametrize(
    "query, code",
    [
        ("orientation=sideways", "invalid_parameter"),
        ("colour=mauve", "invalid_parameter"),
        ("min_width=-1", "invalid_parameter"),
        ("min_width=200&max_width=100", "invalid_range"),
        ("taken_after=2024-01-02&taken_before=2024-01-01", "invalid_range"),
        ("min_size=nine", "invalid_parameter"),
        ("camera=" + "x" * 129, "invalid_parameter"),
        ("lense=Canon", "invalid_parameter"),
    ],
)
def test_bad_filters_are_refused_naming_them(client, tenant, query, code):
    for url in (LIST, FILES, FACETS):
        answer = client.get(f"{url}?{query}", headers=tenant.auth("read"))
        assert answer.status_code == 400 and answer.json["code"] == code, (url, answer.json)


SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
BOUND = st.one_of(st.none(), st.integers(0, 5000))


@SETTINGS
@given(min_width=BOUND, max_width=BOUND, min_height=BOUND, max_height=BOUND)
def test_pixel_ranges_keep_exactly_the_images_inside(client, gallery, min_width, max_width, min_height, max_height):
    auth = gallery.a.auth("read")
    images = client.get(f"{LIST}?limit=100", headers=auth).json["data"]
    bounds = {"min_width": min_width, "max_width": max_width, "min_height": min_height, "max_height": max_height}
    query = {name: value for name, value in bounds.items() if value is not None}
    answer = client.get(f"{LIST}?{urlencode(query)}", headers=auth)
    if (min_width or 0) > (max_width if max_width is not None else 2**31) or (min_height or 0) > (
        max_height if max_height is not None else 2**31
    ):
        assert answer.status_code == 400 and answer.json["code"] == "invalid_range"
        return
    expected = sorted(
        item["fileId"]
        for item in images
        if (min_width is None or item["width"] >= min_width)
        and (max_width is None or item["width"] <= max_width)
        and (min_height is None or item["height"] >= min_height)
        and (max_height is None or item["height"] <= max_height)
    )
    assert sorted(item["fileId"] for item in answer.json["data"]) == expected


@SETTINGS
@given(after=st.datetimes(), before=st.datetimes(), low=BOUND, high=st.one_of(st.none(), st.integers(0, 10**7)))
def test_date_and_size_ranges_keep_exactly_the_images_inside(client, gallery, after, before, low, high):
    from datetime import UTC, datetime

    auth = gallery.a.auth("read")
    images = client.get(f"{LIST}?limit=100", headers=auth).json["data"]
    query = {"taken_after": after.isoformat(), "taken_before": before.isoformat(), "min_size": low}
    query |= {"max_size": high} if high is not None else {}
    answer = client.get(f"{LIST}?{urlencode({k: v for k, v in query.items() if v is not None})}", headers=auth)
    after_, before_ = after.replace(tzinfo=UTC), before.replace(tzinfo=UTC)
    if not (1970 <= after.year <= 9998 and 1970 <= before.year <= 9998):
        assert answer.status_code == 400
        return
    if after_ > before_ or (low is not None and high is not None and low > high):
        assert answer.status_code == 400 and answer.json["code"] == "invalid_range"
        return

    def taken(item):
        return datetime.fromisoformat(item["takenAt"].replace("Z", "+00:00"))

    expected = sorted(
        item["fileId"]
        for item in images
        if after_ < taken(item) < before_
        and (low is None or item["size"] >= low)
        and (high is None or item["size"] <= high)
    )
    assert sorted(item["fileId"] for item in answer.json["data"]) == expected


def tallied_and_scanned(app, workspace_id, project_id):
    """Every view the tally table answers, counted from it and by a scan of the rows."""
    from app.domain import queries

    views = [
        {"subject": "images"},
        {},
        {"is_image": True},
        {"is_image": False},
        {"image_state": "ready"},
        {"image_state": "failed"},
        {"status": "ready"},
        {"status": "error", "is_image": True},
        {"scope": "trash"},
        {"scope": "trash", "subject": "images"},
    ]
    with app.app_context():
        for view in views:
            query = queries.parse(view, workspace_id=workspace_id, project_id=project_id, count=True)
            yield view, queries._from_tally(query, None), queries._by_scan(query, None)


def test_the_tally_table_counts_what_a_scan_counts_through_every_change(app, client, gallery, live_server, corpus):
    from app.domain import queries
    from tests.api.conftest import upload_image

    write = gallery.a.auth("write")
    project = gallery.a.project_id

    def agree():
        for view, tallied, scanned in tallied_and_scanned(app, gallery.a.workspace_id, project):
            assert tallied == scanned, view

    agree()
    client.delete(f"{LIST}/{gallery.a_ids[0]}", headers=write)  # to the trash
    client.delete(f"{FILES}/{gallery.a_ids[1]}?permanent=true", headers=write)
    agree()
    assert client.post(f"{FILES}/{gallery.a_ids[0]}/restore", headers=write).status_code == 200
    upload_image(live_server, gallery.a, corpus, "Canon_40D.jpg", "not-yet.jpg")  # processing: no image row yet
    agree()
    with app.app_context():
        counted = queries.tallies(gallery.a.workspace_id, project)
        assert (counted.images, counted.files, counted.trashed) == (4, 0, 0)


def test_a_count_with_only_tallied_filters_never_scans(app, gallery):
    from app.domain import queries

    with app.app_context():
        query = queries.parse(
            {}, workspace_id=gallery.a.workspace_id, project_id=gallery.a.project_id, subject="images"
        )
        assert queries._from_tally(query, None) == 4
        searched = query.model_copy(update={"q": "sun"})
        assert queries._from_tally(searched, None) is None and queries.count(searched) == 2


def _forget_facts(app):
    from sqlalchemy import text

    from app.extensions import db

    with app.app_context():
        db.session.execute(
            text(
                "UPDATE image SET camera_make = NULL, camera_model = NULL, lens = NULL, taken_at = NULL, "
                "orientation = NULL, colour = NULL"
            )
        )
        db.session.execute(text("UPDATE file SET name_folded = lower(name)"))
        db.session.commit()


def _facts_missing(app) -> int:
    from sqlalchemy import func, select

    from app.domain.images import Image
    from app.extensions import db

    with app.app_context():
        return db.session.scalar(select(func.count()).where(Image.orientation.is_(None)))


def test_the_backfill_stops_anywhere_and_continues_where_it_stopped(app, client, gallery, cli):
    from app.domain import images
    from app.extensions import db

    client.patch(f"{LIST}/{gallery.a_ids[2]}", json={"name": "Sœur Thérèse.jpg"}, headers=gallery.a.auth("write"))
    _forget_facts(app)
    assert _facts_missing(app) == 7
    with app.app_context():
        stopped = images.backfill_facts(batch_size=2, max_batches=2)  # as if killed after its second commit
        assert stopped.done == 4 and stopped.finished_at is None
        first_four = stopped.last_file_id
    assert 0 < _facts_missing(app) < 7
    answer = cli("backfill-facts", "--json")
    assert answer.exit_code == 0, answer.output
    assert answer.output.strip().endswith('"finished": true}')
    with app.app_context():
        progress = db.session.get(images.FactsBackfill, images.BACKFILL)
        assert progress.done == 7 and progress.last_file_id > first_four  # it went on from the fifth file
    assert _facts_missing(app) == 0
    assert ids(client, gallery.a.auth("read"), q="soeur therese") == [gallery.a_ids[2]]
    assert ids(client, gallery.a.auth("read"), camera="Canon EOS 40D") == sorted([gallery.a_ids[0], gallery.a_ids[2]])


def test_the_worker_runs_the_backfill_from_its_progress_row(app, gallery, cli, run_jobs):
    from app.domain import images
    from app.extensions import db

    _forget_facts(app)
    assert cli("backfill-facts", "--enqueue").exit_code == 0
    run_jobs()
    assert _facts_missing(app) == 0
    with app.app_context():
        assert db.session.get(images.FactsBackfill, images.BACKFILL).finished_at is not None
    assert cli("backfill-facts", "--restart", "--json").output.strip().startswith('{"done": 7')


def test_the_gallery_shows_the_facets_and_keeps_each_filter_in_the_url(app, gallery):
    import html
    import re

    from tests.web.gallery_web_support import Member, make_user

    make_user(app, gallery.a, "viewer@example.com", "viewer")
    member = Member(app, "viewer@example.com", gallery.a)
    page = member.client.get(member.gallery_url).text
    # The page asks for its filter bar once shown (htmx); without JavaScript the bar is a page of its own.
    facets_url = html.unescape(re.search(r'<nav id="facets"[^>]*hx-get="([^"]+)"', page).group(1))
    bar = member.client.get(facets_url, headers=member.htmx())
    assert "<html" not in bar.text and 'Canon EOS 40D <span class="muted">(2)</span>' in bar.text
    alone = member.client.get(facets_url).text
    assert (
        "<html" in alone and 'Canon EOS 40D <span class="muted">(2)</span>' in alone and "Back to the images" in alone
    )
    link = html.unescape(re.search(r'<a href="([^"]+camera=Canon[^"]+)"', bar.text).group(1))
    assert "camera=Canon+EOS+40D" in link
    narrowed = member.client.get(link).text
    tiles = re.findall(r'<li id="tile-(fil_[0-9a-z]+)"', narrowed)
    assert sorted(tiles) == sorted([gallery.a_ids[0], gallery.a_ids[2]])
    assert 'name="camera" value="Canon EOS 40D"' in narrowed  # kept in forms
    narrowed_url = html.unescape(re.search(r'<nav id="facets"[^>]*hx-get="([^"]+)"', narrowed).group(1))
    assert "camera=Canon+EOS+40D" in narrowed_url
    assert 'class="facet-clear"' in member.client.get(narrowed_url, headers=member.htmx()).text
    fragment = member.client.get(link, headers=member.htmx())
    assert "<html" not in fragment.text and 'id="facets"' in fragment.text
    refused = member.client.get(f"{member.gallery_url}?orientation=sideways")
    assert refused.status_code == 400 and "orientation" in refused.text


def test_a_large_filtered_count_is_the_planners_estimate_on_postgresql(app, client, gallery, monkeypatch):
    from app.domain import queries

    auth = gallery.a.auth("read")
    monkeypatch.setattr(queries, "ESTIMATE_ABOVE", -1)  # every filtered view counts as large
    processing = client.get(f"{FILES}?count=true&image_state=processing&min_size=1", headers=auth)  # an IN (…)
    assert processing.status_code == 200, processing.json
    answer = client.get(f"{LIST}?count=true&orientation=landscape&project_id={gallery.a.project_id}", headers=auth)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        assert answer.json["total_estimated"] is True and answer.json["total"] >= 0
    else:  # SQLite has no planner estimate: it counts
        assert answer.json["total"] == 3 and "total_estimated" not in answer.json
    tallied = client.get(f"{LIST}?count=true&project_id={gallery.a.project_id}", headers=auth).json
    assert tallied["total"] == 4 and "total_estimated" not in tallied  # the tally answers before any estimate


def test_an_exact_count_is_capped_and_the_gallery_confirms_an_estimate_exactly(app, client, gallery, monkeypatch):
    """Below the estimate, PostgreSQL counts at most COUNT_AT_MOST matches; the gallery marks an estimated total and
    counts the view exactly when "all that match" is ticked (the number confirmed is the number acted on)."""
    import html
    import re

    from app.domain import queries
    from tests.web.gallery_web_support import Member, make_user

    postgres = app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")
    auth = gallery.a.auth("read")
    make_user(app, gallery.a, "viewer@example.com", "viewer")
    member = Member(app, "viewer@example.com", gallery.a)
    monkeypatch.setattr(queries, "COUNT_AT_MOST", 2)  # three landscape images: more than an exact count may read
    capped = client.get(f"{LIST}?count=true&orientation=landscape&project_id={gallery.a.project_id}", headers=auth)
    shown = member.client.get(f"{member.gallery_url}?orientation=landscape").text
    if postgres:
        assert capped.json["total"] == 2 and capped.json["total_estimated"] is True
        assert '<span id="matching-about">more than </span><span id="matching-count">2</span>' in shown
    else:  # SQLite counts every match
        assert capped.json["total"] == 3 and "total_estimated" not in capped.json
        assert '<span id="matching-about"></span><span id="matching-count">3</span>' in shown
    monkeypatch.setattr(queries, "COUNT_AT_MOST", 1_000)
    monkeypatch.setattr(queries, "ESTIMATE_ABOVE", -1)  # every filtered view counts as large
    page = member.client.get(f"{member.gallery_url}?orientation=landscape").text
    grid = re.search(r'<section id="grid"[^>]*>', page).group(0)
    counts_url = html.unescape(re.search(r'data-counts-url="([^"]+)"', grid).group(1))
    assert ('data-estimated="true"' in grid) == postgres
    exact = member.client.get(f"{counts_url}&exact=true", headers=member.htmx()).text
    assert 'data-matching="3"' in exact and 'data-estimated=""' in exact


def test_a_backfill_killed_by_a_signal_continues_where_it_stopped(app, tenant, base_settings):
    """A real `aeontel backfill-facts` process is killed (SIGKILL) once it has committed a batch; the rerun goes on
    from its progress row, so every file is counted exactly once over both runs, wherever the kill landed."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    from sqlalchemy import text

    from app.domain import images
    from app.extensions import db
    from tests.services import deadline_for

    with app.app_context():
        db.session.execute(
            text(
                "INSERT INTO file (id, workspace_id, project_id, name, mime_type, size, sha256, storage_key, status, "
                "created_at, updated_at, taken_at) SELECT 'fil_kill' || substr('00000' || n, -5), :ws, :prj, 'Élan-' || n || "
                "'.txt', 'text/plain', n, 'x', 'k', 'ready', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP "
                "FROM (WITH RECURSIVE "
                "c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 1500) SELECT n FROM c) AS numbers"
            ),
            {"ws": tenant.workspace_id, "prj": tenant.project_id},
        )
        db.session.commit()
    env = {**os.environ, **{key.upper(): str(value) for key, value in base_settings.items() if key.islower()}}
    env["AEONTEL_INSTANCE_DIR"] = env.pop("INSTANCE_DIR")
    aeontel = Path(sys.executable).with_name("aeontel")
    process = subprocess.Popen([str(aeontel), "backfill-facts", "--batch-size", "1"], env=env)
    deadline = time.monotonic() + deadline_for(app.config, 0) + 60
    try:
        while True:  # until it has committed at least one batch (or finished)
            with app.app_context():
                progress = db.session.get(images.FactsBackfill, images.BACKFILL)
                done = progress.done if progress else 0
                db.session.remove()
            if done or process.poll() is not None:
                break
            assert time.monotonic() < deadline, "the backfill committed nothing"
            time.sleep(0.05)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    with app.app_context():
        finished = images.backfill_facts(batch_size=100)
        assert finished.done == 1500 and finished.finished_at is not None  # no file counted twice, none skipped
        left = db.session.execute(text("SELECT count(*) FROM file WHERE name_folded <> lower(replace(name, 'É', 'e'))"))
        assert left.scalar() == 0
