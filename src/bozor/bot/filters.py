"""Synchronous filters run on the event loop, not in a thread.

aiogram calls a filter that is not a coroutine function through `asyncio.to_thread`: every
magic filter (`F.chat.type == "private"`, `F.text.in_(...)`) and every plain function. Each
check of each handler an update is matched against then costs a thread hand-off, a context
copy and the GIL changing hands, for an attribute comparison of a few microseconds. Bozor's
filters are pure checks of the update (they must never wait on I/O), so they run inline.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiogram import Router
from aiogram.dispatcher.event.handler import FilterObject, HandlerObject


def run_filters_inline(router: Router) -> int:
    """Make every synchronous filter of `router` and the routers it includes run inline;
    returns how many were changed. Call once the routers are assembled."""
    changed = 0
    for each in router.chain_tail:
        for observer in each.observers.values():
            handlers: list[HandlerObject] = [*observer.handlers]
            own = getattr(observer, "_handler", None)  # the observer's own `.filter(...)`s
            if isinstance(own, HandlerObject):
                handlers.append(own)
            for handler in handlers:
                for item in handler.filters or ():
                    changed += _inline(item)
    return changed


def _inline(item: FilterObject) -> int:
    if item.awaitable:
        return 0
    check: Callable[..., Any] = item.callback

    async def inline(*args: Any, **kwargs: Any) -> Any:
        return check(*args, **kwargs)

    # The parameters aiogram passes were read from the original callback; they stay.
    item.callback = inline
    item.awaitable = True
    return 1
