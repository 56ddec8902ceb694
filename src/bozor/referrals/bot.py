"""Referrals in Telegram: deep-link start, /ref with link and QR, /top, channel condition."""

from __future__ import annotations

import io
import logging
from typing import Any
from urllib.parse import quote

import segno
from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.methods import SendMessage, SendPhoto, TelegramMethod
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bozor.bot.common import welcome_text
from bozor.bot.keyboards import main_menu
from bozor.errors import DomainError
from bozor.i18n import Translator, all_translations
from bozor.miniapp.buttons import open_app_button
from bozor.outbox.worker import Outgoing, Renderer
from bozor.referrals import hooks, service
from bozor.referrals.models import ReferralStatus
from bozor.settings import Settings
from bozor.telegram import single_attempt
from bozor.users import service as users_service
from bozor.users.models import User

log = logging.getLogger(__name__)

CHECK_SUBSCRIPTION = "ref:check"
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
) -> SendMessage:
    welcome = await welcome_text(bot, t, user, is_new=user_is_new)
    menu = main_menu(t, settings.features)
    channel = settings.referral_required_channel
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
    channel = settings.referral_required_channel
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


def qr_png(data: str) -> bytes:
    buffer = io.BytesIO()
    segno.make(data, error="m").save(buffer, kind="png", scale=8, border=2)
    return buffer.getvalue()


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


def channel_title(settings: Settings) -> str:
    channel = settings.referral_required_channel or ""
    return channel if channel.startswith("@") else (settings.referral_channel_url or channel)


def subscription_keyboard(t: Translator, settings: Settings) -> InlineKeyboardMarkup:
    channel = settings.referral_required_channel or ""
    url = settings.referral_channel_url or (
        f"https://t.me/{channel.removeprefix('@')}" if channel.startswith("@") else None
    )
    builder = InlineKeyboardBuilder()
    if url:
        builder.button(text=t("referral.open_channel"), url=url)
    builder.button(text=t("referral.check_subscription"), callback_data=CHECK_SUBSCRIPTION)
    builder.adjust(1)
    return builder.as_markup()


def _renderer(single_key: str, many_key: str) -> Renderer:
    async def render(
        session: AsyncSession, chat_id: int, batch: list[dict[str, Any]]
    ) -> Outgoing | None:
        referrer = await users_service.get_by_id(session=session, user_id=batch[0]["user_id"])
        if referrer is None:
            return None
        t = Translator(users_service.language_of(referrer))
        total = await service.confirmed_count(session=session, user_id=referrer.id)
        names = [str(params["name"]) for params in batch]
        if len(names) == 1:
            return Outgoing(t(single_key, name=names[0], total=total))
        shown = ", ".join(names[:10])
        if len(names) > 10:
            shown = t("notify.and_more", names=shown, more=len(names) - 10)
        return Outgoing(t(many_key, count=len(names), names=shown, total=total))

    return render


RENDERERS: dict[str, Renderer] = {
    hooks.NOTIFY_JOINED: _renderer("notify.referral_joined", "notify.referrals_joined"),
    hooks.NOTIFY_PENDING: _renderer("notify.referral_pending", "notify.referrals_pending"),
    hooks.NOTIFY_CONFIRMED: _renderer("notify.referral_confirmed", "notify.referrals_confirmed"),
}


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
