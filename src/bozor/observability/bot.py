"""aiogram middlewares: updates handled and their latency per handler; the update id in logs;
Bot API calls by method and result."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot, Dispatcher
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.dispatcher.event.handler import HandlerObject
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramConflictError,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response, TelegramType
from aiogram.types import TelegramObject, Update

from bozor.observability import logs
from bozor.observability.metrics import Metrics

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
SLOT = "_bozor_handler_slot"
UNHANDLED = "unhandled"  # no handler took it (or a middleware answered first: dropped, throttled)


class _Slot:
    __slots__ = ("name",)

    def __init__(self) -> None:
        self.name = UNHANDLED


class UpdateMetricsMiddleware(BaseMiddleware):
    """Outermost: times the whole update, and names it after the handler that took it."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        slot = _Slot()
        data[SLOT] = slot
        token = logs.update_id.set(event.update_id if isinstance(event, Update) else None)
        started = time.perf_counter()
        outcome = "error"
        try:
            result = await handler(event, data)
            outcome = "ok"
            return result
        finally:
            logs.update_id.reset(token)
            self.metrics.updates.labels(slot.name, outcome).inc()
            self.metrics.update_seconds.labels(slot.name).observe(time.perf_counter() - started)


class HandlerNameMiddleware(BaseMiddleware):
    """Inner: runs just before a handler, and tells the outer middleware which one it is."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        slot = data.get(SLOT)
        target = data.get("handler")
        if isinstance(slot, _Slot) and isinstance(target, HandlerObject):
            callback = target.callback
            module = getattr(callback, "__module__", "") or ""
            slot.name = f"{module}.{getattr(callback, '__qualname__', repr(callback))}"
        return await handler(event, data)


def install(dispatcher: Dispatcher, metrics: Metrics) -> None:
    """The outer middleware (register it before the others), and the inner one on every kind
    of event (routers inherit a parent's inner middlewares)."""
    dispatcher.update.outer_middleware(UpdateMetricsMiddleware(metrics))
    naming = HandlerNameMiddleware()
    for name, observer in dispatcher.observers.items():
        if name not in ("update", "error"):
            observer.middleware(naming)


_CODES: tuple[tuple[type[TelegramAPIError], str], ...] = (
    (TelegramRetryAfter, "429"),
    (TelegramForbiddenError, "403"),
    (TelegramUnauthorizedError, "401"),
    (TelegramNotFound, "404"),
    (TelegramConflictError, "409"),
    (TelegramEntityTooLarge, "413"),
    (TelegramBadRequest, "400"),
    (TelegramServerError, "5xx"),
    (TelegramNetworkError, "network"),
)


def result_of(exc: BaseException) -> str:
    for kind, code in _CODES:
        if isinstance(exc, kind):
            return code
    return "error"


class TelegramCallMetrics(BaseRequestMiddleware):
    """Innermost request middleware: sees every attempt, retries included."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        name = method.__api_method__
        started = time.perf_counter()
        result = "ok"
        try:
            return await make_request(bot, method)
        except BaseException as exc:
            result = result_of(exc)
            raise
        finally:
            self.metrics.telegram_calls.labels(name, result).inc()
            self.metrics.telegram_seconds.labels(name).observe(time.perf_counter() - started)
