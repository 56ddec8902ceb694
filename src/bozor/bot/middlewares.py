"""Per-update middlewares: de-duplication, throttling, a DB session, the user and language."""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import CallbackQuery, Message, TelegramObject, Update
from aiogram.types import User as TelegramUser
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bozor.i18n import Translator, pick_language
from bozor.ratelimit import KeyedLimiter
from bozor.updates import service as updates_service
from bozor.users import service as users_service

log = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class DuplicateUpdateMiddleware(BaseMiddleware):
    """Drops an update whose id this process handled lately (Telegram re-delivers on webhook
    errors): a cheap first check, in memory. The guarantee, across instances too, is
    DbSessionMiddleware's record of handled updates, written in every update's transaction:
    a shared Redis record as well would cost two round trips per update for what that record
    already decides.
    """

    def __init__(self, *, remember: int = 50_000) -> None:
        self.remember = remember
        self._seen: OrderedDict[int, None] = OrderedDict()

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        update_id = event.update_id
        seen = self._seen
        if update_id in seen:
            log.info("update %s delivered again; ignored", update_id)
            return None
        seen[update_id] = None
        if len(seen) > self.remember:
            seen.popitem(last=False)
        try:
            return await handler(event, data)
        except BaseException:
            seen.pop(update_id, None)  # a re-delivery may succeed
            raise


class ThrottlingMiddleware(BaseMiddleware):
    """Per-user token bucket on messages and button presses; tells the user once per burst.
    Admins are not throttled: they work through many commands in a row on purpose."""

    def __init__(
        self,
        rate: float,
        burst: int,
        redis: Redis | None = None,
        *,
        prefix: str = "bozor",
        exempt: frozenset[int] = frozenset(),
    ) -> None:
        self.limiter = KeyedLimiter(rate, burst, redis, prefix=f"{prefix}:throttle")
        self.exempt = exempt
        self._warned: dict[int, float] = {}

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: TelegramUser | None = data.get("event_from_user")
        throttled_kind = isinstance(event, Update) and (event.message or event.callback_query)
        if (
            user is None
            or not throttled_kind
            or user.id in self.exempt
            or not await self.limiter.hit(str(user.id))
        ):
            return await handler(event, data)
        await self._warn(event, user)
        return None

    async def _warn(self, event: TelegramObject, user: TelegramUser) -> None:
        now = time.monotonic()
        if now - self._warned.get(user.id, 0.0) < 5:
            return
        if len(self._warned) > 10_000:
            self._warned = {uid: at for uid, at in self._warned.items() if now - at < 5}
        self._warned[user.id] = now
        t = Translator(pick_language(user.language_code))
        inner = event.event if isinstance(event, Update) else event
        if isinstance(inner, CallbackQuery | Message):
            await inner.answer(t("common.throttled"))


class DbSessionMiddleware(BaseMiddleware):
    """One session and one transaction per update; committed when the handlers succeed.

    The transaction first records the update as handled: a second delivery of it (to this or
    another instance, even at the same moment) finds the record and is dropped, while an
    update whose handling failed or was cut short (a crash) left no record and is handled
    again when Telegram re-delivers it.
    """

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self.session_factory = session_factory

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        async with self.session_factory() as session:
            data["session"] = session
            if isinstance(event, Update) and not await updates_service.claim(
                session=session, bot_id=data["bot"].id, update_id=event.update_id
            ):
                log.info("update %s was handled already; ignored", event.update_id)
                return None
            result = await handler(event, data)
            await session.commit()
            return result


class UserMiddleware(BaseMiddleware):
    """Stores or refreshes the user behind the update; gives handlers `user` and `t`."""

    def __init__(self, default_language: str) -> None:
        self.default_language = default_language

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        tg_user: TelegramUser | None = data.get("event_from_user")
        if tg_user is None or tg_user.is_bot:
            data["t"] = Translator(self.default_language)
            return await handler(event, data)
        user, created = await users_service.upsert_from_telegram(
            session=data["session"],
            profile=users_service.TelegramProfile(
                telegram_id=tg_user.id,
                first_name=tg_user.first_name,
                last_name=tg_user.last_name,
                username=tg_user.username,
                language_code=tg_user.language_code,
            ),
            wrote=not (isinstance(event, Update) and event.my_chat_member),
            probably_new=_is_deep_link_start(event),
        )
        data["user"] = user
        data["user_is_new"] = created
        data["t"] = Translator(users_service.language_of(user, self.default_language))
        return await handler(event, data)


def _is_deep_link_start(event: TelegramObject) -> bool:
    """`/start <payload>`: someone following a link, most often for the first time."""
    message = event.message if isinstance(event, Update) else None
    return bool(message and message.text and message.text.startswith("/start "))
