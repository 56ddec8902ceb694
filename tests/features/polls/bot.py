"""The poll in the bot: /poll (or its menu button) asks, a button votes."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.methods import AnswerCallbackQuery, SendMessage
from aiogram.types import CallbackQuery, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bozor.i18n import Translator, all_translations
from bozor.settings import Settings

from . import service
from .settings import PollSettings

PREFIX = "poll:"


async def ask(message: Message, t: Translator) -> SendMessage:
    builder = InlineKeyboardBuilder()
    for choice in service.CHOICES:
        builder.button(text=t(f"poll.{choice}"), callback_data=f"{PREFIX}{choice}")
    return message.answer(t("poll.question"), reply_markup=builder.as_markup())


async def vote(
    query: CallbackQuery, session: AsyncSession, t: Translator, settings: Settings
) -> AnswerCallbackQuery:
    choice = (query.data or "").removeprefix(PREFIX)
    counts = await service.vote(session=session, telegram_id=query.from_user.id, choice=choice)
    if not PollSettings.of(settings).show_counts:
        return query.answer(t("poll.thanks_hidden"))
    return query.answer(t("poll.thanks", tea=counts["tea"], coffee=counts["coffee"]))


def create_router(settings: Settings) -> Router:
    router = Router(name="polls")
    private = F.chat.type == "private"
    router.message.register(ask, Command("poll"), private)
    router.message.register(ask, F.text.in_(all_translations("menu.poll")), private)
    router.callback_query.register(vote, F.data.startswith(PREFIX))
    return router
