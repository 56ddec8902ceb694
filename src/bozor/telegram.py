"""Talking to the Bot API: pace sends to Telegram's limits, honour 429 retry_after, retry
transient failures with back-off and jitter, record 403.

Installed as an aiogram request middleware on the bot's session, so every call — handler
replies, outbox sends, set-up — gets the same treatment.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

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
from bozor.telegram_edits import UnchangedEdits

if TYPE_CHECKING:
    from bozor.pacing import Pacer

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
# The chat a caller already reserved a send slot for (Pacer.acquire sets it): its next send
# there uses that slot instead of reserving a second one.
_reserved: ContextVar[int | None] = ContextVar("bozor_reserved_slot", default=None)

# Methods Telegram counts against its flood limits: they put a new message in a chat.
_NOT_MESSAGES = frozenset({"sendChatAction"})
_ALSO_MESSAGES = frozenset({"copyMessage", "copyMessages", "forwardMessage", "forwardMessages"})


def is_message(method: TelegramMethod[Any]) -> bool:
    """Whether Telegram counts this call as a message sent (and so paces it)."""
    name = method.__api_method__
    return (name.startswith("send") and name not in _NOT_MESSAGES) or name in _ALSO_MESSAGES


def slot_reserved(chat_id: int | None) -> None:
    """The caller holds a send slot for `chat_id` (called by the pacer once reserved)."""
    _reserved.set(chat_id)


class TelegramGatewayError(TelegramServerError):
    """Telegram's front end answered an HTML error page (502 Bad Gateway, 504 Gateway
    Timeout...) instead of the Bot API's JSON: the back end is down or slow, try again."""


_result_unread: ContextVar[bool] = ContextVar("bozor_result_unread", default=False)
_UNREAD: Response[Any] = Response[Any].model_construct(ok=True, result=None)


@contextmanager
def result_unread() -> Iterator[None]:
    """Calls inside return None on success: their caller discards what Telegram answered, so
    it is not parsed into models (a returned reply's `Message`: a visible share of each
    update's CPU). Failures are read and raised as always."""
    token = _result_unread.set(True)
    try:
        yield
    finally:
        _result_unread.reset(token)


class GatewayAwareSession(AiohttpSession):
    """aiogram reads every answer as JSON, so a proxy's HTML page for a 5xx surfaces as
    ClientDecodeError, which says nothing of being transient. Here it is a server error."""

    def check_response(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        status_code: int,
        content: str,
    ) -> Response[TelegramType]:
        if status_code >= 500 and not content.lstrip().startswith("{"):
            raise TelegramGatewayError(
                method=method, message=f"HTTP {status_code} from Telegram's front end (no JSON)"
            )
        if status_code == 200 and _result_unread.get():
            try:
                answered_ok = self.json_loads(content).get("ok") is True
            except Exception:  # not JSON: aiogram's own reading says so
                answered_ok = False
            if answered_ok:
                return _UNREAD
        return super().check_response(bot, method, status_code, content)


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
    """Paces messages, retries what can be retried, and reports users who blocked the bot.

    A message (send*, copy, forward) first takes a slot from the pacer, unless its caller
    reserved one already (the outbox and the broadcasts do, to decide what to send next). A
    429 waits the `retry_after` Telegram gave, pausing every sender; a 5xx (an HTML gateway
    page included), a timeout or a lost connection is tried again after an exponential
    back-off with jitter. Both go on until `retry_for` seconds have passed since the first
    failure; then the caller gets the last error (a handler's reply then goes to the outbox).
    """

    def __init__(
        self,
        gate: FloodGate,
        *,
        on_blocked: BlockedCallback | None = None,
        pacer: Pacer | None = None,
        retry_for: float = 30.0,
        base_backoff: float = 0.5,
        max_backoff: float = 8.0,
        chat_burst: int = 3,
    ) -> None:
        self.gate = gate
        self.on_blocked = on_blocked
        self.pacer = pacer
        self.retry_for = retry_for
        self.base_backoff = base_backoff
        self.max_backoff = max_backoff
        # A reply and its follow-ups go out at once; Telegram allows a private chat short
        # bursts above 1/s (see docs/architecture.md, Telegram's limits).
        self.chat_burst = chat_burst
        self._tasks: set[asyncio.Task[None]] = set()
        # aiogram parses each answer with Response[<type>]; pydantic keeps those generic
        # classes only weakly and rebuilds one (~5 ms) whenever GC dropped it. Holding them
        # here keeps them built.
        self._response_types: dict[Any, type[Response[Any]]] = {}

    def backoff(self, attempt: int) -> float:
        """Seconds before retry number `attempt`: doubling, capped, with jitter (half fixed,
        half random) so that callers failing together do not retry together."""
        delay = min(self.max_backoff, self.base_backoff * 2.0 ** (attempt - 1))
        return delay / 2 + random.uniform(0, delay / 2)

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        returning = method.__returning__
        if returning not in self._response_types:
            self._response_types[returning] = Response[returning]  # type: ignore[valid-type]
        once = _single_attempt.get()
        chat_id = getattr(method, "chat_id", None)
        paced_chat = chat_id if isinstance(chat_id, int) else None
        paced = self.pacer is not None and is_message(method)
        if paced and paced_chat is not None and _reserved.get() == paced_chat:
            _reserved.set(None)  # the caller's slot is this send's
            paced = False
        give_up_at: float | None = None  # set by the first failure
        attempt = 0
        while True:
            attempt += 1
            if paced and self.pacer is not None:
                await self.pacer.acquire(
                    paced_chat, max_chat_wait=self.retry_for, burst=self.chat_burst
                )
                _reserved.set(None)
            else:
                await self.gate.wait()
            paced = self.pacer is not None and is_message(method)  # every retry is a send
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                self.gate.close_for(exc.retry_after)
                now = time.monotonic()
                give_up_at = give_up_at or now + self.retry_for
                if once or now + exc.retry_after > give_up_at:
                    raise
                log.warning(
                    "Telegram asked to wait %ss (%s)", exc.retry_after, method.__api_method__
                )
            except (TelegramServerError, TelegramNetworkError) as exc:
                now = time.monotonic()
                give_up_at = give_up_at or now + self.retry_for
                delay = self.backoff(attempt)
                if once or now + delay > give_up_at:
                    raise
                # Each try at debug level: an outage is logged once, by TelegramLink.
                log.debug("%s failed (%s); retry in %.1fs", method.__api_method__, exc, delay)
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
    session = GatewayAwareSession(api=api) if api else GatewayAwareSession()
    session.middleware(UnchangedEdits())  # outermost: a skipped edit takes no send slot
    session.middleware(resilience)
    telegram_limits.install(session)
    return Bot(
        settings.bot_token.get_secret_value(), session=session, default=DefaultBotProperties()
    )
