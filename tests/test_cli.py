import json

import pytest

from app.domain.accounts import ApiToken, Membership, User, authenticate_token
from app.extensions import db


@pytest.fixture
def aeontel(cli):
    return cli


def test_admin_commands_create_what_they_say(aeontel, app):
    ws = json.loads(aeontel("workspace", "create", "Acme Corp", "--json").output)
    assert ws["name"] == "Acme Corp" and ws["workspaceId"].startswith("ws_")
    prj = json.loads(aeontel("project", "create", "--workspace", ws["workspaceId"], "Website", "--json").output)
    assert prj["workspaceId"] == ws["workspaceId"] and prj["projectId"].startswith("prj_")
    usr = json.loads(
        aeontel(
            "user", "create", "Ed@Example.com", "--workspace", ws["workspaceId"], "--role", "editor", "--json"
        ).output
    )
    assert usr["email"] == "ed@example.com" and len(usr["password"]) >= 12
    tok = json.loads(aeontel("token", "create", "--workspace", ws["workspaceId"], "--scope", "read", "--json").output)
    assert tok["token"].startswith("aet_") and tok["scope"] == "read"
    with app.app_context():
        user = db.session.get(User, usr["userId"])
        assert user.check_password(usr["password"]) and usr["password"] not in user.password_hash
        assert db.session.get(Membership, (user.id, ws["workspaceId"])).role == "editor"
        found = authenticate_token(tok["token"])
        assert found.workspace_id == ws["workspaceId"]
        assert tok["token"] not in {t.token_hash for t in db.session.query(ApiToken)}


def test_text_output_and_given_password(aeontel, app):
    ws = json.loads(aeontel("workspace", "create", "Plain", "--json").output)["workspaceId"]
    result = aeontel(
        "user", "create", "v@example.com", "--workspace", ws, "--role", "viewer", "--password", "longenough"
    )
    assert result.exit_code == 0 and "Created user v@example.com (viewer" in result.output
    assert "password:" not in result.output
    token = aeontel("token", "create", "--workspace", ws, "--scope", "write")
    assert "shown once" in token.output and "token: aet_" in token.output


def test_refusals_are_one_clear_line_with_an_exit_code(aeontel):
    missing = aeontel("project", "create", "--workspace", "ws_nope", "X")
    assert missing.exit_code == 3 and "error: No workspace 'ws_nope'." in missing.output
    ws = json.loads(aeontel("workspace", "create", "W", "--json").output)["workspaceId"]
    weak = aeontel("user", "create", "a@b.c", "--workspace", ws, "--role", "owner", "--password", "short")
    assert weak.exit_code == 1 and "at least 8 characters" in weak.output
    bad_role = aeontel("user", "create", "a@b.c", "--workspace", ws, "--role", "king")
    assert bad_role.exit_code == 2
    empty = aeontel("workspace", "create", "   ")
    assert empty.exit_code == 1 and "1 to 200 characters" in empty.output


def test_seed_demo_is_idempotent(aeontel, app):
    first = aeontel("seed-demo", "--json")
    assert first.exit_code == 0, first.output
    data = json.loads(first.output)
    assert data["token"].startswith("aet_") and data["email"] == "demo@example.com"
    assert json.loads(aeontel("seed-demo", "--json").output) == data
    with app.app_context():
        assert authenticate_token(data["token"]).workspace_id == data["workspaceId"]
        assert db.session.get(
            User, db.session.query(User.id).filter_by(email="demo@example.com").scalar()
        ).check_password(data["password"])


def test_storage_init_says_what_is_ready(aeontel, app):
    result = aeontel("storage", "init")
    assert result.exit_code == 0
    assert result.output.strip() == f"local storage at {app.extensions['storage'].root} is ready"


def test_seed_demo_banner_points_at_the_real_public_url(aeontel):
    """`make dev` prints this curl line: it must name the address the web app was started on, not port 5000."""
    moved = aeontel("seed-demo", extra_env={"PORT": "5123", "PUBLIC_URL": "http://127.0.0.1:5123"})
    assert moved.exit_code == 0, moved.output
    assert "http://127.0.0.1:5123/api/files" in moved.output and ":5000" not in moved.output
    elsewhere = aeontel(
        "seed-demo",
        extra_env={
            "PUBLIC_URL": "https://images.example.test/",
            "SECRET_KEY": "a-production-key-long-enough-for-the-check-0123456789",
        },
    )
    assert "-F file=@photo.jpg https://images.example.test/api/files" in elsewhere.output


def test_workspace_crop_presets_shows_and_replaces(aeontel, tenant):
    """`aeontel workspace crop-presets` lists the defaults and replaces the list, refusing a bad one whole."""
    listed = aeontel("workspace", "crop-presets", tenant.workspace_id)
    assert listed.exit_code == 0 and listed.output.split("\n")[:3] == ["hero\t16:9", "card\t1:1", "social\t1.91:1"]
    replaced = aeontel(
        "workspace", "crop-presets", tenant.workspace_id, "--preset", "hero=21:9@1200", "--preset", "card=1:1", "--json"
    )
    assert json.loads(replaced.output)["cropPresets"] == [
        {"name": "hero", "ratio": "21:9", "minWidth": 1200},
        {"name": "card", "ratio": "1:1", "minWidth": None},
    ]
    refused = aeontel("workspace", "crop-presets", tenant.workspace_id, "--preset", "Bad Name=1:1")
    assert refused.exit_code == 1 and "lowercase" in refused.output
    assert aeontel("workspace", "crop-presets", tenant.workspace_id).output.startswith("hero\t21:9\tmin 1200px\n")
