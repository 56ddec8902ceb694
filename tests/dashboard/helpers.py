"""Helpers of the dashboard's tests."""

from __future__ import annotations

import uuid


def redis_prefix() -> str:
    """Redis keys of this test only (other tests share the Redis database)."""
    return f"t{uuid.uuid4().hex[:12]}"
