"""Talking to the Bot API: honour 429 retry_after, retry 5xx with backoff, record 403.

Installed as an aiogram request middleware on the bot's session, so every call — handler
replies, outbox sends, set-up — gets the same treatment.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response, TelegramType

from bozor import telegram_limits
from bozor.settings import TELEGRAM_API_URL, Settings

log = logging.getLogger(__name__)

BlockedCallback = Callable[[int], Coroutine[Any, Any, None]]


class FloodGate:
    """Pauses every sender of this process while Telegram asked us to wait (429).

    `on_close` hears of each pause (the shared pacer passes it on to other instances).
    """

    def __init__(self, on_close: Callable[[float], None] | None = None) -> None:
        self._open_at = 0.0
        self.on_close = on_close

    @property
    def open_at(self) -> float:
        """The monotonic time sending may resume."""
        return self._open_at

    def close_for(self, seconds: float, *, notify: bool = True) -> None:
        self._open_at = max(self._open_at, time.monotonic() + seconds)
        if notify and self.on_close is not None:
            self.on_close(seconds)

    async def wait(self) -> None:
        # re-check after sleeping: another 429 may have pushed the opening further
        while (delay := self._open_at - time.monotonic()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(delay)


_single_attempt: ContextVar[bool] = ContextVar("bozor_single_attempt", default=False)


TEXT_LIMIT = 4096  # characters of one message's text


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """A long text as messages Telegram accepts: cut at line ends, a line longer than a whole
    message cut where it must be."""
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:limit])
            line = line[limit:]
        joined = f"{current}\n{line}" if current else line
        if len(joined) > limit:
            parts.append(current)
            joined = line
        current = joined
    if current or not parts:
        parts.append(current)
    return parts


@contextmanager
def single_attempt() -> Iterator[None]:
    """Calls inside fail at once instead of being retried (for callers holding a lock)."""
    token = _single_attempt.set(True)
    try:
        yield
    finally:
        _single_attempt.reset(token)


class ResilientRequests(BaseRequestMiddleware):
    """Retries what Telegram says can be retried, and reports users who blocked the bot."""

    def __init__(
        self,
        gate: FloodGate,
        *,
        on_blocked: BlockedCallback | None = None,
        max_attempts: int = 6,
        base_backoff: float = 0.5,
    ) -> None:
        self.gate = gate
        self.on_blocked = on_blocked
        self.max_attempts = max_attempts
        self.base_backoff = base_backoff
        self._tasks: set[asyncio.Task[None]] = set()
        # aiogram parses each answer with Response[<type>]; pydantic keeps those generic
        # classes only weakly and rebuilds one (~5 ms) whenever GC dropped it. Holding them
        # here keeps them built.
        self._response_types: dict[Any, type[Response[Any]]] = {}

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        returning = method.__returning__
        if returning not in self._response_types:
            self._response_types[returning] = Response[returning]  # type: ignore[valid-type]
        max_attempts = 1 if _single_attempt.get() else self.max_attempts
        attempt = 0
        while True:
            attempt += 1
            await self.gate.wait()
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                if attempt >= max_attempts:
                    raise
                log.warning(
                    "Telegram asked to wait %ss (%s)", exc.retry_after, method.__api_method__
                )
                self.gate.close_for(exc.retry_after)
            except (TelegramServerError, TelegramNetworkError) as exc:
                if attempt >= max_attempts:
                    raise
                delay = min(30.0, self.base_backoff * 2 ** (attempt - 1))
                log.warning("%s failed (%s); retry in %.1fs", method.__api_method__, exc, delay)
                await asyncio.sleep(delay)
            except TelegramForbiddenError:
                self._report_blocked(method)
                raise

    def _report_blocked(self, method: TelegramMethod[Any]) -> None:
        chat_id = getattr(method, "chat_id", None)
        if self.on_blocked is None or not isinstance(chat_id, int) or chat_id < 0:
            return
        # In the background: the caller may hold a transaction the recording must not wait on.
        task = asyncio.create_task(self.on_blocked(chat_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for pending blocked-user recordings (at shutdown)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


def create_bot(settings: Settings, resilience: ResilientRequests) -> Bot:
    """The aiogram Bot for these settings, with the resilient request middleware installed."""
    if settings.bot_token is None:
        raise ValueError("BOT_TOKEN is not set")
    api = (
        None
        if settings.telegram_api_url == TELEGRAM_API_URL
        else TelegramAPIServer.from_base(settings.telegram_api_url)
    )
    session = AiohttpSession(api=api) if api else AiohttpSession()
    session.middleware(resilience)
    telegram_limits.install(session)
    return Bot(
        settings.bot_token.get_secret_value(), session=session, default=DefaultBotProperties()
    )
