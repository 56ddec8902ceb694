"""The Mini App over HTTP: the running app, signed initData as Telegram makes it."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from bozor.telegram_webapp import sign
from bozor.testing import TEST_BOT_TOKEN, Harness, free_port


@pytest.fixture
def bozor_overrides() -> dict[str, Any]:
    return {"http_port": free_port()}


@pytest.fixture
async def app(bozor: Harness) -> AsyncIterator[httpx.AsyncClient]:
    base = f"http://127.0.0.1:{bozor.settings.http_port}/app"
    async with httpx.AsyncClient(base_url=base) as client:
        yield client


def init_data(
    telegram_id: int,
    *,
    first_name: str = "Tester",
    language_code: str = "en",
    auth_date: int | None = None,
    token: str = TEST_BOT_TOKEN,
) -> str:
    """initData as Telegram signs it for this user."""
    user = {"id": telegram_id, "first_name": first_name, "language_code": language_code}
    return sign(
        token,
        {
            "query_id": "AAHtest",
            "user": user,
            "auth_date": auth_date if auth_date is not None else int(time.time()),
        },
    )


def as_user(telegram_id: int, **kwargs: Any) -> dict[str, str]:
    """The header a Mini App request carries for this user."""
    return {"X-Telegram-Init-Data": init_data(telegram_id, **kwargs)}
