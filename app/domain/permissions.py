"""Roles and scopes: plain constants, importable without the database layer (the CLI starts fast)."""

ROLES = ("owner", "editor", "viewer")
SCOPES = ("read", "write")
