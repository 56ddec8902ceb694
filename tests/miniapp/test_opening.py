"""Opening the Mini App from the chat: the menu button and "Open app" buttons, when MINIAPP_URL
is set (and neither without it)."""

from __future__ import annotations

from typing import Any

import pytest
from tests.shop.helpers import make_product, text_of

from bozor.testing import Harness, eventually, free_port

APP = "https://bozor.example/app/"


@pytest.fixture
def bozor_overrides() -> dict[str, Any]:
    return {"http_port": free_port(), "miniapp_url": APP}


async def test_menu_button_and_open_app_buttons_open_the_mini_app(bozor: Harness) -> None:
    async def menu_set() -> bool:
        buttons = (await bozor.driver.settings())["menu_buttons"]
        return bool(buttons.get("0", {}).get("type") == "web_app")

    await eventually(menu_set)
    button = (await bozor.driver.settings())["menu_buttons"]["0"]
    assert button == {"type": "web_app", "text": "Open", "web_app": {"url": APP}}

    await make_product(bozor)
    buyer = await bozor.user("Buyer")
    await bozor.start(buyer)
    menu = await text_of(bozor, buyer, "🛒 Buy cards", contains="Choose a service")
    rows = menu["reply_markup"]["inline_keyboard"]
    assert rows[-1] == [{"text": "📱 Open app", "web_app": {"url": APP + "shop"}}]

    invite = await bozor.show_ref(buyer)
    apps = [b for row in invite["reply_markup"]["inline_keyboard"] for b in row if "web_app" in b]
    assert apps == [{"text": "📱 Open app", "web_app": {"url": APP + "referrals"}}]
