"""Fixtures for the security tests."""

from __future__ import annotations

import pytest
from security_support import build_world


@pytest.fixture
def world(app):
    return build_world(app)
