"""Whether Telegram answers, watched for the whole process, and the bot's identity kept.

A Telegram outage (or a network that blocks it during a deploy) must not take down what does
not need Telegram: the REST API, the dashboard, the workers. So start-up asks Telegram once,
briefly; if it does not answer, the process starts with the identity stored the last time it
did, `/readyz` says `"telegram": "degraded"`, and `run_until_up` retries with back-off and
jitter until Telegram answers, then starts the bot side. Only a refused token stops start-up.

Each change of state is logged once ("unreachable", "reachable again"), never each try.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import (
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response, TelegramType
from aiogram.types import User
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.types import ASGIApp, Receive, Scope, Send

from bozor.botidentity import service
from bozor.db import session_scope
from bozor.telegram import single_attempt

log = logging.getLogger(__name__)

State = Literal["ok", "degraded", "unauthorized"]
PROBE_TIMEOUT = 5.0  # seconds start-up (and each retry) waits for getMe
REFRESH_INTERVAL = 3600.0  # seconds between identity refreshes while Telegram answers
FIRST_RETRY = 1.0  # seconds before the first retry; doubled up to the settings' maximum
FAILURES_TO_DEGRADE = 3  # failed calls in a row (of any sender) before "degraded"

# Telegram or the way to it is down (anything else is an answer, and Telegram is up) ...
TRANSIENT = (TelegramNetworkError, TelegramServerError, TimeoutError, OSError)


def to_identity(me: User) -> service.Identity:
    return service.Identity(me.id, me.username, me.first_name, me.last_name)


def to_user(identity: service.Identity) -> User:
    return User(
        id=identity.bot_id,
        is_bot=True,
        first_name=identity.first_name,
        last_name=identity.last_name,
        username=identity.username,
    )


def describe(exc: BaseException) -> str:
    message = getattr(exc, "message", None) or str(exc)
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


class TelegramLink(BaseRequestMiddleware):
    """The state of the way to Telegram. Installed as a request middleware inside the retries,
    it hears every attempt of every sender, so an outage seen by polling or the outbox shows
    in `/readyz` too."""

    def __init__(
        self,
        bot: Bot,
        session_factory: async_sessionmaker[AsyncSession],
        *,
        max_retry: float = 30.0,
    ) -> None:
        self.bot = bot
        self.session_factory = session_factory
        self.max_retry = max_retry
        self.state: State = "ok"
        self.known = False  # whether the bot's identity is known (from Telegram or stored)
        self._failures = 0

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        try:
            response = await make_request(bot, method)
        except TelegramUnauthorizedError as exc:
            self._set("unauthorized", describe(exc))
            raise
        except TRANSIENT as exc:
            self._failures += 1
            if self._failures >= FAILURES_TO_DEGRADE:
                self._set("degraded", describe(exc))
            raise
        self._failures = 0
        self._set("ok")
        return response

    def _set(self, state: State, reason: str = "") -> None:
        if state == self.state:
            return
        previous, self.state = self.state, state
        if state == "ok":
            log.warning("Telegram answers again (was %s)", previous)
        else:
            self._failures = 0
            if state == "unauthorized":
                log.error("Telegram refuses the bot token (%s)", reason)
            else:
                log.warning(
                    "Telegram unreachable (%s); HTTP goes on, Telegram is retried with back-off",
                    reason,
                )

    async def probe(self) -> User:
        """getMe, once and briefly; the identity is stored and used by `bot.me()`."""
        with single_attempt():
            async with asyncio.timeout(PROBE_TIMEOUT):
                me = await self.bot.get_me()
        self._use(me)
        async with session_scope(self.session_factory) as session:
            await service.save(session=session, identity=to_identity(me))
        return me

    async def start_up(self) -> bool:
        """Ask Telegram who the bot is, or else use what it said last time; True if it
        answered. A refused token raises TelegramUnauthorizedError."""
        try:
            await self.probe()
        except TelegramUnauthorizedError:
            raise
        except TRANSIENT as exc:
            self._set("degraded", describe(exc))
            async with self.session_factory() as session:
                stored = await service.load(session=session, bot_id=self.bot.id)
            if stored is not None:
                self._use(to_user(stored))
                log.warning("using the bot's stored identity (@%s)", stored.username)
            else:
                log.warning("the bot's identity is not known yet: links wait for Telegram")
            return False
        return True

    def _use(self, me: User) -> None:
        # aiogram's Bot.me() answers from this cache, without calling Telegram.
        self.bot._me = me
        self.known = True

    async def wait_up(self, stop: asyncio.Event, attempt: Callable[[], Awaitable[Any]]) -> bool:
        """Run `attempt` until it passes, with back-off and jitter between tries; False if
        `stop` came first. A transient failure marks Telegram degraded."""
        delay = FIRST_RETRY
        while not stop.is_set():
            try:
                with single_attempt():
                    await attempt()
            except TRANSIENT as exc:
                self._set("degraded", describe(exc))
            except TelegramRetryAfter:
                pass  # Telegram is up; the back-off below is the wait it asked for, or near
            except TelegramUnauthorizedError as exc:
                self._set("unauthorized", describe(exc))
            else:
                return True
            # Full jitter: instances that lost Telegram together do not return together.
            if await _stopped(stop, random.uniform(delay / 2, delay)):
                return False
            delay = min(delay * 2, self.max_retry)
        return False

    async def run(self, stop: asyncio.Event) -> None:
        """Keep the identity fresh: probe with back-off while Telegram is away, and hourly
        while it answers."""
        while not stop.is_set():
            if self.state == "ok" and self.known:
                if await _stopped(stop, REFRESH_INTERVAL):
                    return
                with contextlib.suppress(Exception):  # a failure shows in the state
                    await self.probe()
            elif not await self.wait_up(stop, self.probe):
                return


async def _stopped(stop: asyncio.Event, seconds: float) -> bool:
    """Wait `seconds`, or less if `stop` is set; whether it is."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    return stop.is_set()


class FailFastWhileDown:
    """ASGI middleware: while Telegram is known not to answer, the Bot API calls an HTTP request
    makes (the bot's @username never stored, a refund) are tried once, so the request gets its
    503 at once instead of waiting through every retry."""

    def __init__(self, app: ASGIApp, link: TelegramLink, *, except_path: str | None) -> None:
        self.app = app
        self.link = link
        self.except_path = except_path  # Telegram's webhook: its replies keep their retries

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.link.state == "ok" or scope.get("path") == self.except_path:
            await self.app(scope, receive, send)
            return
        with single_attempt():
            await self.app(scope, receive, send)
