"""A seller's walk through the classifieds in each language at once: an ad posted through the
dialogue, approved, then the seller's own ads; then every button shown is pressed."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from tests.walkthroughs.checks import ANSWER_TIMEOUT, CHANNEL_POST, Visit, verdict

from bozor.i18n import LANGUAGES, Translator
from bozor.testing import Harness, eventually

pytestmark = pytest.mark.timeout(300)  # a walk presses many buttons; the machine may be busy


async def seller_walk(bozor: Harness, language: str) -> Visit:
    t = Translator(language)
    user = await bozor.user(
        f"Seller {language}", username=f"seller_{language}", language_code=language
    )
    seller = Visit(bozor.driver, user, language, exempt=CHANNEL_POST)
    await seller.say("/start")
    await seller.say("/post_ad")
    category = await seller.press_data("adc:electronics")
    await bozor.driver.wait_for_message(
        user, contains="2/7", after_message_id=category["message_id"], timeout=ANSWER_TIMEOUT
    )
    await seller.say(f"iPhone 12, 128 GB ({language})", expect="3/7")
    await seller.say("Good condition, with the box and a charger.", expect="4/7")
    await seller.say("abc")  # not a price: the seller is asked again
    await seller.say("7 500 000", expect="5/7")
    await seller.tap(t("ads.no_photos"))
    sent = await bozor.driver.send_contact(user, "+998901234567")
    await bozor.driver.wait_for_message(
        user, contains="7/7", after_message_id=sent["message_id"], timeout=ANSWER_TIMEOUT
    )
    await seller.say("Fergana")
    await seller.press_data("adf:send")
    return seller


async def test_a_seller_sees_only_their_language_and_buttons_that_answer(
    bozor: Harness, channels: dict[str, int]
) -> None:
    visits = list(await asyncio.gather(*(seller_walk(bozor, lang) for lang in LANGUAGES)))
    # The admin approves each ad from its review message, once (a double tap is another story:
    # docs/classifieds.md).
    admin = Visit(bozor.driver, bozor.settings.admin_ids[0], "en")
    approvals: list[tuple[dict[str, Any], dict[str, Any]]] = []

    async def all_in() -> bool:
        approvals[:] = [
            (message, button)
            for message in await bozor.driver.bot_messages(admin.user)
            for row in (message.get("reply_markup") or {}).get("inline_keyboard", [])
            for button in row
            if button["callback_data"].startswith("ad:ok:")
        ]
        return len(approvals) == len(LANGUAGES)

    await eventually(all_in, timeout=ANSWER_TIMEOUT)
    for review, approve in approvals:
        await admin.press(review, approve)
    for visit in visits:
        await visit.say("/my_ads")
    await asyncio.gather(*(visit.tap_every_menu_button() for visit in visits))
    await asyncio.gather(*(visit.press_every_button() for visit in visits))
    problems = await verdict(bozor.driver, visits)
    assert not problems, "\n".join(problems)
