"""The commands that act through the JSON API (`app.client`), never on the database: an import-linter contract keeps
them from importing the domain."""

from __future__ import annotations

import click

from app.cli.remote import versions  # noqa: F401 - `file replace`, `file versions` join the file group
from app.cli.remote.collections import collection
from app.cli.remote.duplicates import duplicates_group, image_similar
from app.cli.remote.files import file_group, trash_group, upload_url_group
from app.cli.remote.images import image
from app.cli.remote.session import login, mcp_command
from app.cli.remote.views import view
from app.cli.remote.webhooks import register as register_webhooks


def register(group: click.Group) -> None:
    """Adds every remote command to the `aeontel` group."""
    image.add_command(image_similar)
    for command in (
        image,
        collection,
        file_group,
        upload_url_group,
        trash_group,
        duplicates_group,
        view,
        login,
        mcp_command,
    ):
        group.add_command(command)
    register_webhooks(group)
