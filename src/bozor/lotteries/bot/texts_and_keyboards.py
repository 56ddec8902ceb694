"""The lottery bot's keyboards, the callback data they carry and small parsing helpers."""

from __future__ import annotations

from aiogram.types import (
    InlineKeyboardMarkup,
)
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bozor.errors import InvalidInputError
from bozor.i18n import Translator

CONFIRM_PREFIX = "confirm_win_"


PICK_PREFIX = "lot_pick:"


def parse_int(value: str) -> int | None:
    value = value.strip()
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        return None
    return int(value)


def usage_error(t: Translator, key: str) -> InvalidInputError:
    return InvalidInputError("lottery.usage", usage=t(key))


def confirm_buttons(t: Translator, rows: list[tuple[int, str]]) -> InlineKeyboardMarkup | None:
    """One "✅ Confirm" button per (win id, account number)."""
    if not rows:
        return None
    builder = InlineKeyboardBuilder()
    for win_id, number in rows:
        builder.button(
            text=t("lottery.confirm_button", number=number),
            callback_data=f"{CONFIRM_PREFIX}{win_id}",
        )
    builder.adjust(1)
    markup: InlineKeyboardMarkup = builder.as_markup()
    return markup
