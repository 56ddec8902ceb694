"""The walkthroughs' checks fail on what they are there to catch, and stay quiet on names,
codes and texts that are the same in every language."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from tests.walkthroughs.checks import Visit, english_in, leftovers, readable, refused_calls

from bozor.emulator import Emulator, EmulatorDriver
from bozor.i18n import Translator
from bozor.testing import TEST_BOT_TOKEN


def test_raw_keys_placeholders_enum_names_and_none_are_found() -> None:
    assert leftovers("Status: shop.status.delivered", "en") == [
        "translation key shop.status.delivered"
    ]
    assert leftovers("Hello, {name}!", "en") == ["placeholder {name}"]
    assert leftovers("Order: REFUND_DUE", "en") == ["enum name REFUND_DUE"]
    assert leftovers("club_card=None", "en") == ["None", "field name club_card="]


def test_stored_field_names_and_identifiers_are_found() -> None:
    line = "2026-12-06 21:58 UTC #1 розыгрыш создан (seed_hash=f09b, places=2)"
    assert leftovers(line, "ru") == ["field name seed_hash=", "field name places="]
    assert leftovers("Счёт добавлен (club_card: —)", "ru") == ["identifier 'club_card'"]
    # Links, usernames, hashtags, commands' arguments and English texts are left alone.
    for text in (
        "https://t.me/bozor_bot?start=ref_abc",
        "@seller_ru, #Home_and_garden",
        "Формат: /list_accounts <telegram_id>",
    ):
        assert leftovers(text, "ru") == [], text


def test_raw_status_words_are_found() -> None:
    assert leftovers("This order can no longer be paid (delivered)", "en") == [
        "status word (delivered)"
    ]
    assert leftovers("Заказ №5: pending", "ru") == ["status word 'pending'"]
    # English words in an English text, command arguments and codes are no status words
    assert leftovers("Your codes were delivered. Order (2 codes)", "en") == []
    assert leftovers("Формат: /lottery_report unclaimed | participations", "ru") == []
    assert leftovers("Send a TXT or CSV file, see t.me/bozor_bot", "en") == []


def test_english_in_a_russian_or_uzbek_chat_is_found() -> None:
    placeholder = Translator("en")("menu.placeholder")
    assert english_in(placeholder, "ru") == [f"English menu.placeholder: {placeholder!r}"]
    assert english_in(f"Заказ №5\n{placeholder}", "uz") != []
    welcome = Translator("en")("start.welcome", bot="Bozor", name="Ali")
    assert english_in(welcome.replace("\n\n", " "), "ru") != [], "found inside a longer text"
    assert english_in(placeholder, "en") == []


def test_names_codes_and_texts_alike_in_every_language_are_not_english() -> None:
    for text in (
        "Steam",
        "20 USD",
        "Bot 7000000001",
        "iPhone 12, 128 GB",
        "CODE-0001",
        "🇬🇧 English",
    ):
        assert english_in(text, "ru") == english_in(text, "uz") == [], text
    assert english_in(Translator("ru")("menu.placeholder"), "ru") == []


def test_codes_links_and_commands_are_not_read_as_text() -> None:
    text = "Код: shop.status.delivered и /ref"
    entities = [{"type": "code", "offset": 5, "length": 21}]
    assert leftovers(readable(text, entities), "ru") == []


@pytest.fixture
async def driver(emulator: Emulator) -> AsyncIterator[EmulatorDriver]:
    async with EmulatorDriver(emulator.url, TEST_BOT_TOKEN) as made:
        yield made


@pytest.fixture
async def bot(emulator: Emulator) -> AsyncIterator[Bot]:
    made = Bot(
        TEST_BOT_TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(emulator.url))
    )
    try:
        yield made
    finally:
        await made.session.close()


async def test_a_button_nobody_answers_is_found(
    bot: Bot, driver: EmulatorDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tests.walkthroughs.checks.ANSWER_TIMEOUT", 0.5)
    user = await driver.create_user("Alice", language_code="ru")
    await driver.send_start(user)
    buttons = [[InlineKeyboardButton(text="Кнопка", callback_data="dead")]]
    await bot.send_message(user, "Меню", reply_markup=InlineKeyboardMarkup(inline_keyboard=buttons))
    visit = Visit(driver, user, "ru")
    await visit.press_every_button()
    assert visit.problems == [
        "the button 'Кнопка' (dead) under message 2: never answered (the spinner stays)"
    ]


async def test_what_telegram_refuses_is_found(bot: Bot, driver: EmulatorDriver) -> None:
    user = await driver.create_user("Alice")
    await driver.send_start(user)
    with pytest.raises(TelegramBadRequest):
        await bot.send_message(user, "x" * 4097)
    assert await refused_calls(driver) == [
        f"sendMessage (chat {user}, message None): Bad Request: message is too long"
    ]
