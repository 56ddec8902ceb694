"""The admins' side in Telegram: Approve / Reject on review messages (first decision wins),
the review queue, ad search by id or user, and bans."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, Filter, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.types import User as TelegramUser
from sqlalchemy.ext.asyncio import AsyncSession

from bozor.classifieds import categories, service
from bozor.classifieds.bot.texts_and_keyboards import (
    decided_text,
    reasons_keyboard,
    refusal,
    review_keyboard,
    review_text,
    status_text,
)
from bozor.classifieds.exceptions import AlreadyDecidedError
from bozor.classifieds.models import Ad, AdState
from bozor.classifieds.settings import ClassifiedsSettings
from bozor.classifieds.texts import ad_number
from bozor.errors import InvalidInputError
from bozor.i18n import Translator
from bozor.settings import Settings
from bozor.users import service as users_service
from bozor.users.models import User


class AdminReject(StatesGroup):
    reason = State()


class IsAdmin(Filter):
    async def __call__(self, event: Message | CallbackQuery, settings: Settings) -> bool:
        return event.from_user is not None and settings.is_admin(event.from_user.id)


def admin_name(user: TelegramUser) -> str:
    return f"{user.full_name} (@{user.username})" if user.username else user.full_name


def _message(query: CallbackQuery) -> Message:
    assert isinstance(query.message, Message)
    return query.message


def _decided_view(
    t: Translator, ad: Ad, owner: User | None, version: int, settings: Settings
) -> str:
    return decided_text(t, ad, owner, version, categories.of(settings))


async def review_button(
    query: CallbackQuery,
    session: AsyncSession,
    t: Translator,
    state: FSMContext,
    settings: Settings,
) -> None:
    parts = (query.data or "").split(":")
    action, ad_id, version = parts[1], int(parts[2]), int(parts[3])
    message = _message(query)
    ad = await service.get(session=session, ad_id=ad_id)
    if ad.state != AdState.REVIEW or ad.version != version:
        await _refuse(query, session, t, ad, version, settings)
        return
    if action == "no":
        await query.answer()
        await message.edit_reply_markup(reply_markup=reasons_keyboard(t, ad_id, version))
        return
    if action == "bk":
        await query.answer()
        await message.edit_reply_markup(reply_markup=review_keyboard(t, ad_id, version))
        return
    if action == "ro":
        await state.set_state(AdminReject.reason)
        await state.update_data(ad_id=ad_id, version=version, message_id=message.message_id)
        await query.answer()
        await message.answer(t("ads.ask_reason", id=ad_id))
        return
    reason = service.rejection_reason(listed=parts[4]) if action == "rr" else None
    try:
        decided = await service.decide(
            session=session,
            ad_id=ad_id,
            approve=action == "ok",
            admin_name=admin_name(query.from_user),
            admin_chat_id=query.from_user.id,
            channel=ClassifiedsSettings.of(settings).channel_id,
            reason=reason,
            version=version,
            message_id=message.message_id,
        )
    except AlreadyDecidedError:
        await session.rollback()
        ad = await service.get(session=session, ad_id=ad_id)
        await _refuse(query, session, t, ad, version, settings)
        return
    await session.commit()
    await query.answer(t("ads.approved_toast" if decided.approved else "ads.rejected_toast"))
    text = _decided_view(t, decided.ad, decided.owner, version, settings)
    await message.edit_text(text, reply_markup=None)


async def _refuse(
    query: CallbackQuery,
    session: AsyncSession,
    t: Translator,
    ad: Ad,
    version: int,
    settings: Settings,
) -> None:
    """A decision came second (or on an older version): say who decided, show it."""
    await query.answer(refusal(t, ad, version), show_alert=True)
    message = _message(query)
    if await service.edited_elsewhere(
        session=session,
        ad=ad,
        version=version,
        chat_id=message.chat.id,
        message_id=message.message_id,
    ):
        return  # the outbox edits this copy (one edit, not two: no "message is not modified")
    owner = await users_service.get_by_id(session=session, user_id=ad.user_id)
    text = _decided_view(t, ad, owner, version, settings)
    if message.text != text:
        await message.edit_text(text, reply_markup=None)


async def reject_reason(
    message: Message,
    session: AsyncSession,
    t: Translator,
    state: FSMContext,
    settings: Settings,
) -> None:
    reason = service.rejection_reason(typed=message.text)  # ads.bad_reason: type it again
    data = await state.get_data()
    await state.clear()
    assert message.from_user is not None
    ad_id, version = int(data["ad_id"]), int(data["version"])
    try:
        await service.decide(
            session=session,
            ad_id=ad_id,
            approve=False,
            admin_name=admin_name(message.from_user),
            admin_chat_id=None,  # the review message is edited by the outbox with the others
            channel=ClassifiedsSettings.of(settings).channel_id,
            reason=reason,
            version=version,
        )
    except AlreadyDecidedError:
        await session.rollback()
        ad = await service.get(session=session, ad_id=ad_id)
        await message.answer(refusal(t, ad, version))
        return
    await message.answer(t("ads.rejected_done", id=ad_id))


async def show_queue(message: Message, session: AsyncSession, t: Translator) -> None:
    ads = await service.queue(session=session, limit=30)
    if not ads:
        await message.answer(t("ads.queue_empty"))
        return
    total = await service.queue_size(session=session)
    lines = [t("ads.queue_title", count=total)]
    lines += [f"#{ad.id} · {ad.title} · v{ad.version} (/ad {ad.id})" for ad in ads]
    await message.answer("\n".join(lines))


async def show_ad(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    t: Translator,
    settings: Settings,
) -> None:
    ad_id = ad_number(command.args)
    if ad_id is None:
        raise InvalidInputError("ads.usage", usage="/ad 123")
    found = await service.detail(session=session, ad_id=ad_id)
    ad, owner, photos = found.ad, found.owner, found.photos
    if len(photos) > 1:
        from aiogram.types import InputMediaPhoto

        await message.answer_media_group([InputMediaPhoto(media=p.file_id) for p in photos])
    elif photos:
        await message.answer_photo(photos[0].file_id)
    if ad.state == AdState.REVIEW:
        await message.answer(
            review_text(t, ad, owner, categories.of(settings)),
            reply_markup=review_keyboard(t, ad.id, ad.version),
        )
        return
    text = _decided_view(t, ad, owner, ad.version, settings)
    await message.answer(f"{text}\n{status_text(t, ad, found.url)}")


async def by_user(
    message: Message, command: CommandObject, session: AsyncSession, t: Translator
) -> None:
    found = await service.user_ads(session=session, who=command.args or "")
    if found is None:
        raise InvalidInputError("ads.user_unknown")
    lines = [t("ads.user_title", who=found.user.full_name, count=len(found.ads))]
    if found.banned:
        lines.append(t("ads.user_banned"))
    lines.extend(
        f"#{item.ad.id} {item.ad.title} — {status_text(t, item.ad, item.url)}" for item in found.ads
    )
    await message.answer("\n".join(lines))


async def ban(
    message: Message, command: CommandObject, session: AsyncSession, t: Translator
) -> None:
    who, _, reason = (command.args or "").strip().partition(" ")
    assert message.from_user is not None
    found = await service.ban_by_name(
        session=session, who=who, reason=reason.strip() or None, by=admin_name(message.from_user)
    )
    await message.answer(t("ads.banned_done", who=found.full_name))


async def unban(
    message: Message, command: CommandObject, session: AsyncSession, t: Translator
) -> None:
    found, done = await service.unban_by_name(session=session, who=command.args or "")
    await message.answer(t("ads.unbanned_done" if done else "ads.not_banned", who=found.full_name))


def register(router: Router) -> None:
    admin = IsAdmin()
    private = F.chat.type == "private"
    router.callback_query.register(
        review_button, F.data.regexp(r"^ad:(ok|no|bk|ro|rr):\d+:\d+(:\w+)?$"), admin
    )
    router.message.register(show_queue, Command("ads_queue"), admin, private)
    router.message.register(show_ad, Command("ad"), admin, private)
    router.message.register(by_user, Command("ads_user"), admin, private)
    router.message.register(ban, Command("ads_ban"), admin, private)
    router.message.register(unban, Command("ads_unban"), admin, private)
    router.message.register(
        reject_reason,
        StateFilter(AdminReject.reason),
        F.text & ~F.text.startswith("/"),
        admin,
        private,
    )
