"""A seller picks an ad category in their own language, and the choice is named in it too."""

from __future__ import annotations

import pytest
from tests.classifieds.helpers import press

from bozor.testing import Harness

NAMES = {
    "ru": ("Электроника", "Дом и сад", "Другое"),
    "uz": ("Elektronika", "Uy va bogʻ", "Boshqa"),
}


@pytest.mark.parametrize("language", ["ru", "uz"])
async def test_the_category_picker_speaks_the_sellers_language(
    bozor: Harness, language: str
) -> None:
    seller = await bozor.user("Seller", language_code=language)
    await bozor.start(seller)
    sent = await bozor.driver.send_message(seller, "/post_ad")
    picker = await bozor.driver.wait_for_message(
        seller,
        after_message_id=sent["message_id"],
        predicate=lambda m: any(
            b.get("callback_data", "").startswith("adc:")
            for row in m.get("reply_markup", {}).get("inline_keyboard", [])
            for b in row
        ),
    )
    labels = {
        b["callback_data"]: b["text"]
        for row in picker["reply_markup"]["inline_keyboard"]
        for b in row
        if b.get("callback_data", "").startswith("adc:")
    }
    electronics, home, other = NAMES[language]
    assert labels["adc:electronics"] == electronics and labels["adc:home"] == home
    assert labels["adc:other"] == other
    await press(bozor, seller, picker, "adc:home")
    chosen = await bozor.driver.wait_for_edit(
        seller, picker["message_id"], contains=home, timeout=30
    )
    assert chosen["text"].endswith(f": {home}"), chosen["text"]
