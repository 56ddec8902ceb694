"""Fixtures of the walkthroughs: Bozor with every feature on, its channels made first."""

from __future__ import annotations

from typing import Any

import pytest
from tests import factories

from bozor.emulator import Emulator
from bozor.testing import ADMIN_ID, Harness

LANGUAGE_ADMINS = {"en": ADMIN_ID, "ru": ADMIN_ID + 1, "uz": ADMIN_ID + 2}


@pytest.fixture
async def channels(emulator: Emulator) -> dict[str, int]:
    """The draws' results channel and the ads channel, the bot an admin of both."""
    return {
        "lottery": await factories.channel(emulator, "Draw results", "draws"),
        "classifieds": await factories.channel(emulator, "Vodiy bozor", "vodiybozor"),
    }


@pytest.fixture
def bozor_overrides(channels: dict[str, int], tmp_path: Any) -> dict[str, Any]:
    return {
        "admin_ids": list(LANGUAGE_ADMINS.values()),
        "lottery_channel": str(channels["lottery"]),
        "classifieds_channel": str(channels["classifieds"]),
        "outbox_chat_interval": 0,
        "media_dir": str(tmp_path / "media"),
        # A walkthrough answers faster than anyone types; throttling is tested in core.
        "throttle_rate": 100.0,
        "throttle_burst": 100,
    }


@pytest.fixture
async def bozor(bozor: Harness) -> Harness:
    """Bozor, with an admin of each language who has started the bot."""
    for language, admin in LANGUAGE_ADMINS.items():
        await bozor.start(
            await bozor.user(f"Admin {language}", user_id=admin, language_code=language)
        )
    return bozor
