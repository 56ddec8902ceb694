"""The one place where failures become a reply: domain errors translated, the rest apologised."""

from __future__ import annotations

import logging

from aiogram.types import ErrorEvent, Message

from bozor.errors import DomainError
from bozor.i18n import Translator, pick_language

log = logging.getLogger(__name__)


async def on_error(event: ErrorEvent) -> bool:
    update = event.update
    exc = event.exception
    if isinstance(exc, DomainError):
        key, params = exc.code, exc.params
    else:
        log.error("update %s failed", update.update_id, exc_info=exc)
        key, params = "common.error", {}
    query = update.callback_query
    message = update.message or (
        query.message if query and isinstance(query.message, Message) else None
    )
    from_user = (query.from_user if query else None) or (message.from_user if message else None)
    t = Translator(pick_language(from_user.language_code if from_user else None))
    try:
        if query is not None:
            await query.answer(t(key, **params), show_alert=True)
        elif message is not None and message.chat.type == "private":
            await message.answer(t(key, **params))
    except Exception:  # the apology itself failed (user blocked the bot, Telegram down)
        log.warning("could not tell the user about the failure of update %s", update.update_id)
    return True
