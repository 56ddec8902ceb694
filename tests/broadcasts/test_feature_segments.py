"""Segments that features contribute: classifieds' `advertisers` (users with at least one ad,
whatever became of it) is offered only with classifieds on, and reaches each advertiser once."""

from __future__ import annotations

from typing import Any

import pytest

from bozor.broadcasts import service
from bozor.broadcasts.models import Broadcast, BroadcastState
from bozor.classifieds import service as classifieds_service
from bozor.classifieds.schemas import AdDraft
from bozor.features import broadcast_segments
from bozor.settings import Settings
from bozor.testing import Harness, eventually, make_recipients
from bozor.users import service as users_service

TEXT = "New: ads can be bumped"


@pytest.fixture
def bozor_overrides() -> dict[str, Any]:
    return {"broadcast_interval": 0.2, "outbox_chat_interval": 0}


async def submit_ads(bozor: Harness, telegram_id: int, count: int) -> None:
    async with bozor.db() as session:
        user = await users_service.get_by_telegram_id(session=session, telegram_id=telegram_id)
        assert user is not None
        for i in range(count):
            draft = AdDraft(
                category="home",
                title=f"Wooden chair {i}",
                description="Solid oak, a little worn, pick up in Fergana.",
                price=150_000,
                currency="UZS",
                contact_username="seller",
                region="Fergana",
            )
            await classifieds_service.submit(
                session=session, settings=bozor.settings, user=user, draft=draft
            )
        await session.commit()


def test_advertisers_is_offered_only_with_classifieds() -> None:
    assert "advertisers" in broadcast_segments(Settings())
    assert "advertisers" not in broadcast_segments(Settings(features="referrals,shop"))


async def test_advertisers_get_it_once_each(bozor: Harness) -> None:
    members = await make_recipients(bozor, 5)
    await submit_ads(bozor, members[0], 2)  # two ads, one message
    await submit_ads(bozor, members[1], 1)
    async with bozor.db() as session:  # an ad taken back still makes an advertiser
        owner = await users_service.get_by_telegram_id(session=session, telegram_id=members[1])
        assert owner is not None
        ad = (await classifieds_service.my_ads(session=session, user_id=owner.id))[0]
        await classifieds_service.withdraw(session=session, ad_id=ad.id, user=owner)
        await session.commit()
    available = broadcast_segments(bozor.settings)
    async with bozor.db() as session:
        count = await service.count_recipients(
            session=session, available=available, segment="advertisers", params={}
        )
        assert count == 2
        created = await service.create(
            session=session,
            available=available,
            content=service.Content(TEXT),
            segment="advertisers",
        )
        await session.commit()

    async def done() -> bool:
        async with bozor.db() as session:
            found = await session.get(Broadcast, created.id)
            return found is not None and found.state == BroadcastState.DONE

    await eventually(done, timeout=60)

    async def received(chat: int) -> int:
        return sum(1 for m in await bozor.driver.bot_messages(chat) if m.get("text") == TEXT)

    assert [await received(chat) for chat in members] == [1, 1, 0, 0, 0]
