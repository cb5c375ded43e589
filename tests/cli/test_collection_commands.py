"""`aeontel collection …`, `aeontel image tag|tags` and `--collection/--tag` on the list commands, over real HTTP."""

from __future__ import annotations

import json


def test_collections_are_made_filled_listed_and_removed(aeontel_proc, aeontel, images, tenant):
    beach, team, portrait = images[2], images[1], images[0]  # oldest first: Beach-Sunset, team, portrait
    created = json.loads(aeontel("collection", "create", "Holiday", "--project", tenant.project_id, "--json").output)
    collection = created["id"]
    assert aeontel("collection", "create", "HOLIDAY", "--project", tenant.project_id).exit_code == 1
    added = aeontel_proc("collection", "add", collection, beach, team)
    assert added.returncode == 0 and "added 2 image(s)" in added.stdout and "holds 2" in added.stdout, added.stderr
    by_query = aeontel("collection", "add", collection, "--query", '{"q": "portrait"}')
    assert "added 1 image(s)" in by_query.output
    listed = aeontel("collection", "list", "--project", tenant.project_id).output
    assert "Holiday" in listed and collection in listed and " 3 " in listed
    ids = [
        row["fileId"]
        for row in json.loads(aeontel("image", "list", "--collection", collection, "--json").output)["data"]
    ]
    assert ids == [portrait, team, beach]
    assert json.loads(aeontel("image", "facets", "--collection", collection, "--json").output)["total"] == 3
    removed = aeontel("collection", "remove", collection, team)
    assert "removed 1 image(s)" in removed.output and "holds 2" in removed.output
    assert aeontel("collection", "rename", collection, "Summer").output.strip() == f"renamed {collection} to 'Summer'"
    files = json.loads(aeontel("file", "list", "--collection", collection, "--json").output)["data"]
    assert [row["id"] for row in files] == [portrait, beach]
    refused = aeontel_proc("collection", "delete", collection)
    assert refused.returncode == 2 and "--yes" in refused.stderr
    assert aeontel("collection", "delete", collection, "--yes").exit_code == 0
    missing = aeontel_proc("image", "list", "--collection", collection)
    assert missing.returncode == 3 and "collection" in missing.stderr
    usage = aeontel_proc("collection", "add", collection)
    assert usage.returncode == 2 and "--query" in usage.stderr


def test_images_are_tagged_by_id_and_by_query_and_listed_by_tag(aeontel_proc, aeontel, images):
    beach, team, portrait = images[2], images[1], images[0]
    tagged = aeontel_proc("image", "tag", beach, team, "--add", "Summer", "--add", "people")
    assert tagged.returncode == 0 and "changed the tags of 2 image(s)" in tagged.stdout, tagged.stderr
    assert "changed the tags of 1" in aeontel("image", "tag", "--query", '{"q": "portrait"}', "--add", "summer").output
    fields = dict(line.split(": ", 1) for line in aeontel("image", "get", beach).output.splitlines())
    assert fields["tags"] == "people, Summer"
    listed = json.loads(aeontel("image", "list", "--tag", "SUMMER", "--tag", "people", "--json").output)["data"]
    assert [row["fileId"] for row in listed] == [team, beach]
    assert aeontel("image", "tag", team, "--remove", "people").exit_code == 0
    only = json.loads(aeontel("image", "list", "--tag", "people", "--json").output)["data"]
    assert [row["fileId"] for row in only] == [beach]
    # `image facets` takes the list's filters, --tag and --sort too (the sort changes no count)
    counted = json.loads(aeontel("image", "facets", "--tag", "people", "--sort", "-size", "--json").output)
    assert counted["total"] == 1 and counted == json.loads(
        aeontel("image", "facets", "--tag", "people", "--json").output
    )
    suggestions = aeontel("image", "tags", "su").output
    assert "Summer" in suggestions and " 3" in suggestions and "people" not in suggestions
    bad = aeontel_proc("image", "tag", beach, "--add", "a,b")
    assert bad.returncode == 2 and "comma" in bad.stderr
    nothing = aeontel_proc("image", "tag", beach)
    assert nothing.returncode == 2 and "--add" in nothing.stderr
    assert portrait in json.loads(aeontel("file", "list", "--tag", "summer", "--json").output)["data"][0]["id"]
