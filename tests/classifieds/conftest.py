"""Fixtures of the classifieds tests: the ads channel and a second admin."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from tests import factories

from bozor.classifieds.models import RepostSlot
from bozor.emulator import Emulator
from bozor.testing import ADMIN_ID, Harness, eventually

SECOND_ADMIN = ADMIN_ID + 1


@pytest.fixture
async def channel(emulator: Emulator) -> int:
    """The ads channel, the bot its admin (made before Bozor starts)."""
    return await factories.channel(emulator, "Vodiy bozor", "vodiybozor")


@pytest.fixture
def bozor_overrides(channel: int, tmp_path: Any) -> dict[str, Any]:
    return {
        "classifieds_channel": str(channel),
        "admin_ids": [ADMIN_ID, SECOND_ADMIN],
        "outbox_chat_interval": 0,
        "classifieds_job_interval": 3600,  # the tests drive the jobs with their own clock
        "media_dir": str(tmp_path / "media"),
        "classifieds_banned_words": ["weapon"],
        # The tests answer the dialogue faster than anyone types; throttling is tested in core.
        "throttle_rate": 100.0,
        "throttle_burst": 100,
    }


@pytest.fixture
async def bozor(bozor: Harness) -> Harness:
    """Bozor, once its own classifieds sweep has run: it runs at start (then hourly), and
    would otherwise take the real clock's repost slot in the middle of a test, reposting an
    ad the test has just published."""

    async def swept() -> bool:
        async with bozor.db() as session:
            return bool(await session.scalar(select(func.count()).select_from(RepostSlot)))

    await eventually(swept)
    return bozor
