"""The admins' walk through every feature's admin commands, one admin per language at once:
each command bare (its usage) and with arguments, the review queue and its buttons; then every
button shown is pressed."""

from __future__ import annotations

import asyncio

import pytest
from tests.factories import ad_draft, make_product, member, submitted_ad
from tests.walkthroughs.checks import CHANNEL_POST, Visit, verdict
from tests.walkthroughs.conftest import LANGUAGE_ADMINS

from bozor.testing import Harness

# Every admin command, bare: each answers with its usage, a listing or a dialogue's first step
# (a dialogue is left with /cancel).
BARE = (
    "/shop_admin", "/catalogue", "/stock", "/orders", "/sales", "/new_category", "/new_product",
    "/price", "/refund", "/reply", "/faq_del", "/ads_queue", "/ad", "/ads_user", "/ads_ban",
    "/ads_unban", "/new_lottery", "/add_account", "/remove_account", "/list_accounts", "/draw",
    "/verify_winner", "/winner_status", "/check_unclaimed", "/redraw", "/audit", "/handed_over",
    "/lottery_report",
)  # fmt: skip
DIALOGUES = ("/import_codes 1", "/faq_add", "/add_accounts", "/broadcast")


pytestmark = pytest.mark.timeout(300)  # a walk presses many buttons; the machine may be busy


async def admin_walk(bozor: Harness, language: str, lottery: str) -> Visit:
    admin = Visit(bozor.driver, LANGUAGE_ADMINS[language], language, exempt=CHANNEL_POST)
    for command in BARE:
        await admin.say(command)
    for command in DIALOGUES:
        await admin.say(command)
        await admin.say("/cancel")
    for command in (
        f"/winner_status {lottery}",
        f"/audit {lottery}",
        f"/lottery_report {lottery}",
        f"/list_accounts {lottery}",
        "/sales today",
        "/stock 1",
        "/ads_queue",
        "/help",
    ):
        await admin.say(command)
    return admin


async def test_admins_see_only_their_language_and_buttons_that_answer(bozor: Harness) -> None:
    await make_product(bozor, stock=3)
    seller = await member(bozor, "Kamola", username="kamola")
    for title in ("Chevrolet Cobalt 2020", "Sofa, three seats"):
        await submitted_ad(bozor, seller, ad_draft(title))
    en = Visit(bozor.driver, LANGUAGE_ADMINS["en"], "en")
    created = await en.say("/new_lottery Walkthrough draw\n1. Kettle\n2. Mug", expect="#")
    text = str(created[-1].get("text"))
    lottery = text.split("#", 1)[1].split()[0].rstrip(".:,")
    await en.say(f"/add_account - 11-22-33-44-55-66-77 {lottery}")
    await en.say(f"/add_account - 11-22-33-44-55-66-78 {lottery}")
    await en.say(f"/draw {lottery}")
    visits = list(
        await asyncio.gather(*(admin_walk(bozor, lang, lottery) for lang in LANGUAGE_ADMINS))
    )
    for visit in visits:  # one admin after another: two deciding at once is docs/classifieds.md
        await visit.press_every_button()
    problems = await verdict(bozor.driver, visits)
    assert not problems, "\n".join(problems)
