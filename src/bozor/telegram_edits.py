"""Edits that change nothing are not sent: Telegram refuses them ("message is not modified").

`UnchangedEdits`, the outermost request middleware of the bot, remembers how each message it
sent or edited last looked (text or caption, parse mode, entities, inline keyboard) and skips
an edit that would show the same (answering True, as Telegram does for a successful edit).
The new look is taken before the request goes out, so of two identical edits at the same
moment (a double press and the outbox, say) the second is skipped, not refused. What this
process did not see (another instance's edit) is caught by the answer itself: "message is not
modified" for an edit is taken as success here, the one place, and not logged as an error.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any, cast

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import (
    EditMessageCaption,
    EditMessageReplyMarkup,
    EditMessageText,
    SendMessage,
    SendPhoto,
    TelegramMethod,
)
from aiogram.methods.base import Response, TelegramType
from aiogram.types import InlineKeyboardMarkup, Message
from pydantic import BaseModel

log = logging.getLogger(__name__)

NOT_MODIFIED = "message is not modified"
EDITS = (EditMessageText, EditMessageCaption, EditMessageReplyMarkup)
# What an edit can change, besides the keyboard; a send is remembered by the same fields.
LOOK = ("text", "caption", "parse_mode", "entities", "caption_entities", "link_preview_options")

Key = tuple[str, int]  # (chat id, message id)
Look = tuple[str | None, str]  # (text or caption with their formatting, inline keyboard)


def _shown(value: Any) -> str:
    if isinstance(value, BaseModel):
        return value.model_dump_json(exclude_none=True)
    if isinstance(value, list):
        return "[" + ",".join(_shown(item) for item in value) + "]"
    return repr(value)


def _is_edit(method: TelegramMethod[Any]) -> bool:
    return isinstance(method, EDITS)


def _keyboard(method: TelegramMethod[Any]) -> str:
    markup = getattr(method, "reply_markup", None)
    return _shown(markup) if isinstance(markup, InlineKeyboardMarkup) else ""


def _content(method: TelegramMethod[Any]) -> str:
    return "|".join(f"{name}={_shown(getattr(method, name, None))}" for name in LOOK)


class UnchangedEdits(BaseRequestMiddleware):
    def __init__(self, size: int = 20_000) -> None:
        self.size = size
        self.looks: OrderedDict[Key, Look] = OrderedDict()

    def _remember(self, key: Key, look: Look) -> None:
        self.looks[key] = look
        self.looks.move_to_end(key)
        while len(self.looks) > self.size:
            self.looks.popitem(last=False)

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        chat_id, message_id = getattr(method, "chat_id", None), getattr(method, "message_id", None)
        if _is_edit(method) and chat_id is not None and message_id:
            return await self._edit(make_request, bot, method, (str(chat_id), int(message_id)))
        response = await make_request(bot, method)
        sent: object = response  # aiogram hands the result itself down the chain
        if isinstance(method, SendMessage | SendPhoto) and isinstance(sent, Message):
            key = (str(method.chat_id), sent.message_id)
            self._remember(key, (_content(method), _keyboard(method)))
        return response

    async def _edit(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
        key: Key,
    ) -> Response[TelegramType]:
        before = self.looks.get(key)
        content = None if isinstance(method, EditMessageReplyMarkup) else _content(method)
        look: Look = (
            content if content is not None else (before or (None, ""))[0],
            _keyboard(method),
        )
        if before is not None and before == look:
            log.debug("edit of message %s in %s skipped: nothing changes", key[1], key[0])
            return cast("Response[TelegramType]", True)  # as Telegram answers an edit
        self._remember(key, look)  # taken now: the same edit at the same moment is skipped
        try:
            return await make_request(bot, method)
        except TelegramBadRequest as exc:
            if NOT_MODIFIED in exc.message.lower():
                log.debug("edit of message %s in %s: not modified", key[1], key[0])
                return cast("Response[TelegramType]", True)  # as Telegram answers an edit
            self.looks.pop(key, None)  # how it looks now is not known
            raise
        except BaseException:
            self.looks.pop(key, None)
            raise
