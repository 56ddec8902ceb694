"""Keyboards shared by features."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from aiogram.types import KeyboardButton, ReplyKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bozor.i18n import LANGUAGE_NAMES, LANGUAGES, Translator

# Main-menu buttons each feature contributes (translation keys, `Feature.menu`), by feature
# name. Filled by create_dispatcher from the manifests: a feature's handlers show the menu
# with `main_menu(t, settings.features)` without knowing the other features.
_FEATURE_MENU: dict[str, tuple[str, ...]] = {}
CORE_MENU = ("menu.language", "menu.help")


def add_menu(feature: str, keys: Sequence[str]) -> None:
    """The main-menu buttons of a feature (the same for every process: its manifest's)."""
    if _FEATURE_MENU.get(feature) != tuple(keys):
        _FEATURE_MENU[feature] = tuple(keys)
        _main_menu.cache_clear()


def main_menu(t: Translator, features: Sequence[str]) -> ReplyKeyboardMarkup:
    """The reply keyboard of the enabled features, in the translator's language."""
    return _main_menu(t.language, tuple(features))


@cache  # a few languages × one feature set: built once, sent many times
def _main_menu(language: str, features: tuple[str, ...]) -> ReplyKeyboardMarkup:
    t = Translator(language)
    # In the manifests' order (the features list's), whatever the order of FEATURES.
    keys = [key for name, menu in _FEATURE_MENU.items() if name in features for key in menu]
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
