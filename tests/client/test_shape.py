"""The two clients offer the same calls; the client imports no server machinery."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from pathlib import Path

import bozor
from bozor.client import AsyncBozorClient, BozorClient, calls

ENDPOINTS = [
    "generate_link",
    "track_click",
    "verify_referral",
    "referral_stats",
    "rewards",
    "claim_reward",
]


def public(cls: type) -> set[str]:
    return {name for name in vars(cls) if not name.startswith("_")}


def test_sync_and_async_clients_match_each_other_and_the_calls() -> None:
    assert public(BozorClient) == public(AsyncBozorClient) == {*ENDPOINTS, "close"}
    for name in ENDPOINTS:
        sync = inspect.signature(getattr(BozorClient, name))
        aio = inspect.signature(getattr(AsyncBozorClient, name))
        assert inspect.iscoroutinefunction(getattr(AsyncBozorClient, name))
        assert sync == aio, name
        described = inspect.signature(getattr(calls, name))
        assert list(sync.parameters.values())[1:] == list(described.parameters.values()), name
    assert (
        inspect.signature(BozorClient).parameters.keys()
        == inspect.signature(AsyncBozorClient).parameters.keys()
    )


def test_importing_the_client_leaves_the_server_out() -> None:
    heavy = ["fastapi", "starlette", "sqlalchemy", "aiogram", "alembic", "jwt"]
    code = f"import sys, bozor.client; print([m for m in {heavy!r} if m in sys.modules])"
    env = {**os.environ, "PYTHONPATH": str(Path(bozor.__file__).parents[1])}  # this checkout
    loaded = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert loaded.stdout.strip() == "[]"
