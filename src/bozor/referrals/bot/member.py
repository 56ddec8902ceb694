"""Referrals in Telegram: deep-link start, /ref with link and QR, /top, channel condition."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.methods import SendMessage, SendPhoto, TelegramMethod
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bozor.bot.common import welcome_text
from bozor.bot.keyboards import main_menu
from bozor.errors import DomainError
from bozor.featurekit import Feature
from bozor.i18n import Translator, all_translations
from bozor.miniapp.buttons import open_app_button
from bozor.referrals import service
from bozor.referrals.bot.texts_and_keyboards import (
    CHECK_SUBSCRIPTION,
    channel_title,
    qr_png,
    subscription_keyboard,
)
from bozor.referrals.models import ReferralStatus
from bozor.referrals.settings import ReferralSettings
from bozor.settings import Settings
from bozor.telegram import single_attempt
from bozor.users.models import User

log = logging.getLogger(__name__)

MEMBER_STATUSES = {"creator", "administrator", "member"}


async def start_with_code(
    message: Message,
    command: CommandObject,
    bot: Bot,
    session: AsyncSession,
    user: User,
    user_is_new: bool,
    t: Translator,
    settings: Settings,
    features: Sequence[Feature],
) -> SendMessage:
    welcome = await welcome_text(
        bot, t, user, is_new=user_is_new, features=features, settings=settings
    )
    menu = main_menu(t, settings.features)
    channel = ReferralSettings.of(settings).required_channel
    try:
        code = command.args or ""
        owner = await service.find_referrer(session=session, code=code)  # before asking
        subscribed = channel is None or await is_subscribed(bot, channel, message.chat.id)
        referral, referrer = await service.register_referral(
            session=session,
            referred=user,
            code=code,
            referred_is_new=user_is_new,
            needs_confirmation=not subscribed,
            settings=settings,
            referrer=owner,
        )
    except DomainError as refusal:
        return message.answer(
            f"{welcome}\n\n{t(refusal.code, **refusal.params)}", reply_markup=menu
        )
    if referral.status == ReferralStatus.CONFIRMED:
        accepted = t("referral.accepted", referrer=referrer.full_name)
        return message.answer(f"{welcome}\n\n{accepted}", reply_markup=menu)
    if referral.status == ReferralStatus.REVIEW:
        noted = t("referral.under_review", referrer=referrer.full_name)
        return message.answer(f"{welcome}\n\n{noted}", reply_markup=menu)
    await session.commit()  # two messages follow; both must describe what is saved
    await message.answer(welcome, reply_markup=menu)
    return message.answer(
        t("referral.need_channel", referrer=referrer.full_name, channel=channel_title(settings)),
        reply_markup=subscription_keyboard(t, settings),
    )


async def check_subscription(
    query: CallbackQuery,
    bot: Bot,
    session: AsyncSession,
    user: User,
    t: Translator,
    settings: Settings,
) -> TelegramMethod[Any] | None:
    channel = ReferralSettings.of(settings).required_channel
    referrer = await service.pending_referrer(session=session, referred=user)
    if channel is None or referrer is None:
        return query.answer(t("referral.nothing_pending"), show_alert=True)
    if not await is_subscribed(bot, channel, query.from_user.id):
        return query.answer(
            t("referral.not_subscribed", channel=channel_title(settings)), show_alert=True
        )
    await service.confirm_pending(session=session, referred=user, settings=settings)
    await session.commit()  # the answer and the edit below tell the user it is saved
    await query.answer()
    if not isinstance(query.message, Message):
        return None
    return query.message.edit_text(
        t("referral.subscription_confirmed", referrer=referrer.full_name)
    )


async def show_link(
    message: Message,
    bot: Bot,
    session: AsyncSession,
    user: User,
    t: Translator,
    settings: Settings,
) -> SendPhoto:
    me = await bot.me()
    link = f"https://t.me/{me.username}?start={user.referral_code}"
    figures = await service.stats(session=session, user_id=user.id)
    caption = t(
        "ref.text",
        link=link,
        invited=figures.invited,
        confirmed=figures.confirmed,
        rank=figures.rank or t("ref.no_rank"),
    )
    share_url = (
        f"https://t.me/share/url?url={quote(link, safe='')}"
        f"&text={quote(t('ref.share_text', bot=me.first_name), safe='')}"
    )
    keyboard = InlineKeyboardBuilder()
    keyboard.button(text=t("ref.share"), url=share_url)
    if (app := open_app_button(settings, t, "referrals")) is not None:
        keyboard.row(app)
    return message.answer_photo(
        BufferedInputFile(qr_png(link), filename="invite.png"),
        caption=caption,
        reply_markup=keyboard.as_markup(),
    )


async def show_top(
    message: Message, session: AsyncSession, user: User, t: Translator
) -> SendMessage:
    leaders = await service.leaderboard(session=session, limit=10)
    if not leaders:
        return message.answer(t("top.empty"))
    lines = [t("top.title"), ""]
    lines += [
        t("top.line", place=place, name=row.user.full_name, count=row.confirmed)
        for place, row in enumerate(leaders, start=1)
    ]
    mine = await service.stats(session=session, user_id=user.id)
    lines.append("")
    lines.append(
        t("top.you", rank=mine.rank, count=mine.confirmed) if mine.rank else t("top.you_none")
    )
    return message.answer("\n".join(lines))


async def is_subscribed(bot: Bot, channel: str, telegram_id: int) -> bool:
    """Whether the user is in the channel. Any failure counts as "not yet": the user gets the
    "I subscribed" button to check again, instead of an error."""
    chat: int | str = int(channel) if channel.lstrip("-").isdigit() else channel
    try:
        # one attempt: the caller holds a transaction, which must not wait out retries
        with single_attempt():
            member = await bot.get_chat_member(chat_id=chat, user_id=telegram_id)
    except TelegramAPIError as exc:
        log.warning("cannot check membership in %s: %s", channel, exc)
        return False
    if member.status == "restricted":
        return bool(getattr(member, "is_member", False))
    return member.status in MEMBER_STATUSES


def create_router(settings: Settings) -> Router:
    router = Router(name="referrals")
    private = F.chat.type == "private"
    router.message.register(
        start_with_code,
        # every other feature's payload has a `prefix_`; anything else is meant as a referral code
        CommandStart(deep_link=True, magic=F.args.func(lambda payload: "_" not in payload)),
        private,
    )
    router.message.register(show_link, Command("ref"), private)
    router.message.register(show_link, F.text.in_(all_translations("menu.invite")), private)
    router.message.register(show_top, Command("top"), private)
    router.message.register(show_top, F.text.in_(all_translations("menu.top")), private)
    router.callback_query.register(check_subscription, F.data == CHECK_SUBSCRIPTION)
    return router
