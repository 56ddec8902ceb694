"""A handler's returned reply, sent after its transaction committed — and never dropped.

aiogram would execute a returned method itself (`silent_call_request`), log any failure and
drop the reply. Here it goes through the bot's request middleware (telegram.ResilientRequests:
paced to Telegram's limits, 429 and transient failures retried for TELEGRAM_RETRY_FOR
seconds); if Telegram still has not taken it, it is written to the outbox in a transaction of
its own, and the outbox worker sends it once Telegram is back. A refusal (400, 403) is final:
a later attempt would be refused the same way.

The same in polling and webhook mode: the reply is not put in the webhook's answer body,
where Telegram would neither pace it nor say whether it failed.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import aiogram.methods
from aiogram import BaseMiddleware, Bot
from aiogram.client.default import Default
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import TelegramMethod
from aiogram.types import BufferedInputFile, InputFile, TelegramObject, Update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bozor.db import session_scope
from bozor.outbox import service as outbox_service
from bozor.outbox.worker import Outgoing
from bozor.pacing import ChatBusy
from bozor.telegram import result_unread

log = logging.getLogger(__name__)

KIND = "telegram.method"  # outbox rows holding a Bot API call as it was made

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]

# Not worth sending late: a chat action means "typing now", callback and pre-checkout
# answers expire within seconds.
_NOT_LATER = frozenset({"sendChatAction"})

_METHODS: dict[str, type[TelegramMethod[Any]]] = {
    cls.__api_method__: cls
    for name in aiogram.methods.__all__
    if isinstance(cls := getattr(aiogram.methods, name), type)
    and issubclass(cls, TelegramMethod)
    and hasattr(cls, "__api_method__")
}


class ReplyMiddleware(BaseMiddleware):
    """Sends what the handler returned (outside DbSessionMiddleware: after the commit)."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self.session_factory = session_factory

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        result = await handler(event, data)
        if not isinstance(result, TelegramMethod):
            return result
        bot: Bot = data["bot"]
        update_id = event.update_id if isinstance(event, Update) else None
        try:
            with result_unread():  # what Telegram answers is not used
                await bot(result)
        except (TelegramRetryAfter, TelegramServerError, TelegramNetworkError, ChatBusy) as exc:
            await self._later(bot, result, update_id, exc)
        except TelegramAPIError as exc:
            log.warning("reply %s to update %s refused: %s", result.__api_method__, update_id, exc)
        except Exception:
            # The update is committed: the error handler's "something went wrong" would be
            # wrong, and a re-delivery would be dropped as handled.
            log.exception("reply %s to update %s failed", result.__api_method__, update_id)
        return None  # sent or queued: nothing for aiogram (or the webhook answer) to send

    async def _later(
        self, bot: Bot, method: TelegramMethod[Any], update_id: int | None, exc: Exception
    ) -> None:
        chat_id = getattr(method, "chat_id", None)
        if not isinstance(chat_id, int) or method.__api_method__ in _NOT_LATER:
            log.warning("reply %s to update %s lost: %s", method.__api_method__, update_id, exc)
            return
        try:
            params = method_params(method, bot)
            async with session_scope(self.session_factory) as session:
                await outbox_service.enqueue(
                    session=session, chat_id=chat_id, kind=KIND, params=params
                )
        except Exception:
            log.exception("reply %s to update %s lost", method.__api_method__, update_id)
            return
        log.warning(
            "reply %s to update %s queued in the outbox: %s",
            method.__api_method__,
            update_id,
            exc,
        )


def method_params(method: TelegramMethod[Any], bot: Bot) -> dict[str, Any]:
    """The call as JSON: its name and parameters, the bot's defaults filled in, an uploaded
    file's bytes in base64 (ValueError for a file that is not in memory)."""

    def plain(value: Any) -> Any:
        if isinstance(value, Default):
            return plain(bot.default[value.name])
        if isinstance(value, BufferedInputFile):
            return {
                "__file__": base64.b64encode(value.data).decode(),
                "filename": value.filename,
            }
        if isinstance(value, InputFile):
            raise ValueError(f"{type(value).__name__} cannot wait in the outbox")
        if isinstance(value, datetime):
            return value.isoformat()
        if isinstance(value, dict):
            return {k: p for k, v in value.items() if (p := plain(v)) is not None}
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        return value

    dumped = method.model_dump(exclude_none=True, mode="python", warnings=False)
    return {"method": method.__api_method__, "params": plain(dumped)}


def method_from_params(params: dict[str, Any]) -> TelegramMethod[Any]:
    """The call `method_params` described."""

    def rebuilt(value: Any) -> Any:
        if isinstance(value, dict):
            if "__file__" in value:
                return BufferedInputFile(
                    base64.b64decode(value["__file__"]), filename=value.get("filename") or "file"
                )
            return {k: rebuilt(v) for k, v in value.items()}
        if isinstance(value, list):
            return [rebuilt(v) for v in value]
        return value

    return _METHODS[params["method"]].model_validate(rebuilt(params["params"]))


async def render(session: AsyncSession, chat_id: int, rows: list[dict[str, Any]]) -> Outgoing:
    """The outbox renderer of KIND: the call as it was made (rows are never coalesced)."""
    return Outgoing(text="", method=method_from_params(rows[0]))
