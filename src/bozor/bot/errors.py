"""The one place where failures become a reply: domain errors translated, the rest apologised."""

from __future__ import annotations

import logging
from typing import Any

from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.types import ErrorEvent, Message

from bozor.errors import DomainError
from bozor.i18n import Translator, pick_language
from bozor.settings import Settings
from bozor.transient import is_transient

log = logging.getLogger(__name__)


async def on_error(event: ErrorEvent, settings: Settings | None = None) -> Any:
    update = event.update
    exc = event.exception
    if settings is not None and settings.webhook_url and is_transient(exc):
        # Nothing was saved (the transaction rolled back): the webhook answers 500 and
        # Telegram delivers the update again, by then to a fresh connection or instance.
        log.warning("update %s failed on a lost connection; Telegram will retry", update.update_id)
        return UNHANDLED
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
