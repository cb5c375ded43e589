"""The `aeontel` command: admin commands on the database, plus Flask's and Flask-Migrate's own (`db upgrade`)."""

from __future__ import annotations

import getpass
import json
import os
import secrets
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from app.domain import services
from app.domain.errors import DomainError
from app.domain.permissions import ROLES, SCOPES


def _create_app():
    from app import create_app

    return create_app()


def emit_result(as_json: bool, data: dict, text: str) -> None:
    click.echo(json.dumps(data) if as_json else text)


def fail(message: str, code: int = 1):
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def run_domain(name: str, *args, **kwargs):
    """Calls an accounts function inside a transaction; a refusal becomes one clear line on stderr."""
    from app.domain import accounts  # imported here so the API commands start without the database layer
    from app.extensions import db

    func = getattr(accounts, name)
    try:
        result = func(*args, **kwargs)
        db.session.commit()
        return result
    except DomainError as exc:
        db.session.rollback()
        fail(exc.message, 3 if exc.status == 404 else 1)


@click.group(
    cls=FlaskGroup,
    create_app=_create_app,
    add_version_option=False,
    load_dotenv=False,
    help="aeontel Images: admin and developer commands.",
)
def main() -> None:
    pass


@main.group()
def workspace() -> None:
    """Workspaces (tenants)."""


@workspace.command("create")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@with_appcontext
def workspace_create(name: str, as_json: bool) -> None:
    ws = run_domain("create_workspace", name)
    emit_result(as_json, {"workspaceId": ws.id, "name": ws.name}, f"Created workspace {ws.id} ({ws.name})")


