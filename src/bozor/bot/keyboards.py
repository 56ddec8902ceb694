"""Keyboards shared by features: the main menu and the features' submenus."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from aiogram.types import KeyboardButton, ReplyKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bozor.i18n import LANGUAGE_NAMES, LANGUAGES, Translator


@dataclass(frozen=True, slots=True)
class FeatureMenu:
    """A feature's buttons (`Feature.menu`) and the title of the button opening them (in a
    compact main menu)."""

    title: str
    buttons: tuple[str, ...]

    @property
    def main_button(self) -> str | None:
        """Its key in a compact main menu: its only button, or its title opening its
        submenu."""
        if len(self.buttons) == 1:
            return self.buttons[0]
        return self.title if self.buttons else None

    @property
    def has_submenu(self) -> bool:
        return len(self.buttons) > 1


# The menus of the features, by feature name. Filled by create_dispatcher from the manifests:
# a feature's handlers show the menu with `main_menu(t, settings.features)` without knowing
# the other features.
_FEATURE_MENU: dict[str, FeatureMenu] = {}
CORE_MENU = ("menu.language", "menu.help")
# Three rows of two: what fits a phone screen beside the chat. When the features' buttons and
# the core's fit, they are all shown; otherwise each feature gets one button.
MAIN_MENU_BUTTONS = 6
BACK = "menu.submenu.back"


def add_menu(feature: str, keys: Sequence[str], title: str = "") -> None:
    """The menu of a feature (the same for every process: its manifest's)."""
    menu = FeatureMenu(title, tuple(keys))
    if menu.has_submenu and not title:
        raise ValueError(f"feature {feature}: a menu of several buttons needs a title")
    if _FEATURE_MENU.get(feature) != menu:
        _FEATURE_MENU[feature] = menu
        _main_menu.cache_clear()
        _feature_menu.cache_clear()


def feature_menus() -> dict[str, FeatureMenu]:
    return dict(_FEATURE_MENU)


def main_menu(t: Translator, features: Sequence[str]) -> ReplyKeyboardMarkup:
    """The reply keyboard of the enabled features, in the translator's language: their
    buttons (or, when they would not fit in MAIN_MENU_BUTTONS, one button per feature), then
    Language and Help, two a row."""
    return _main_menu(t.language, tuple(features))


def feature_menu(t: Translator, feature: str) -> ReplyKeyboardMarkup:
    """A feature's submenu: its buttons, two a row, and Back to the main menu."""
    return _feature_menu(t.language, feature)


def _keyboard(t: Translator, keys: Sequence[str]) -> ReplyKeyboardMarkup:
    rows = [
        [KeyboardButton(text=t(key)) for key in keys[i : i + 2]] for i in range(0, len(keys), 2)
    ]
    return ReplyKeyboardMarkup(
        keyboard=rows, resize_keyboard=True, input_field_placeholder=t("menu.placeholder")
    )


@cache  # a few languages × one feature set: built once, sent many times
def _main_menu(language: str, features: tuple[str, ...]) -> ReplyKeyboardMarkup:
    # In the manifests' order (the features list's), whatever the order of FEATURES.
    menus = [menu for name, menu in _FEATURE_MENU.items() if name in features]
    keys = [key for menu in menus for key in menu.buttons]
    if len(keys) + len(CORE_MENU) > MAIN_MENU_BUTTONS:
        keys = [key for menu in menus if (key := menu.main_button) is not None]
    return _keyboard(Translator(language), [*keys, *CORE_MENU])


@cache
def _feature_menu(language: str, feature: str) -> ReplyKeyboardMarkup:
    return _keyboard(Translator(language), [*_FEATURE_MENU[feature].buttons, BACK])


def language_picker() -> InlineKeyboardBuilder:
    builder = InlineKeyboardBuilder()
    for language in LANGUAGES:
        builder.button(text=LANGUAGE_NAMES[language], callback_data=f"lang:{language}")
    builder.adjust(1)
    return builder
