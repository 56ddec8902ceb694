"""Keyboards shared by features."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from aiogram.types import KeyboardButton, ReplyKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bozor.i18n import LANGUAGE_NAMES, LANGUAGES, Translator

# Main-menu buttons each feature contributes (translation keys), in menu order.
FEATURE_MENU: dict[str, tuple[str, ...]] = {
    "referrals": ("menu.invite", "menu.top"),
    "lotteries": ("menu.lotteries",),
    "shop": ("menu.buy", "menu.purchases", "menu.bonuses", "menu.support"),
    "classifieds": ("menu.post_ad", "menu.my_ads"),
}
CORE_MENU = ("menu.language", "menu.help")


def main_menu(t: Translator, features: Sequence[str]) -> ReplyKeyboardMarkup:
    """The reply keyboard of the enabled features, in the translator's language."""
    return _main_menu(t.language, tuple(features))


@cache  # a few languages × one feature set: built once, sent many times
def _main_menu(language: str, features: tuple[str, ...]) -> ReplyKeyboardMarkup:
    t = Translator(language)
    keys = [key for feature in features for key in FEATURE_MENU.get(feature, ())]
    keys.extend(CORE_MENU)
    rows = [
        [KeyboardButton(text=t(key)) for key in keys[i : i + 2]] for i in range(0, len(keys), 2)
    ]
    return ReplyKeyboardMarkup(
        keyboard=rows, resize_keyboard=True, input_field_placeholder=t("menu.placeholder")
    )


def language_picker() -> InlineKeyboardBuilder:
    builder = InlineKeyboardBuilder()
    for language in LANGUAGES:
        builder.button(text=LANGUAGE_NAMES[language], callback_data=f"lang:{language}")
    builder.adjust(1)
    return builder
