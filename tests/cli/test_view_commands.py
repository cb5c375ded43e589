"""`aeontel view list|create|show|delete` against the live API: a token's own views, checked by the API."""

from __future__ import annotations

import json


def test_the_view_commands_save_show_and_delete_a_view(aeontel, aeontel_proc, images, tenant, live_server):
    none = aeontel("view", "list")
    assert none.exit_code == 0 and "no saved views" in none.output
    bad = aeontel("view", "create", "Broken", "--project", tenant.project_id, "--query", "sort=biggest")
    assert bad.exit_code == 2 and "invalid_view_query" in bad.output and "sort" in bad.output
    no_project = aeontel("view", "create", "Nowhere")
    assert no_project.exit_code == 2 and "--project" in no_project.output
    made = aeontel(
        "view", "create", "Portraits", "--project", tenant.project_id, "--query", "q=portrait", "--layout", "table"
    )
    assert made.exit_code == 0, made.output
    view_id = made.stdout.strip()
    assert view_id.startswith("viw_") and f"/views/{view_id}" in made.stderr
    listed = aeontel("view", "list", "--project", tenant.project_id)
    assert view_id in listed.output and "Portraits" in listed.output and "q=portrait" in listed.output
    as_json = json.loads(aeontel("view", "list", "--json").output)
    assert [v["id"] for v in as_json["data"]] == [view_id]
    shown = aeontel("view", "show", view_id)
    assert shown.exit_code == 0 and "Portraits  (table)  q=portrait" in shown.output
    assert "1 image(s)" in shown.output and "portrait.jpg" in shown.output and "team.jpg" not in shown.output
    shown_json = json.loads(aeontel("view", "show", view_id, "--json").output)
    assert [i["name"] for i in shown_json["images"]["data"]] == ["portrait.jpg"]
    missing = aeontel("view", "show", "viw_01j0000000000000000000zzzz")
    assert missing.exit_code == 3
    refused = aeontel_proc("view", "delete", view_id)  # no terminal, no --yes
    assert refused.returncode == 2 and "--yes" in refused.stderr
    # Another token of the workspace opens the view but cannot delete it.
    other = aeontel("view", "delete", view_id, "--yes", env={"AEONTEL_TOKEN": tenant.read_token})
    assert other.exit_code == 1 and "view_not_yours" in other.output
    gone = aeontel("view", "delete", view_id, "--yes")
    assert gone.exit_code == 0 and f"deleted {view_id}" in gone.output
    assert aeontel("view", "delete", view_id, "--yes").exit_code == 3
