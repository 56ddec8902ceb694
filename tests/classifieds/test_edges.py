"""Rough edges advertisers met: a zero price, the main menu at the preview."""

from __future__ import annotations

from bozor.testing import Harness, reply_buttons

from .helpers import fill_dialogue, last_with, press, say


async def test_a_price_of_zero_is_refused(bozor: Harness) -> None:
    bob = await bozor.user("Bob")
    await bozor.start(bob)
    await say(bozor, bob, "/post_ad", contains="Choose the category")
    pick = await last_with(bozor, bob, "Choose the category")
    await press(bozor, bob, pick, "adc:electronics")
    await bozor.driver.wait_for_message(bob, contains="Title", after_message_id=pick["message_id"])
    await say(bozor, bob, "iPhone 12, 128 GB", contains="Description")
    await say(bozor, bob, "Good condition, with the box and a charger.", contains="Price")
    for zero in ("0", "0 $", "000 so'm"):
        answer = await say(bozor, bob, zero)
        assert "more than zero" in answer and "Negotiable" in answer, answer
    assert "Photos" in await say(bozor, bob, "7 500 000")


async def test_the_main_menu_stays_reachable_at_the_preview_and_resumes_the_ad(
    bozor: Harness,
) -> None:
    bob = await bozor.user("Bob")
    await bozor.start(bob)
    await fill_dialogue(bozor, bob)
    assert "📢 Classifieds" in await reply_buttons(bozor, bob)
    sent = await bozor.driver.press_reply_button(bob, "📢 Classifieds")  # its submenu
    await bozor.driver.wait_for_message(bob, after_message_id=sent["message_id"])
    buttons = await reply_buttons(bozor, bob)
    assert "📢 Post an ad" in buttons and "📋 My ads" in buttons, buttons
    sent = await bozor.driver.press_reply_button(bob, "📢 Post an ad")
    offer = await bozor.driver.wait_for_message(
        bob, after_message_id=sent["message_id"], contains="Continue"
    )
    await press(bozor, bob, offer, "adr:continue")
    await bozor.driver.wait_for_message(
        bob, after_message_id=offer["message_id"], contains="Is everything right?"
    )
