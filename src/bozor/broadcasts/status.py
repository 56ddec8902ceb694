"""The admin's status message: live progress, edited at most every few seconds."""

from __future__ import annotations

import logging
from datetime import timedelta

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bozor import localtime
from bozor.broadcasts import service
from bozor.broadcasts.models import Broadcast, BroadcastState
from bozor.db import session_scope, utcnow
from bozor.i18n import Translator
from bozor.pacing import ChatBusy, Pacer
from bozor.telegram import single_attempt

log = logging.getLogger(__name__)

CANCEL_PREFIX = "bc_cancel:"
OPEN_STATES = (BroadcastState.SCHEDULED, BroadcastState.RUNNING)


def text(t: Translator, broadcast: Broadcast, progress: service.Progress) -> str:
    """The status: state and counts by outcome."""
    lines = [t(f"broadcast.state.{broadcast.state}", id=broadcast.id)]
    if broadcast.state == BroadcastState.SCHEDULED:
        when = localtime.show(broadcast.scheduled_at)
        lines.append(t("broadcast.scheduled_for", when=when))
    else:
        done = progress.total - progress.waiting
        lines.append(
            t(
                "broadcast.progress",
                done=done,
                total=progress.total,
                sent=progress["sent"],
                blocked=progress["blocked"],
                failed=progress["failed"] + progress["unknown"],
                cancelled=progress["cancelled"],
            )
        )
    return "\n".join(lines)


def keyboard(t: Translator, broadcast: Broadcast) -> InlineKeyboardMarkup | None:
    if broadcast.state not in OPEN_STATES:
        return None
    button = InlineKeyboardButton(
        text=t("broadcast.cancel_button"), callback_data=f"{CANCEL_PREFIX}{broadcast.id}"
    )
    return InlineKeyboardMarkup(inline_keyboard=[[button]])


async def refresh_all(
    bot: Bot,
    factory: async_sessionmaker[AsyncSession],
    pacer: Pacer,
    *,
    interval: float,
) -> None:
    """Edit the status messages that are due: each at most every `interval` seconds, a last
    time once the broadcast is over. A conditional UPDATE claims each edit, so on several
    instances one of them makes it."""
    now = utcnow()
    due = or_(
        Broadcast.status_edited_at.is_(None),
        Broadcast.status_edited_at < now - timedelta(seconds=interval),
    )
    async with session_scope(factory) as session:
        ids = list(
            await session.scalars(
                select(Broadcast.id).where(
                    Broadcast.status_message_id.is_not(None),
                    Broadcast.status_final.is_(False),
                    Broadcast.state != BroadcastState.SCHEDULED,
                    due,
                )
            )
        )
    for broadcast_id in ids:
        async with session_scope(factory) as session:
            broadcast = await session.scalar(
                update(Broadcast)
                .where(Broadcast.id == broadcast_id, Broadcast.status_final.is_(False), due)
                .values(
                    status_edited_at=now,
                    status_final=Broadcast.state.not_in(list(OPEN_STATES)),
                )
                .returning(Broadcast)
            )
            if broadcast is None:
                continue
            progress = await service.progress(session=session, broadcast_id=broadcast_id)
        await edit(bot, pacer, broadcast, progress)


async def edit(bot: Bot, pacer: Pacer, broadcast: Broadcast, progress: service.Progress) -> None:
    """Show the progress in the status message (skipped when the chat is busy)."""
    if broadcast.status_chat_id is None or broadcast.status_message_id is None:
        return
    t = Translator(broadcast.status_language)
    try:
        await pacer.acquire(broadcast.status_chat_id, max_chat_wait=1.0)
        with single_attempt():
            await bot.edit_message_text(
                chat_id=broadcast.status_chat_id,
                message_id=broadcast.status_message_id,
                text=text(t, broadcast, progress),
                reply_markup=keyboard(t, broadcast),
            )
    except ChatBusy:
        pass
    except TelegramAPIError as exc:  # "message is not modified", deleted, ...
        log.info("status of broadcast %s not edited: %s", broadcast.id, exc)
