"""Telegram's size limits, on every method that takes the limited thing, as Telegram answers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import (
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    KeyboardButton,
    LabeledPrice,
    ReplyKeyboardMarkup,
)

from bozor.emulator import EmulatorDriver

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x02\x00\x00\x00\x03\x08\x02\x00\x00\x00"
    + b"\x00" * 40
)


def _inline(rows: int, per_row: int, data: str = "d") -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=f"{r}.{c}", callback_data=data) for c in range(per_row)]
            for r in range(rows)
        ]
    )


async def test_inline_keyboard_sizes(bot: Bot, user: int) -> None:
    await bot.send_message(user, "8 a row, 96 in all", reply_markup=_inline(12, 8))
    await bot.send_message(user, "100 in all", reply_markup=_inline(100, 1))
    with pytest.raises(TelegramBadRequest, match="Bad Request: reply markup is too long"):
        await bot.send_message(user, "9 a row", reply_markup=_inline(1, 9))
    with pytest.raises(TelegramBadRequest, match="Bad Request: reply markup is too long"):
        await bot.send_message(user, "101", reply_markup=_inline(13, 8))
    with pytest.raises(TelegramBadRequest, match="Bad Request: BUTTON_DATA_INVALID"):
        await bot.send_message(user, "empty data", reply_markup=_inline(1, 1, data=""))


async def test_reply_keyboard_sizes(bot: Bot, user: int) -> None:
    def keyboard(rows: int, per_row: int) -> ReplyKeyboardMarkup:
        return ReplyKeyboardMarkup(
            keyboard=[
                [KeyboardButton(text=f"{r}.{c}") for c in range(per_row)] for r in range(rows)
            ]
        )

    await bot.send_message(user, "12 a row", reply_markup=keyboard(25, 12))
    with pytest.raises(TelegramBadRequest, match="Bad Request: reply markup is too long"):
        await bot.send_message(user, "13 a row", reply_markup=keyboard(1, 13))
    with pytest.raises(TelegramBadRequest, match="Bad Request: reply markup is too long"):
        await bot.send_message(user, "301", reply_markup=keyboard(26, 12))


async def test_every_method_with_a_keyboard_checks_it(
    bot: Bot, driver: EmulatorDriver, user: int
) -> None:
    too_long = _inline(1, 1, data="d" * 65)
    too_many = _inline(13, 8)
    text = await bot.send_message(user, "text")
    photo = await bot.send_photo(user, BufferedInputFile(PNG, "p.png"), caption="c")
    calls: dict[str, Callable[[InlineKeyboardMarkup], Awaitable[object]]] = {
        "sendPhoto": lambda m: bot.send_photo(
            user, BufferedInputFile(PNG, "p.png"), reply_markup=m
        ),
        "sendDocument": lambda m: bot.send_document(
            user, BufferedInputFile(b"x", "x.txt"), reply_markup=m
        ),
        "copyMessage": lambda m: bot.copy_message(user, user, text.message_id, reply_markup=m),
        "editMessageText": lambda m: bot.edit_message_text(
            "new", chat_id=user, message_id=text.message_id, reply_markup=m
        ),
        "editMessageCaption": lambda m: bot.edit_message_caption(
            chat_id=user, message_id=photo.message_id, caption="new", reply_markup=m
        ),
        "editMessageReplyMarkup": lambda m: bot.edit_message_reply_markup(
            chat_id=user, message_id=text.message_id, reply_markup=m
        ),
        "sendInvoice": lambda m: bot.send_invoice(
            user, "Card", "A card", "p", "XTR", [LabeledPrice(label="x", amount=1)], reply_markup=m
        ),
    }
    for name, call in calls.items():
        print(name)  # pytest shows the last one printed when it fails
        with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
            await call(too_long)
        with pytest.raises(TelegramBadRequest, match="reply markup is too long"):
            await call(too_many)


async def test_every_method_with_text_or_caption_checks_its_length(
    bot: Bot, driver: EmulatorDriver, user: int
) -> None:
    text = await bot.send_message(user, "text")
    photo = await bot.send_photo(user, BufferedInputFile(PNG, "p.png"), caption="c")
    with pytest.raises(TelegramBadRequest, match="Bad Request: message is too long"):
        await bot.edit_message_text("x" * 4097, chat_id=user, message_id=text.message_id)
    await bot.edit_message_text("x" * 4096, chat_id=user, message_id=text.message_id)
    long_caption = "c" * 1025
    with pytest.raises(TelegramBadRequest, match="Bad Request: message caption is too long"):
        await bot.edit_message_caption(
            chat_id=user, message_id=photo.message_id, caption=long_caption
        )
    with pytest.raises(TelegramBadRequest, match="Bad Request: message caption is too long"):
        await bot.send_document(user, BufferedInputFile(b"x", "x.txt"), caption=long_caption)
    with pytest.raises(TelegramBadRequest, match="Bad Request: message caption is too long"):
        await bot.copy_message(user, user, photo.message_id, caption=long_caption)
    with pytest.raises(TelegramBadRequest, match="Bad Request: message caption is too long"):
        await bot.send_media_group(
            user, [InputMediaPhoto(media=BufferedInputFile(PNG, "a.png"), caption=long_caption)]
        )
    # HTML tags do not count: the limit is on the text after entities parsing
    await bot.send_message(user, "<b>" + "x" * 4096 + "</b>", parse_mode="HTML")


async def test_every_edit_refuses_no_change(bot: Bot, user: int) -> None:
    markup = _inline(1, 1)
    text = await bot.send_message(user, "same", reply_markup=markup)
    photo = await bot.send_photo(
        user, BufferedInputFile(PNG, "p.png"), caption="same", reply_markup=markup
    )
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text(
            "same", chat_id=user, message_id=text.message_id, reply_markup=markup
        )
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_caption(
            chat_id=user, message_id=photo.message_id, caption="same", reply_markup=markup
        )
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_reply_markup(
            chat_id=user, message_id=text.message_id, reply_markup=markup
        )
    await bot.edit_message_reply_markup(chat_id=user, message_id=text.message_id)
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_reply_markup(chat_id=user, message_id=text.message_id)


async def test_callback_answer_text_limit(bot: Bot, driver: EmulatorDriver, user: int) -> None:
    sent = await bot.send_message(user, "press", reply_markup=_inline(1, 1))
    query = await driver.press_button(user, sent.message_id, callback_data="d")
    with pytest.raises(TelegramBadRequest, match="Bad Request: MESSAGE_TOO_LONG"):
        await bot.answer_callback_query(query, "é" * 201)
    assert await bot.answer_callback_query(query, "é" * 200)
