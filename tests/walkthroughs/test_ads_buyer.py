"""An ads buyer's walk and the seller's answers, in each language at once: a saved search's
alert, the ad's card, "Contact the seller" and the seller's reply, then the "Sold?" question;
every button shown is pressed."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from tests.factories import ad_draft, approved, stored_user, submitted_ad
from tests.walkthroughs.checks import ANSWER_TIMEOUT, CHANNEL_POST, Visit, verdict

from bozor.classifieds import jobs, saved_searches
from bozor.classifieds.models import Ad
from bozor.classifieds.search import AdFilters
from bozor.i18n import LANGUAGES
from bozor.testing import Harness

pytestmark = pytest.mark.timeout(300)  # a walk presses many buttons; the machine may be busy


async def ads_walk(bozor: Harness, language: str) -> tuple[Visit, Visit]:
    buyer = Visit(
        bozor.driver,
        await bozor.user(f"Buyer {language}", language_code=language),
        language,
        exempt=CHANNEL_POST,
    )
    seller = Visit(
        bozor.driver,
        await bozor.user(f"Seller {language}", username=f"ads_{language}", language_code=language),
        language,
        exempt=CHANNEL_POST,
    )
    for visit in (buyer, seller):
        await visit.say("/start")
    buyer_row = await stored_user(bozor, buyer.user)
    async with bozor.db() as session:
        await saved_searches.create(
            session=session,
            user_id=buyer_row.id,
            filters=AdFilters(category="electronics", text=f"phone{language}"),
            limit=10,
        )
        await session.commit()
    ad_id = await submitted_ad(
        bozor,
        seller.user,
        ad_draft(f"Old phone{language}", category="electronics", description="A phone in a box."),
    )
    await approved(bozor, ad_id)
    # The alert, the ad's card, "Contact the seller", a message to the seller.
    await buyer.press_data("ad:v:")
    await buyer.press_data("cm:n:")
    await bozor.driver.wait_for_message(buyer.user, contains="✉️", timeout=ANSWER_TIMEOUT)
    await buyer.say(f"Is it still for sale? ({language})")
    await seller.press_data("cm:r:")
    await seller.say("Yes, it is.")
    await buyer.press_data("cm:n:")
    await buyer.say("/cancel")
    return buyer, seller


async def test_an_ads_buyer_and_seller_see_only_their_language_and_buttons_that_answer(
    bozor: Harness, channels: dict[str, int]
) -> None:
    pairs = list(await asyncio.gather(*(ads_walk(bozor, lang) for lang in LANGUAGES)))
    visits = [visit for pair in pairs for visit in pair]
    async with bozor.db() as session:
        first = await session.scalar(select(func.min(Ad.published_at)))
    assert first is not None
    await jobs.run_once(bozor.db, bozor.settings, now=first + timedelta(days=3, minutes=1))
    for _, seller in pairs:
        await bozor.driver.wait_for_message(
            seller.user,
            predicate=lambda m: "sc:" in str(m.get("reply_markup")),
            timeout=ANSWER_TIMEOUT,
        )
    await asyncio.gather(*(visit.press_every_button() for visit in visits))
    problems = await verdict(bozor.driver, visits)
    assert not problems, "\n".join(problems)
