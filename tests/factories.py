"""Test data, made the way Bozor makes it: through its services (or its API and bot), never by
writing rows by hand. One place for every feature's "give me a …", so tests arrange their data
in a line and a change to a service's signature is followed here once.

People are made in the emulator (`bozor.user(...)`) and, where a test needs them known to
Bozor, started (`member`)."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bozor.classifieds import service as ads_service
from bozor.classifieds.schemas import AdDraft
from bozor.classifieds.settings import ClassifiedsSettings
from bozor.emulator import Emulator, EmulatorDriver
from bozor.ledger import service as ledger
from bozor.lotteries.testing import account_number, make_lottery
from bozor.shop import codes
from bozor.shop.models import Order
from bozor.shop.service import catalogue, orders
from bozor.testing import (
    TEST_BOT_TOKEN,
    Harness,
    make_recipients,
    new_api_key,
)
from bozor.users import service as users_service
from bozor.users.models import User

__all__ = [
    "account_number",
    "ad_draft",
    "buyer_with_points",
    "channel",
    "count",
    "make_lottery",
    "make_product",
    "make_recipients",
    "member",
    "new_api_key",
    "pending_orders",
    "published",
    "referral_code",
    "stored_user",
    "submitted_ad",
]


async def member(
    bozor: Harness, name: str = "User", *, language: str = "en", **profile: Any
) -> int:
    """A Telegram user who has sent /start (so Bozor knows them); their Telegram id."""
    telegram_id = await bozor.user(name, language_code=language, **profile)
    await bozor.start(telegram_id)
    return telegram_id


async def stored_user(bozor: Harness, telegram_id: int) -> User:
    """Bozor's record of a Telegram user who has started the bot."""
    async with bozor.db() as session:
        user = await users_service.get_by_telegram_id(session=session, telegram_id=telegram_id)
    assert user is not None, f"{telegram_id} has not started the bot"
    return user


async def channel(emulator: Emulator, title: str, username: str) -> int:
    """A channel with the bot as its admin; made before Bozor starts, which reads its id."""
    async with EmulatorDriver(emulator.url, TEST_BOT_TOKEN) as driver:
        return await driver.create_channel(title, username=username)


async def count(db: async_sessionmaker[AsyncSession], model: Any) -> int:
    """How many rows `model`'s table holds."""
    async with db() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


# ---------------------------------------------------------------------------- referrals


async def referral_code(api: httpx.AsyncClient, user_id: str) -> str:
    """The referral code of an outside user, from the API (`api` sends a referrals key)."""
    response = await api.post("/api/v1/generate-link", json={"user_id": user_id})
    assert response.status_code == 200, response.text
    return str(response.json()["code"])


# --------------------------------------------------------------------------------- shop


async def make_product(
    bozor: Harness,
    *,
    stock: int = 5,
    price: int = 50,
    card_price: int | None = None,
    prefix: str = "CODE",
) -> int:
    """A "Steam" category with a "20 USD" product and `stock` codes; the product id."""
    async with bozor.db() as session:
        category = await catalogue.create_category(session=session, name="Steam")
        product = await catalogue.create_product(
            session=session,
            category_id=category.id,
            title="20 USD",
            price_stars=price,
            card_price=card_price,
            card_payable=card_price is not None,
        )
        if stock:
            await codes.import_codes(
                session=session,
                settings=bozor.settings,
                product_id=product.id,
                lines=[codes.CodeLine(i, f"{prefix}-{i:04d}") for i in range(1, stock + 1)],
                actor="test",
            )
        await session.commit()
        return int(product.id)


async def buyer_with_points(bozor: Harness, name: str, points: int) -> User:
    """A member with `points` bonus points booked in the ledger."""
    user = await stored_user(bozor, await member(bozor, name))
    async with bozor.db() as session:
        await ledger.book(
            session=session, user_id=user.id, amount=points, reason="test", reference="1"
        )
        await session.commit()
    return user


async def pending_orders(bozor: Harness, user: User, product: int, count: int = 1) -> list[Order]:
    """`count` pending orders of one code each, made through the service."""
    async with bozor.db() as session:
        made = [
            await orders.create(
                session=session, settings=bozor.settings, user=user, product_id=product, quantity=1
            )
            for _ in range(count)
        ]
        await session.commit()
    return made


# -------------------------------------------------------------------------- classifieds


def ad_draft(title: str, **fields: Any) -> AdDraft:
    """A complete ad: a used item in Fergana, priced in UZS, with a phone to call."""
    values: dict[str, Any] = {
        "category": "home",
        "title": title,
        "description": f"{title}: in good condition, pick up in Fergana.",
        "price": 100_000,
        "currency": "UZS",
        "contact_phone": "+998901234567",
        "region": "Fergana",
        **fields,
    }
    return AdDraft(**values)


async def submitted_ad(bozor: Harness, owner: int, draft: AdDraft) -> int:
    """The ad `draft` of `owner` (a started Telegram user), waiting for review; its id."""
    user = await stored_user(bozor, owner)
    async with bozor.db() as session:
        ad = await ads_service.submit(
            session=session, settings=bozor.settings, user=user, draft=draft
        )
        await session.commit()
        return ad.id


async def approve_ad(session: AsyncSession, bozor: Harness, ad_id: int) -> None:
    """An admin approves the ad through the service (in `session`, not committed)."""
    await ads_service.decide(
        session=session,
        ad_id=ad_id,
        approve=True,
        admin_name="Admin",
        admin_chat_id=None,
        channel=ClassifiedsSettings.of(bozor.settings).channel_id,
    )


async def approved(bozor: Harness, ad_id: int) -> None:
    """An admin approves the ad through the service, committed."""
    async with bozor.db() as session:
        await approve_ad(session, bozor, ad_id)
        await session.commit()


async def published(
    bozor: Harness, owner: int, titles: list[str], *, approve: bool = True
) -> list[int]:
    """Ads of `owner`, submitted and (unless not `approve`) approved through the service; their
    ids."""
    user = await stored_user(bozor, owner)
    ids = []
    async with bozor.db() as session:
        for title in titles:
            ad = await ads_service.submit(
                session=session, settings=bozor.settings, user=user, draft=ad_draft(title)
            )
            if approve:
                await approve_ad(session, bozor, ad.id)
            ids.append(ad.id)
        await session.commit()
    return ids
