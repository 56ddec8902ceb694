"""A member's walk through referrals and prize draws, in each language at once: every command,
menu button and inline button, checked for what a person should never see."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from tests.walkthroughs.checks import ANSWER_TIMEOUT, Visit, verdict

from bozor.i18n import LANGUAGES
from bozor.testing import ADMIN_ID, Harness

pytestmark = pytest.mark.timeout(300)  # a walk presses many buttons; the machine may be busy


async def member_walk(bozor: Harness, language: str, card: str) -> Visit:
    inviter = Visit(
        bozor.driver, await bozor.user(f"Inviter {language}", language_code=language), language
    )
    await inviter.say("/start")
    await inviter.say("/lotteries")
    await inviter.say("/my_account")
    # Registration for the draws, as a member does it: card, then the phone by the button.
    # Each step is awaited by its emoji (the texts are in the member's language).
    await inviter.say("/register", expect="💳")
    await inviter.say(card, expect="📞")
    sent = await bozor.driver.send_contact(inviter.user, "+998901234567")
    await bozor.driver.wait_for_message(
        inviter.user, contains="🔑", after_message_id=sent["message_id"], timeout=ANSWER_TIMEOUT
    )
    await inviter.say("/my_account", expect="🔑")
    code = await bozor.referral_code(inviter.user)
    friend = Visit(
        bozor.driver, await bozor.user(f"Friend {language}", language_code=language), language
    )
    await friend.say(f"/start {code}")
    for command in ("/ref", "/top", "/help", "/language"):
        await inviter.say(command)
    return inviter


def win_notice(message: dict[str, Any]) -> bool:
    keyboard = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return any(b.get("callback_data", "").startswith("confirm_win") for r in keyboard for b in r)


async def say(bozor: Harness, text: str) -> str:
    sent = await bozor.driver.send_message(ADMIN_ID, text)
    answer = await bozor.driver.wait_for_message(ADMIN_ID, after_message_id=sent["message_id"])
    return str(answer.get("text") or "")


async def test_a_member_sees_only_their_language_and_buttons_that_answer(
    bozor: Harness,
) -> None:
    cards = {language: f"{2223 + 2 * i}" for i, language in enumerate(LANGUAGES)}
    visits = list(
        await asyncio.gather(*(member_walk(bozor, lang, cards[lang]) for lang in LANGUAGES))
    )
    # A draw every member wins a place in; the win is announced to each.
    created = await say(bozor, "/new_lottery Walkthrough draw\n1. Kettle\n2. Mug\n3. Pen")
    lottery = created.split("#", 1)[1].split()[0].rstrip(".:,")
    for i, card in enumerate(cards.values()):
        await say(bozor, f"/add_account {card} 11-22-33-44-55-66-{70 + i} {lottery}")
    await say(bozor, f"/draw {lottery}")
    for visit in visits:
        await bozor.driver.wait_for_message(visit.user, predicate=win_notice, timeout=30)
    await asyncio.gather(*(visit.tap_every_menu_button() for visit in visits))
    await asyncio.gather(*(visit.press_every_button() for visit in visits))
    problems = await verdict(bozor.driver, visits)
    assert not problems, "\n".join(problems)
