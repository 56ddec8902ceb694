"""Saved searches end to end: an admin approves an ad, the matching subscribers get one alert
through the outbox (not the seller, not the others), and one tap unsubscribes."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select

from bozor.classifieds import saved_searches, service
from bozor.classifieds.saved_searches import SEARCH_ALERT
from bozor.classifieds.schemas import AdDraft
from bozor.classifieds.search import AdFilters
from bozor.classifieds.search_models import AdAlert, SavedSearch
from bozor.classifieds.settings import ClassifiedsSettings
from bozor.errors import DomainError
from bozor.outbox.models import OutboxMessage
from bozor.testing import ADMIN_ID, Harness, eventually
from bozor.users import service as users_service

from .conftest import SECOND_ADMIN
from .helpers import post_ad, press, review_message

APP = "https://bozor.example/app/"


@pytest.fixture
def bozor_overrides(bozor_overrides: dict[str, Any]) -> dict[str, Any]:
    return {**bozor_overrides, "miniapp_url": APP}  # alerts open the ad in the Mini App too


async def _save(bozor: Harness, telegram_id: int, **filters: Any) -> int:
    async with bozor.db() as session:
        user = await users_service.get_by_telegram_id(session=session, telegram_id=telegram_id)
        assert user is not None
        saved = await saved_searches.create(
            session=session,
            user_id=user.id,
            filters=AdFilters(**filters),
            limit=ClassifiedsSettings.of(bozor.settings).saved_searches,
        )
        await session.commit()
        return saved.id


async def _alerts(bozor: Harness, chat_id: int) -> list[dict[str, Any]]:
    return [m for m in await bozor.driver.bot_messages(chat_id) if "🔔" in str(m.get("text"))]


async def _queued_alerts(bozor: Harness) -> int:
    async with bozor.db() as session:
        return int(
            await session.scalar(select(func.count()).where(OutboxMessage.kind == SEARCH_ALERT))
            or 0
        )


async def test_approval_alerts_matching_subscribers_once_and_one_tap_unsubscribes(
    bozor: Harness, channel: int
) -> None:
    await bozor.start(await bozor.user("Admin", user_id=ADMIN_ID))
    await bozor.start(await bozor.user("Admin 2", user_id=SECOND_ADMIN))
    alice = await bozor.user("Alice", username="alice")  # the seller
    bob = await bozor.user("Bob", language_code="ru")  # wants an iPhone in Fergana
    carol = await bozor.user("Carol")  # wants furniture
    for person in (alice, bob, carol):
        await bozor.start(person)
    bob_search = await _save(bozor, bob, category="electronics", text="iphone", region="Фергана")
    await _save(bozor, bob, text="128")  # also matches: still one message for Bob
    await _save(bozor, carol, category="home")
    await _save(bozor, alice, text="iphone")  # the seller's own search

    ad_id = await post_ad(bozor, alice)
    review = await review_message(bozor, ADMIN_ID, ad_id)
    assert "Approved" in await press(bozor, ADMIN_ID, review, f"ad:ok:{ad_id}:1")

    alert = await bozor.driver.wait_for_message(bob, contains="🔔", timeout=15)
    assert "iPhone 12, 128 GB" in alert["text"] and "7 500 000 UZS" in alert["text"]
    assert "Новое объявление" in alert["text"]  # in Bob's language
    buttons = [b for row in alert["reply_markup"]["inline_keyboard"] for b in row]
    assert any(b.get("url", "").startswith("https://t.me/vodiybozor/") for b in buttons) or any(
        b.get("callback_data") == f"ad:v:{ad_id}" for b in buttons
    )
    assert {b.get("callback_data") for b in buttons} >= {f"ss:off:{bob_search}", f"ad:v:{ad_id}"}
    apps = [b for b in buttons if "web_app" in b]
    assert apps == [
        {"text": "📱 Открыть приложение", "web_app": {"url": f"{APP}classifieds/ad/{ad_id}"}}
    ]

    # the owner is told their ad is published; by then every alert is queued with it
    await bozor.driver.wait_for_message(alice, contains="published in the channel", timeout=15)
    assert await _queued_alerts(bozor) == 1
    assert await _alerts(bozor, alice) == [] and await _alerts(bozor, carol) == []

    # one tap: the search is gone, the button leaves the message, the toast says so
    answer = await press(bozor, bob, alert, f"ss:off:{bob_search}")
    assert "больше не будет" in answer
    async with bozor.db() as session:
        assert await session.get(SavedSearch, bob_search) is None

    async def button_gone() -> bool:
        edited = next(
            m
            for m in await bozor.driver.bot_messages(bob)
            if m["message_id"] == alert["message_id"]
        )
        rows = (edited.get("reply_markup") or {}).get("inline_keyboard", [])
        return not any(b.get("callback_data", "").startswith("ss:off:") for r in rows for b in r)

    await eventually(button_gone)
    # "Show the ad" sends the card with "Contact the seller"
    await press(bozor, bob, alert, f"ad:v:{ad_id}")
    card = await bozor.driver.wait_for_message(
        bob, contains=f"#объявление{ad_id}", after_message_id=alert["message_id"]
    )
    card_buttons = [b for row in card["reply_markup"]["inline_keyboard"] for b in row]
    assert card_buttons[0]["callback_data"] == f"cm:n:{ad_id}"


async def test_a_second_approval_after_an_edit_does_not_alert_again(bozor: Harness) -> None:
    alice = await bozor.user("Alice")
    bob = await bozor.user("Bob")
    await bozor.start(alice)
    await bozor.start(bob)
    await _save(bozor, bob, text="lamp")
    draft = AdDraft(
        category="home",
        title="Desk lamp",
        description="A desk lamp in good condition.",
        price=100_000,
        currency="UZS",
        contact_phone="+998901234567",
        region="Fergana",
    )
    async with bozor.db() as session:
        owner = await users_service.get_by_telegram_id(session=session, telegram_id=alice)
        assert owner is not None
        ad = await service.submit(session=session, settings=bozor.settings, user=owner, draft=draft)
        for turn in range(2):
            if turn:  # the owner edits it: back to review, approved again
                changed = draft.model_copy(update={"title": "Desk lamp, green"})
                await service.submit(
                    session=session, settings=bozor.settings, user=owner, draft=changed, ad_id=ad.id
                )
            await service.decide(
                session=session,
                ad_id=ad.id,
                approve=True,
                admin_name="Admin",
                admin_chat_id=None,
                channel=None,
            )
            await session.commit()
    await bozor.driver.wait_for_message(bob, contains="🔔", timeout=15)
    assert await _queued_alerts(bozor) == 1
    async with bozor.db() as session:
        assert await session.scalar(select(func.count()).select_from(AdAlert)) == 1


async def test_limits_duplicates_and_empty_searches(bozor: Harness) -> None:
    bob = await bozor.user("Bob")
    await bozor.start(bob)
    first = await _save(bozor, bob, text="iPhone 12", region="fergana")
    # the same search, written differently, is the one saved before
    assert await _save(bozor, bob, text="12 IPHONE", region="Fargʻona") == first
    with pytest.raises(DomainError) as empty:
        await _save(bozor, bob, text="x")
    assert empty.value.code == "adsearch.saved_empty"
    limit = ClassifiedsSettings.of(bozor.settings).saved_searches
    for n in range(limit - 1):
        await _save(bozor, bob, text=f"word{n}")
    with pytest.raises(DomainError) as full:
        await _save(bozor, bob, text="one more")
    assert full.value.code == "adsearch.saved_limit" and full.value.params == {"limit": limit}


async def test_simultaneous_saves_stay_within_the_limit(bozor: Harness) -> None:
    bob = await bozor.user("Bob")
    await bozor.start(bob)
    limit = ClassifiedsSettings.of(bozor.settings).saved_searches
    outcomes = await asyncio.gather(
        *(_save(bozor, bob, text=f"word{n}") for n in range(limit + 5)), return_exceptions=True
    )
    refused = [o for o in outcomes if isinstance(o, DomainError)]
    assert len(refused) == 5 and all(o.code == "adsearch.saved_limit" for o in refused)
    async with bozor.db() as session:
        assert await session.scalar(select(func.count()).select_from(SavedSearch)) == limit
