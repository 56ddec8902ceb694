"""A buyer's walk through the shop in each language at once: the catalogue, an order paid with
Stars and its codes, purchases, bonuses and support; then every button shown is pressed."""

from __future__ import annotations

import asyncio

import pytest
from tests.factories import make_product
from tests.walkthroughs.checks import Visit, verdict

from bozor.i18n import LANGUAGES
from bozor.testing import Harness

pytestmark = pytest.mark.timeout(300)  # a walk presses many buttons; the machine may be busy


async def buyer_walk(bozor: Harness, language: str, product: int) -> Visit:
    buyer = Visit(
        bozor.driver, await bozor.user(f"Buyer {language}", language_code=language), language
    )
    await buyer.say("/start")
    await buyer.say("/buy")
    await buyer.press_data("sh:c:")
    await buyer.press_data(f"sh:p:{product}")
    await buyer.press_data(f"sh:q:{product}:1")
    summary = await buyer.press_data("sh:pay:")
    invoice = await bozor.driver.wait_for_message(
        buyer.user, after_message_id=summary["message_id"], predicate=lambda m: "invoice" in m
    )
    await bozor.driver.pay_invoice(buyer.user, invoice["message_id"])
    await bozor.driver.wait_for_message(buyer.user, contains="CODE-", timeout=20)
    for command in ("/purchases", "/bonuses", "/support", "/paysupport", "/terms"):
        await buyer.say(command)
    # A second order, left unpaid: its buttons are pressed with the rest.
    await buyer.say("/buy")
    await buyer.press_data("sh:c:")
    await buyer.press_data(f"sh:p:{product}")
    await buyer.press_data(f"sh:q:{product}:1")
    return buyer


async def test_a_buyer_sees_only_their_language_and_buttons_that_answer(
    bozor: Harness,
) -> None:
    product = await make_product(bozor, stock=10, price=50)
    visits = list(await asyncio.gather(*(buyer_walk(bozor, lang, product) for lang in LANGUAGES)))
    await asyncio.gather(*(visit.tap_every_menu_button() for visit in visits))
    await asyncio.gather(*(visit.press_every_button() for visit in visits))
    problems = await verdict(bozor.driver, visits)
    assert not problems, "\n".join(problems)
