"""`aeontel webhook …`: a workspace's webhook endpoints and their deliveries, through the API like `aeontel image`."""

from __future__ import annotations

import click

from app.cli.remote.common import EXIT_USAGE, api_options, delete_each, fail, human_time, print_json, show
from app.client import Client
from app.event_types import WEBHOOK_EVENTS

EVENT_TYPES = WEBHOOK_EVENTS


@click.group("webhook")
def webhook() -> None:
    """Webhook endpoints: events POSTed to your URL, signed per Standard Webhooks (owners and write tokens)."""


def _events(text: str | None) -> list[str]:
    events = [part.strip() for part in (text or "").split(",") if part.strip()]
    unknown = sorted(set(events) - set(EVENT_TYPES))
    if unknown:
        fail(f"unknown event types {', '.join(unknown)}; choose from {', '.join(EVENT_TYPES)}", EXIT_USAGE)
    return events


def _state(endpoint: dict) -> str:
    return "enabled" if endpoint["enabled"] else f"disabled: {endpoint.get('disabledReason') or 'no reason'}"


@webhook.command("create")
@click.argument("url")
@click.option(
    "--events", metavar="TYPE,...", help=f"Comma-separated event types (default: all of {', '.join(EVENT_TYPES)})."
)
@click.option("--description", help="A note for people.")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON answer (with the secret).")
@api_options
def webhook_create(client: Client, settings, url, events, description, as_json) -> None:
    """Add an endpoint; prints its id and signing secret (keep the secret: receivers verify with it)."""
    made = client.create_webhook(url, _events(events), description)
    if as_json:
        print_json(made)
        return
    click.echo(made["id"])
    click.echo(f"secret: {made['secret']}")
    click.echo(
        f"events: {', '.join(made['events']) or 'all'}; verify with standardwebhooks.Webhook(secret)"
        ".verify(body, headers)",
        err=True,
    )


@webhook.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON list.")
@api_options
def webhook_list(client: Client, settings, as_json) -> None:
    """The workspace's endpoints."""
    show(client.list_webhooks(), as_json, endpoint_lines, None)


def endpoint_lines(endpoints: list[dict]) -> str:
    return "\n".join(
        f"{endpoint['id']}  {endpoint['url']}  {','.join(endpoint['events']) or 'all events'}  {_state(endpoint)}"
        for endpoint in endpoints
    )


@webhook.command("delete")
@click.argument("webhook_ids", nargs=-1, required=True, metavar="WEBHOOK_ID...")
@click.option("--yes", "-y", is_flag=True, help="Do not ask; required when stdin is not a terminal.")
@api_options
def webhook_delete(client: Client, settings, webhook_ids, yes) -> None:
    """Delete endpoints with their delivery log."""
    delete_each(webhook_ids, yes, client.delete_webhook)


@webhook.command("enable")
@click.argument("webhook_id")
@api_options
def webhook_enable(client: Client, settings, webhook_id) -> None:
    """Enable a disabled endpoint; its pending messages are sent at once."""
    click.echo(f"{webhook_id}  {_state(client.update_webhook(webhook_id, enabled=True))}")


@webhook.command("deliveries")
@click.argument("webhook_id")
@click.option("--limit", type=click.IntRange(1, 100), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the JSON list with every attempt.")
@api_options
def webhook_deliveries(client: Client, settings, webhook_id, limit, as_json) -> None:
    """Recent messages, newest first, with their attempts (status or error, duration, the answer's start)."""
    listed = client.webhook_deliveries(webhook_id, limit)
    if as_json:
        print_json(listed)
        return
    for delivery in listed["data"]:
        click.echo(
            f"{delivery['id']}  {delivery['eventType']:<24} {delivery['state']:<9} "
            f"{delivery['attempts']} attempt(s)  {human_time(delivery['createdAt'])}"
        )
        for attempt in delivery.get("attemptLog", [])[:5]:
            outcome = attempt["status"] if attempt["status"] is not None else attempt["error"]
            excerpt = " ".join(attempt["responseExcerpt"].split())[:60]
            click.echo(f"    {human_time(attempt['at'])}  {outcome}  {attempt['durationMs']} ms  {excerpt}")


@webhook.command("redeliver")
@click.argument("webhook_id")
@click.argument("message_id")
@api_options
def webhook_redeliver(client: Client, settings, webhook_id, message_id) -> None:
    """Send a message again now (same webhook-id and body, signed anew)."""
    queued = client.redeliver_webhook(webhook_id, message_id)
    click.echo(f"{queued['id']} queued for redelivery")


@webhook.command("test")
@click.argument("webhook_id")
@api_options
def webhook_test(client: Client, settings, webhook_id) -> None:
    """Send a webhook.test ping."""
    click.echo(f"{client.test_webhook(webhook_id)['id']} queued")


def register(group: click.Group) -> None:
    group.add_command(webhook)
