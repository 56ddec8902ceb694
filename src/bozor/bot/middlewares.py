"""Per-update middlewares: de-duplication, throttling, a DB session, the user and language."""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import Message, TelegramObject, Update
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


# What a person types or sends: throttled. Everything else a message can carry is Telegram
# reporting something (a payment, a refund, a member joining, a pinned message) or the answer
# to a button the bot showed (a shared contact, user or chat, Mini App data): never dropped.
TYPED = (
    "text",
    "photo",
    "sticker",
    "video",
    "voice",
    "video_note",
    "animation",
    "document",
    "audio",
    "location",
    "venue",
    "poll",
    "dice",
    "story",
    "game",
)


def typed_by_a_person(message: Message) -> bool:
    """The message is something a person typed or sent (as opposed to a service message)."""
    return message.text is not None or any(getattr(message, kind) for kind in TYPED[1:])


class ThrottlingMiddleware(BaseMiddleware):
    """Per-user token bucket on what a person types and the buttons they press; service
    updates (payments, membership, channel posts, a contact shared on request) always pass.

    A throttled message is told once per burst; a throttled button press is always answered
    with a short toast, or the button keeps spinning. Admins are not throttled: they work
    through many commands in a row on purpose."""

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
        if user is None or user.id in self.exempt or not _throttled_kind(event):
            return await handler(event, data)
        if not await self.limiter.hit(str(user.id)):
            return await handler(event, data)
        assert isinstance(event, Update)
        t = Translator(pick_language(user.language_code))
        if event.callback_query is not None:
            await event.callback_query.answer(t("common.too_fast"))
        elif event.message is not None and self._warn_now(user.id):
            await event.message.answer(t("common.throttled"))
        return None

    def _warn_now(self, user_id: int) -> bool:
        """Once per burst (5 s) per user."""
        now = time.monotonic()
        if now - self._warned.get(user_id, 0.0) < 5:
            return False
        if len(self._warned) > 10_000:
            self._warned = {uid: at for uid, at in self._warned.items() if now - at < 5}
        self._warned[user_id] = now
        return True


def _throttled_kind(event: TelegramObject) -> bool:
    if not isinstance(event, Update):
        return False
    if event.callback_query is not None:
        return True
    return event.message is not None and typed_by_a_person(event.message)


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
