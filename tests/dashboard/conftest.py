"""Fixtures of the dashboard's tests."""

from __future__ import annotations

from typing import Any

import pytest

from .helpers import redis_prefix


@pytest.fixture
def store_settings(store: str, request: pytest.FixtureRequest) -> dict[str, Any]:
    """Where sessions and failed sign-ins are kept, for a test parametrised over `store`:
    the database (no settings), or Redis under this test's own prefix."""
    if store == "database":
        return {}
    return {"redis_url": request.getfixturevalue("redis_url"), "redis_prefix": redis_prefix()}
