"""Fixtures for the gallery's HTML: members of each role, signed in through the real login form."""

from __future__ import annotations

import pytest
from gallery_web_support import Member, make_user


@pytest.fixture
def editor(app, tenant):
    make_user(app, tenant, "editor@example.com", "editor")
    return Member(app, "editor@example.com", tenant)


@pytest.fixture
def viewer(app, tenant):
    make_user(app, tenant, "viewer@example.com", "viewer")
    return Member(app, "viewer@example.com", tenant)


@pytest.fixture
def outsider(app, other_tenant):
    make_user(app, other_tenant, "outsider@example.com", "owner")
    return Member(app, "outsider@example.com", other_tenant)


@pytest.fixture(autouse=True)
def _storage_reachable(live_server):
    """The images stand-in fetches uploads from this server's signed storage URLs, so it must be listening."""
    return live_server
