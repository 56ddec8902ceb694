"""Telegram's size limits, and the one place texts are fitted to them.

Telegram refuses what is too long (a callback answer over 200 characters fails with
MESSAGE_TOO_LONG and the member sees nothing), so texts built from people's content — lottery
titles, product names, ad titles — are cut here, with "…", on a grapheme boundary (never
inside an emoji or between a letter and its accent).

Handlers cut the *content* where the cut matters (`fit_param`: a toast keeps its meaningful
ending, the title is shortened); `FitToLimits`, a request middleware on the bot's session, is
the safety net that cuts whatever else would still be refused, and logs it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import regex
from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.methods import AnswerCallbackQuery, TelegramMethod
from aiogram.methods.base import Response, TelegramType
from aiogram.types import InlineKeyboardMarkup

log = logging.getLogger(__name__)

TOAST = 200  # answerCallbackQuery text
TEXT = 4096  # a message's text, after entities are parsed
CAPTION = 1024  # a media caption
BUTTON = 48  # a button label: Telegram has no hard cap, but clients show about a line of it
INVOICE_TITLE = 32  # sendInvoice title
INVOICE_DESCRIPTION = 255  # sendInvoice description
ELLIPSIS = "…"

_GRAPHEME = regex.compile(r"\X")


def cut(text: str, limit: int) -> str:
    """`text` when it fits in `limit` characters, else its first graphemes and "…"."""
    if len(text) <= limit:
        return text
    room = limit - len(ELLIPSIS)
    kept = 0
    for match in _GRAPHEME.finditer(text):
        if match.end() > room:
            break
        kept = match.end()
    return text[:kept].rstrip() + ELLIPSIS


def fit_toast(text: str) -> str:
    """A callback answer Telegram accepts."""
    return cut(text, TOAST)


def fit_text(text: str) -> str:
    """A message text Telegram accepts (split_text in bozor.telegram keeps everything)."""
    return cut(text, TEXT)


def fit_button(text: str) -> str:
    """A button label short enough to read on a phone."""
    return cut(" ".join(text.split()), BUTTON)


def fit_param(render: Callable[[str], str], value: str, limit: int = TOAST) -> str:
    """`render(value)` within `limit`, shortening `value` (a title) rather than the sentence
    around it, so the sentence keeps its ending."""
    text = render(value)
    over = len(text) - limit
    if over <= 0:
        return text
    shorter = render(cut(value, max(1, len(value) - over)))
    return shorter if len(shorter) <= limit else cut(shorter, limit)


def fit_markup(markup: InlineKeyboardMarkup) -> InlineKeyboardMarkup:
    """The same keyboard with every label fitted (a copy; the original is left alone)."""
    rows = [
        [button.model_copy(update={"text": fit_button(button.text)}) for button in row]
        for row in markup.inline_keyboard
    ]
    return markup.model_copy(update={"inline_keyboard": rows})


class FitToLimits(BaseRequestMiddleware):
    """Cuts a callback answer that Telegram would refuse, instead of losing it.

    Handlers should already have cut it meaningfully (`fit_param`); reaching this cut means
    one did not, so it is logged."""

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        if isinstance(method, AnswerCallbackQuery) and method.text and len(method.text) > TOAST:
            log.warning("callback answer of %d characters cut to %d", len(method.text), TOAST)
            method.text = fit_toast(method.text)
        return await make_request(bot, method)


def install(session: Any) -> None:
    """Registers `FitToLimits` on an aiogram session."""
    session.middleware(FitToLimits())
