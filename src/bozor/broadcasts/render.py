"""The Telegram message of a broadcast: the same for the preview and every recipient."""

from __future__ import annotations

from typing import Any

from aiogram.methods import SendMessage, SendPhoto
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bozor.broadcasts.service import Content


def markup(content: Content) -> InlineKeyboardMarkup | None:
    if not content.buttons:
        return None
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=b.text, url=b.url) for b in row] for row in content.buttons
        ]
    )


def message(content: Content, chat_id: int) -> SendMessage | SendPhoto:
    """The call that sends the broadcast to one chat."""
    common: dict[str, Any] = {"chat_id": chat_id, "parse_mode": "HTML"}
    if content.photo:
        return SendPhoto(
            photo=content.photo,
            caption=content.text or None,
            reply_markup=markup(content),
            **common,
        )
    return SendMessage(text=content.text, reply_markup=markup(content), **common)
