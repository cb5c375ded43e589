"""The `aeontel` command: `admin` holds the commands that work on the database (workspaces, tokens, doctor, the Images
account setup), `remote` those that act through the API like any client."""

from app.cli.admin import main

__all__ = ["main"]
