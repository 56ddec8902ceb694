"""How the chat opens the Mini App: the menu button (setChatMenuButton with a web_app) and
"Open app" buttons under messages, both only when MINIAPP_URL is set."""

from __future__ import annotations

from aiogram import Bot
from aiogram.types import InlineKeyboardButton, MenuButtonDefault, MenuButtonWebApp, WebAppInfo

from bozor.i18n import Translator
from bozor.settings import Settings


def app_url(settings: Settings, path: str = "") -> str | None:
    """The Mini App's public address of `path` (e.g. "shop"); None when it is not set up."""
    if not settings.miniapp_url:
        return None
    return settings.miniapp_url.rstrip("/") + "/" + path.lstrip("/")


def open_app_button(settings: Settings, t: Translator, path: str) -> InlineKeyboardButton | None:
    """An inline "Open app" button opening the Mini App at `path`, when it is set up."""
    url = app_url(settings, path)
    if url is None:
        return None
    return InlineKeyboardButton(text=t("miniapp.open_app"), web_app=WebAppInfo(url=url))


async def set_menu_button(bot: Bot, settings: Settings) -> None:
    """The bot's default menu button: the Mini App when MINIAPP_URL is set, else Telegram's
    default (the command list), so switching it off takes the button away again."""
    url = app_url(settings)
    if url is None:
        await bot.set_chat_menu_button(menu_button=MenuButtonDefault())
        return
    text = Translator(settings.default_language)("miniapp.menu_button")
    await bot.set_chat_menu_button(
        menu_button=MenuButtonWebApp(text=text, web_app=WebAppInfo(url=url))
    )