@workspace.command("update")
@click.argument("workspace_id")
@click.option(
    "--private-images/--no-private-images",
    default=None,
    help="New uploads get copies that need signed URLs (existing images keep theirs).",
)
@click.option("--keep-gps/--no-keep-gps", default=None, help="New uploads keep GPS location in their stored EXIF.")
@click.option(
    "--trash-days", type=int, default=None, help="Days deleted files stay restorable (0-3650; 0 turns the trash off)."
)
@click.option(
    "--version-copy-days",
    type=int,
    default=None,
    help="Days a replaced image's old version stays delivered (0-365; its original stays in storage).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@with_appcontext
def workspace_update(
    workspace_id: str,
    private_images: bool | None,
    keep_gps: bool | None,
    trash_days: int | None,
    version_copy_days: int | None,
    as_json: bool,
) -> None:
    """Changes a workspace's settings; each change is recorded with who made it (here: `cli:<user>`)."""
    from app.domain import workspace_settings
    from app.domain.errors import DomainError

    changes = {
        name: value
        for name, value in (
            ("private_images", private_images),
            ("keep_gps", keep_gps),
            ("trash_days", trash_days),
            ("version_copy_days", version_copy_days),
        )
        if value is not None
    }
    if not changes:
        fail(
            "nothing to change: give --private-images/--no-private-images, --keep-gps/--no-keep-gps, --trash-days "
            "or --version-copy-days",
            2,
        )
    try:
        recorded = workspace_settings.update(workspace_id, f"cli:{getpass.getuser()}", changes)
        values = workspace_settings.current(workspace_id)
    except DomainError as exc:
        fail(exc.message, 3 if exc.status == 404 else 1)
    changed = [{"field": c.field, "from": c.old_value, "to": c.new_value} for c in recorded]
    text = "\n".join(f"{c['field']}: {c['from']} -> {c['to']}" for c in changed) or "Nothing changed."
    emit_result(as_json, {"workspaceId": workspace_id, "settings": values, "changes": changed}, text)


@workspace.command("crop-presets")
@click.argument("workspace_id")
@click.option(
    "--preset",
    "presets",
    multiple=True,
    metavar="NAME=W:H[@MINWIDTH]",
    help="Replace the list with these presets, in order (repeat it), e.g. --preset hero=16:9@1200.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@with_appcontext
def workspace_crop_presets(workspace_id: str, presets: tuple[str, ...], as_json: bool) -> None:
    """Shows a workspace's crop presets, or replaces them with --preset (recorded like any settings change)."""
    from app.domain import accounts, crops

    try:
        if presets:
            result = crops.update_presets(workspace_id, f"cli:{getpass.getuser()}", list(presets))
        else:
            result = crops.workspace_presets(accounts.get_workspace(workspace_id))
    except DomainError as exc:
        fail(exc.message, 3 if exc.status == 404 else 1)
    emit_result(
        as_json,
        {"workspaceId": workspace_id, "cropPresets": [preset.as_json() for preset in result]},
        "\n".join(f"{p.name}\t{p.ratio}" + (f"\tmin {p.min_width}px" if p.min_width else "") for p in result),
    )


@main.group()
def project() -> None:
    """Projects inside a workspace."""


@project.command("create")
@click.option("--workspace", "workspace_id", required=True)
@click.argument("name")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def project_create(workspace_id: str, name: str, as_json: bool) -> None:
    prj = run_domain("create_project", workspace_id, name)
    emit_result(
        as_json,
        {"projectId": prj.id, "workspaceId": workspace_id, "name": prj.name},
        f"Created project {prj.id} ({prj.name}) in {workspace_id}",
    )


@main.group()
def user() -> None:
    """People who sign in to the gallery."""


@user.command("create")
@click.argument("email")
@click.option("--workspace", "workspace_id", required=True)
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--password", default=None, help="Prompted for on a terminal when left out.")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def user_create(email: str, workspace_id: str, role: str, password: str | None, as_json: bool) -> None:
    generated = False
    if password is None:
        if as_json or not sys.stdin.isatty():
            password, generated = secrets.token_urlsafe(12), True
        else:
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Repeat password: "):
                fail("the passwords differ", 2)
    usr = run_domain("create_user", email, password, workspace_id, role)
    data = {"userId": usr.id, "email": usr.email, "workspaceId": workspace_id, "role": role}
    if generated:
        data["password"] = password
    text = f"Created user {usr.email} ({role} in {workspace_id})" + (f"\npassword: {password}" if generated else "")
    emit_result(as_json, data, text)


@main.group()
def token() -> None:
    """API tokens (only a hash is stored; the secret is printed once)."""


@token.command("create")
@click.option("--workspace", "workspace_id", required=True)
@click.option("--scope", type=click.Choice(SCOPES), required=True)
@click.option("--name", default="")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def token_create(workspace_id: str, scope: str, name: str, as_json: bool) -> None:
    tok, secret = run_domain("create_token", workspace_id, scope, name)
    emit_result(
        as_json,
        {"tokenId": tok.id, "workspaceId": workspace_id, "scope": scope, "token": secret},
        f"Created {scope} token {tok.id} for {workspace_id}\ntoken: {secret}\n(shown once; keep it safe)",
    )


def _backfill_json(row) -> dict:
    return {
        "state": row.state,
        "done": row.done,
        "failed": row.failed,
        "afterFileId": row.after_file_id,
        "startedAt": row.started_at.isoformat(),
        "updatedAt": row.updated_at.isoformat(),
        "finishedAt": row.finished_at.isoformat() if row.finished_at else None,
    }


def _backfill_line(row) -> str:
    return f"backfill {row.state}: {row.done} hashed, {row.failed} could not be read, last {row.after_file_id or '-'}"


@click.command("backfill")
@click.option("--in-worker", is_flag=True, help="Enqueue the job for the worker instead of running it here.")
@click.option("--restart", is_flag=True, help="Walk every image again from the first.")
@click.option("--batches", type=click.IntRange(1), default=None, help="Stop after this many batches of 50.")
@click.option("--json", "as_json", is_flag=True, help="Print the progress as JSON.")
@with_appcontext
def duplicates_backfill(in_worker: bool, restart: bool, batches: int | None, as_json: bool) -> None:
    """Hash images made before perceptual hashes, resuming where a stopped run left off (progress in the database)."""
    from app.domain import duplicates as domain

    if restart:
        domain.start_backfill(restart=True)
    row = domain.enqueue_backfill() if in_worker else domain.backfill(batches)
    emit_result(as_json, _backfill_json(row), ("enqueued; " if in_worker else "") + _backfill_line(row))


@click.command("backfill-status")
@click.option("--json", "as_json", is_flag=True, help="Print the progress as JSON.")
@with_appcontext
def duplicates_status(as_json: bool) -> None:
    """Where the hash backfill stands."""
    from app.domain import duplicates as domain

    row = domain.backfill_progress()
    if row is None:
        emit_result(as_json, {"state": "never run"}, "backfill never run")
        return
    emit_result(as_json, _backfill_json(row), _backfill_line(row))


@main.command("seed-demo")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def seed_demo(as_json: bool) -> None:
    """Creates the demo workspace, project, user and write token once; later runs print the same ones."""
    from app.domain import accounts
    from app.extensions import db

    record = Path(current_app.instance_path) / "demo.json"
    if record.exists():
        data = json.loads(record.read_text())
        if db.session.get(accounts.Workspace, data["workspaceId"]) is not None:
            _print_demo(data, as_json)
            return
    ws = accounts.create_workspace("Demo")
    prj = accounts.create_project(ws.id, "Website")
    password = secrets.token_urlsafe(9)
    usr = accounts.create_user("demo@example.com", password, ws.id, "owner")
    tok, secret = accounts.create_token(ws.id, "write", "demo")
    db.session.commit()
    data = {"workspaceId": ws.id, "projectId": prj.id, "email": usr.email, "password": password, "token": secret}
    record.write_text(json.dumps(data))
    os.chmod(record, 0o600)
    _print_demo(data, as_json)


def _print_demo(data: dict, as_json: bool) -> None:
    emit_result(
        as_json,
        data,
        "\n".join(
            [
                "Demo workspace ready:",
                f"  workspace  {data['workspaceId']}",
                f"  project    {data['projectId']}",
                f"  sign in    {data['email']} / {data['password']}",
                f"  API token  {data['token']}",
                f"  try: curl -H 'Authorization: Bearer {data['token']}' -F project_id={data['projectId']} "
                f"-F file=@photo.jpg {current_app.config['PUBLIC_URL'].rstrip('/')}/api/files",
            ]
        ),
    )


@main.group()
def events() -> None:
    """The event outbox."""


@events.command("relay")
@with_appcontext
def events_relay() -> None:
    """Enqueues committed events that were never dispatched (normally the worker does this every few seconds)."""
    from app.domain.events import relay

    click.echo(f"relayed {relay()} events")


@main.group()
def storage() -> None:
    """The file store."""


@storage.command("init")
@with_appcontext
def storage_init() -> None:
    """Creates the S3/R2 bucket when it does not exist yet (local storage needs nothing)."""
    click.echo(services.storage().init())


@main.command("doctor")
@click.option("--fix", is_flag=True, help="Repair what is safe; without it nothing is changed (dry run).")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def doctor(fix: bool, as_json: bool) -> None:
    """Reconciles the database, storage and the images service; exits 1 while inconsistencies remain."""
    from app.domain import doctor as doctor_

    report = doctor_.run(fix=fix)
    if as_json:
        click.echo(json.dumps(report.as_dict()))
    else:
        checked = ", ".join(f"{count} {name.replace('_', ' ')}" for name, count in report.checked.items())
        click.echo(f"checked {checked}")
        for finding in report.findings:
            verb = "fixed" if finding.fixed else ("would" if fix is False and finding.action else "left")
            click.echo(f"{finding.kind:<19} {finding.subject}  {finding.detail}  [{verb}: {finding.action}]")
        click.echo(
            f"{len(report.findings)} found, {sum(f.fixed for f in report.findings)} fixed"
            + ("" if fix or not report.findings else " (dry run: add --fix to repair)")
        )
    sys.exit(1 if report.unresolved else 0)


@main.command("backfill-facts")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--restart", is_flag=True, help="Forget the recorded progress and start from the first file.")
@click.option("--enqueue", is_flag=True, help="Have the worker run it instead of this process.")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def backfill_facts(batch_size: int, restart: bool, enqueue: bool, as_json: bool) -> None:
    """Extracts the library's facts (camera, lens, date taken, orientation, colour, folded names) of images stored
    before they were extracted at provisioning; stopped at any point, a rerun continues where it stopped."""
    from app.domain import images

    if restart:
        images.restart_backfill()
    if enqueue:
        images.enqueue_backfill()
        emit_result(as_json, {"enqueued": True}, "enqueued on the worker's images queue")
        return
    progress = images.backfill_facts(batch_size=batch_size)
    data = {"done": progress.done, "lastFileId": progress.last_file_id, "finished": progress.finished_at is not None}
    emit_result(as_json, data, f"{progress.done} files done, finished")


@click.command("setup")
@click.option("--check", "check_only", is_flag=True, help="Only report what differs (exit 1 if anything does).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@with_appcontext
def images_setup(check_only: bool, as_json: bool) -> None:
    """Sets up the Images account for the product: flexible variants on, every named variant as the product needs it."""
    from app.adapters.cloudflare import ImagesError
    from app.domain import images_account

    try:
        drift = images_account.run(fix=not check_only)
    except ImagesError as exc:
        fail(f"the images account at {current_app.config['IMAGES_API_BASE']} answered: {exc.message}", 2)
    unresolved = [item for item in drift if not item.fixed]
    if as_json:
        click.echo(
            json.dumps(
                {
                    "check": check_only,
                    "apiBase": current_app.config["IMAGES_API_BASE"],
                    "accountId": current_app.config["IMAGES_ACCOUNT_ID"],
                    "drift": [item.as_dict() for item in drift],
                    "unresolved": len(unresolved),
                }
            )
        )
    else:
        for item in drift:
            verb = "fixed" if item.fixed else ("would" if check_only and item.fixable else "left")
            click.echo(f"{item.kind:<16} {item.subject}  {item.detail}  [{verb}: {item.action}]")
        where = f"account {current_app.config['IMAGES_ACCOUNT_ID']} at {current_app.config['IMAGES_API_BASE']}"
        click.echo(
            f"{where}: "
            + (
                "set up as the product needs"
                if not drift
                else f"{len(drift)} difference(s), {len(drift) - len(unresolved)} fixed"
                + (" (dry run: run without --check to apply)" if check_only else "")
            )
        )
    sys.exit(1 if unresolved else 0)


def _add_images_group() -> None:
    from app.imagesd.cli import images

    images.add_command(images_setup)
    main.add_command(images)


def _add_api_commands() -> None:
    from app.cli.remote import register

    register(main)
    # `aeontel duplicates list|merge` speak to the API; the hash backfill works on the database, so it is added here.
    main.commands["duplicates"].add_command(duplicates_backfill)
    main.commands["duplicates"].add_command(duplicates_status)


_add_images_group()
_add_api_commands()


if __name__ == "__main__":
    main()
