"""Mini Apps in the emulator: the menu button, web_app buttons, launching with signed initData,
invoice links, as Telegram does them."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    LabeledPrice,
    MenuButtonCommands,
    MenuButtonDefault,
    MenuButtonWebApp,
    ReplyKeyboardMarkup,
    WebAppInfo,
)

from bozor.emulator import Emulator, EmulatorDriver
from bozor.telegram_webapp import verify

APP = "https://bozor.example/app/"


def _app_button(url: str) -> InlineKeyboardMarkup:
    button = InlineKeyboardButton(text="Open", web_app=WebAppInfo(url=url))
    return InlineKeyboardMarkup(inline_keyboard=[[button]])


async def test_menu_button_default_per_chat_and_reset(bot: Bot, user: int) -> None:
    assert isinstance(await bot.get_chat_menu_button(chat_id=user), MenuButtonCommands)
    await bot.set_chat_menu_button(
        menu_button=MenuButtonWebApp(text="Shop", web_app=WebAppInfo(url=APP))
    )
    mine = await bot.get_chat_menu_button(chat_id=user)
    assert isinstance(mine, MenuButtonWebApp) and mine.web_app.url == APP
    await bot.set_chat_menu_button(chat_id=user, menu_button=MenuButtonCommands())
    assert isinstance(await bot.get_chat_menu_button(chat_id=user), MenuButtonCommands)
    await bot.set_chat_menu_button(chat_id=user, menu_button=MenuButtonDefault())
    assert isinstance(await bot.get_chat_menu_button(chat_id=user), MenuButtonWebApp)
    await bot.set_chat_menu_button(menu_button=MenuButtonDefault())
    assert isinstance(await bot.get_chat_menu_button(), MenuButtonCommands)
    with pytest.raises(TelegramBadRequest, match="Only HTTPS links are allowed"):
        await bot.set_chat_menu_button(
            menu_button=MenuButtonWebApp(text="x", web_app=WebAppInfo(url="http://evil.example/"))
        )
    with pytest.raises(TelegramBadRequest, match="BUTTON_TEXT_INVALID"):
        await bot.set_chat_menu_button(
            menu_button=MenuButtonWebApp(text=" ", web_app=WebAppInfo(url=APP))
        )


async def test_web_app_buttons_need_https_and_a_private_chat(
    bot: Bot, user: int, driver: EmulatorDriver
) -> None:
    sent = await bot.send_message(user, "open", reply_markup=_app_button(APP))
    assert sent.reply_markup is not None
    await bot.send_message(
        user,
        "keyboard",
        reply_markup=ReplyKeyboardMarkup(
            keyboard=[[KeyboardButton(text="App", web_app=WebAppInfo(url=APP))]]
        ),
    )
    # Loopback over plain HTTP, as Telegram's test environment allows (the demo).
    await bot.send_message(user, "local", reply_markup=_app_button("http://127.0.0.1:8080/app/"))
    with pytest.raises(TelegramBadRequest, match="Only HTTPS links are allowed"):
        await bot.send_message(user, "x", reply_markup=_app_button("http://bozor.example/app/"))
    group = await driver.create_group("Club", [user])
    with pytest.raises(TelegramBadRequest, match="BUTTON_TYPE_INVALID"):
        await bot.send_message(group, "x", reply_markup=_app_button(APP))


async def test_launching_signs_init_data_with_the_bots_token(
    emu: Emulator, bot: Bot, user: int, token: str
) -> None:
    async with aiohttp.ClientSession() as http:
        opened = await http.post(
            f"{emu.url}/control/bots/{token}/web-apps",
            json={"user_id": user, "url": APP + "shop", "theme_params": {"bg_color": "#17212b"}},
        )
        url = (await opened.json())["url"]
        refused = await http.post(
            f"{emu.url}/control/bots/{token}/web-apps",
            json={"user_id": user, "url": "http://bozor.example/"},
        )
        assert refused.status == 400
        link = await bot.create_invoice_link(
            title="Card", description="One card", payload="p", currency="XTR",
            prices=[LabeledPrice(label="Card", amount=25)],
        )  # fmt: skip
        slug = link.rsplit("$", 1)[1]
        answer = await http.get(f"{emu.url}/control/bots/{token}/invoice-links/{slug}")
        invoice = await answer.json()
        assert invoice["total_amount"] == 25 and invoice["currency"] == "XTR"
    parts = urlsplit(url)
    assert parts.path == "/app/shop"
    launch = {key: values[0] for key, values in parse_qs(parts.fragment).items()}
    assert launch["tgWebAppThemeParams"] == '{"bg_color":"#17212b"}'
    init = verify(token, launch["tgWebAppData"], max_age=60)
    assert init.user.id == user and init.user.first_name == "Alice"
    with pytest.raises(Exception, match="bad signature"):
        verify("1:other", launch["tgWebAppData"], max_age=60)
