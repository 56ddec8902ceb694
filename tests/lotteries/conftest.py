"""Fixtures of the lottery tests: the results channel."""

from __future__ import annotations

import pytest
from tests import factories

from bozor.emulator import Emulator


@pytest.fixture
async def channel(emulator: Emulator) -> int:
    """The results channel, the bot its admin (made before Bozor starts, which reads its id)."""
    return await factories.channel(emulator, "Draw results", "draws")
