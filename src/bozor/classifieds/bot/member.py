"""Classifieds in Telegram: the advertiser's dialogue and /my_ads, the sold-check answers,
and the admins' review buttons and commands."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot, F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message, TelegramObject
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bozor.classifieds import categories, search_bot, service
from bozor.classifieds.bot import admin, dialogue
from bozor.classifieds.bot.dialogue import STATE_OF, STEPS, AdForm, ChatLocks
from bozor.classifieds.bot.texts_and_keyboards import status_text
from bozor.classifieds.exceptions import BannedError, NotYourAdError, WrongStateError
from bozor.classifieds.models import OPEN_STATES, AdState
from bozor.classifieds.schemas import DESCRIPTION_MAX, MAX_PHOTOS, TITLE_MAX
from bozor.i18n import Translator, all_translations
from bozor.media.storage import MediaStorage, create_storage
from bozor.settings import Settings
from bozor.telegram_limits import fit_button
from bozor.users.models import User


class _Inject(BaseMiddleware):
    """Gives this router's handlers `media` and `locks`."""

    def __init__(self, **values: Any) -> None:
        self.values = values

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        data.update(self.values)
        locks = self.values.get("locks")
        if isinstance(locks, ChatLocks) and data.get("redis") is not None:
            locks.share(data["redis"])
        return await handler(event, data)


def _message(query: CallbackQuery) -> Message:
    assert isinstance(query.message, Message)
    return query.message


# ------------------------------------------------------------- the dialogue


async def post_start(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    t: Translator,
    settings: Settings,
) -> None:
    if await service.is_banned(session=session, user_id=user.id):
        raise BannedError()
    current = await state.get_state()
    data = await state.get_data()
    if current and current.startswith("AdForm:") and data.get("category"):
        builder = InlineKeyboardBuilder()
        builder.button(text=t("ads.resume_continue"), callback_data="adr:continue")
        builder.button(text=t("ads.resume_restart"), callback_data="adr:restart")
        builder.button(text=t("ads.cancel"), callback_data="adr:cancel")
        builder.adjust(1)
        await message.answer(t("ads.resume_question"), reply_markup=builder.as_markup())
        return
    await _begin(message, state, t, settings, user)


async def _begin(
    message: Message, state: FSMContext, t: Translator, settings: Settings, user: User
) -> None:
    await state.clear()
    await state.set_state(AdForm.category)
    await message.answer(t("ads.intro"))
    await dialogue.ask("category", message, t, settings, user, {})


async def resume(
    query: CallbackQuery, state: FSMContext, t: Translator, settings: Settings, user: User
) -> None:
    await query.answer()
    action = (query.data or "").removeprefix("adr:")
    message = _message(query)
    await message.edit_reply_markup(reply_markup=None)
    if action == "restart":
        await _begin(message, state, t, settings, user)
        return
    if action == "cancel":
        await cancel(message, state, t, settings)
        return
    current = await state.get_state()
    if current is None or not current.startswith("AdForm:"):
        await _begin(message, state, t, settings, user)
        return
    step = current.split(":", 1)[1]
    if step == "preview":
        await dialogue.show_preview(message, state, t, settings)
    else:
        await dialogue.ask(step, message, t, settings, user, await state.get_data())


async def cancel(message: Message, state: FSMContext, t: Translator, settings: Settings) -> None:
    await state.clear()
    await message.answer(t("ads.cancelled"), reply_markup=dialogue.menu(t, settings))


async def pick_category(
    query: CallbackQuery, state: FSMContext, t: Translator, settings: Settings, user: User
) -> None:
    slug = (query.data or "").removeprefix("adc:")
    kinds = categories.of(settings)
    if await state.get_state() != AdForm.category.state or slug not in kinds.slugs:
        await query.answer(t("ads.step_over"), show_alert=True)
        return
    await query.answer()
    await state.update_data(category=slug)
    message = _message(query)
    await message.edit_text(
        t("ads.category_chosen", name=kinds.name(t.language, slug)), reply_markup=None
    )
    await dialogue.go_on("category", message, state, t, settings, user)


async def text_step(
    message: Message, state: FSMContext, t: Translator, settings: Settings, user: User
) -> None:
    step = str(await state.get_state()).split(":", 1)[1]
    text = dialogue.clean_text(message)
    if step == "category":
        await message.answer(t("ads.use_buttons"))
        return
    problem: str | None = None
    values: dict[str, Any] = {}
    if step == "title":
        problem = dialogue.check_title(text)
        values = {"title": text}
    elif step == "description":
        raw = (message.text or "").strip()
        problem = dialogue.check_description(raw)
        values = {"description": raw}
    elif step == "price":
        parsed = dialogue.price_answer(text)
        problem = dialogue.check_price(parsed)
        values = parsed or {}
    elif step == "region":
        problem = dialogue.check_region(text)
        values = {"region": text}
    if problem is not None:
        await message.answer(t(problem, max_title=TITLE_MAX, max_description=DESCRIPTION_MAX))
        return
    await state.update_data(**values)
    await dialogue.go_on(step, message, state, t, settings, user)


async def contact_step(
    message: Message, state: FSMContext, t: Translator, settings: Settings, user: User
) -> None:
    parsed = dialogue.parse_contact(message, user)
    if isinstance(parsed, str):
        await message.answer(t(parsed))
        return
    await state.update_data(**parsed)
    await dialogue.go_on("contact", message, state, t, settings, user)


async def photo_step(
    message: Message,
    state: FSMContext,
    t: Translator,
    settings: Settings,
    user: User,
    locks: ChatLocks,
) -> None:
    assert message.photo
    biggest = message.photo[-1]
    chat = message.chat.id
    async with locks(chat):
        if await state.get_state() != AdForm.photos.state:
            return  # the album's step already ended
        data = await state.get_data()
        photos = list(data.get("photos", []))
        full = len(photos) >= MAX_PHOTOS
        if not full:
            photos.append({"file_id": biggest.file_id, "file_unique_id": biggest.file_unique_id})
        turn = int(data.get("album_turn", 0)) + 1
        await state.update_data(photos=photos, album_turn=turn)
    if message.media_group_id is None:
        key = "ads.photos_full" if full else "ads.photo_added"
        await message.answer(t(key, count=len(photos), max=MAX_PHOTOS))
        return
    locks.later(_end_album_step(message, state, t, settings, user, locks, turn))


async def _end_album_step(
    message: Message,
    state: FSMContext,
    t: Translator,
    settings: Settings,
    user: User,
    locks: ChatLocks,
    turn: int,
) -> None:
    """An album: the step ends once its last photo is in (no further photo for a moment)."""
    chat = message.chat.id
    await asyncio.sleep(dialogue.ALBUM_SETTLE)
    async with locks(chat):
        data = await state.get_data()
        last = data.get("album_turn") == turn
        if not last or await state.get_state() != AdForm.photos.state:
            return
        count = len(data.get("photos", []))
        await message.answer(t("ads.photos_taken", count=count, max=MAX_PHOTOS))
        await dialogue.go_on("photos", message, state, t, settings, user)


async def photos_done(
    message: Message, state: FSMContext, t: Translator, settings: Settings, user: User
) -> None:
    text = message.text or ""
    photos = (await state.get_data()).get("photos", [])
    if text in all_translations("ads.no_photos"):
        await state.update_data(photos=[])
    elif not photos:
        await message.answer(t("ads.photos_none_yet"))
        return
    await dialogue.go_on("photos", message, state, t, settings, user)


async def wrong_input(
    message: Message, state: FSMContext, t: Translator, settings: Settings, user: User
) -> None:
    step = str(await state.get_state()).split(":", 1)[1]
    if step == "preview":
        await message.answer(t("ads.use_preview_buttons"))
        return
    await message.answer(t(f"ads.wrong_input.{step}"))


async def preview_action(
    query: CallbackQuery,
    state: FSMContext,
    t: Translator,
    settings: Settings,
    user: User,
    session: AsyncSession,
    bot: Bot,
    media: MediaStorage,
    locks: ChatLocks,
) -> None:
    action = (query.data or "").removeprefix("adf:")
    message = _message(query)
    if action == "send":
        async with locks(message.chat.id):
            if await state.get_state() != AdForm.preview.state:
                await query.answer(t("ads.step_over"), show_alert=True)
                return
            data = await state.get_data()
            ad = await dialogue.submit(
                bot=bot, storage=media, session=session, settings=settings, user=user, data=data
            )
            await session.commit()
            await state.clear()
        await query.answer()
        await message.edit_reply_markup(reply_markup=None)
        await message.answer(t("ads.submitted", id=ad.id), reply_markup=dialogue.menu(t, settings))
        return
    if await state.get_state() != AdForm.preview.state:
        await query.answer(t("ads.step_over"), show_alert=True)
        return
    await query.answer()
    if action == "cancel":
        await message.edit_reply_markup(reply_markup=None)
        await cancel(message, state, t, settings)
    elif action == "edit":
        await message.edit_text(t("ads.what_to_edit"), reply_markup=dialogue.edit_keyboard(t))
    elif action == "back":
        await message.edit_text(
            t("ads.preview_question"), reply_markup=dialogue.preview_keyboard(t)
        )
    elif action.startswith("field:") and action[6:] in STEPS:
        step = action[6:]
        await message.edit_reply_markup(reply_markup=None)
        await state.update_data(back=True)
        await state.set_state(STATE_OF[step])
        await dialogue.ask(step, message, t, settings, user, await state.get_data())


# ------------------------------------------------------------------ /my_ads


async def my_ads(message: Message, session: AsyncSession, user: User, t: Translator) -> None:
    text, markup = await _my_list(session, user, t)
    await message.answer(text, reply_markup=markup)


async def _my_list(session: AsyncSession, user: User, t: Translator) -> tuple[str, Any]:
    listed = await service.my_listing(session=session, user_id=user.id)
    if not listed:
        return t("ads.my_none"), None
    lines = [t("ads.my_title")]
    builder = InlineKeyboardBuilder()
    for ad, url in ((item.ad, item.url) for item in listed):
        lines.append(f"#{ad.id} {ad.title} — {status_text(t, ad, url)}")
        builder.button(text=fit_button(f"#{ad.id} {ad.title}"), callback_data=f"my:{ad.id}")
    builder.adjust(1)
    return "\n".join(lines), builder.as_markup()


async def my_ad_action(
    query: CallbackQuery,
    session: AsyncSession,
    user: User,
    t: Translator,
    state: FSMContext,
    settings: Settings,
) -> None:
    parts = (query.data or "").split(":")
    message = _message(query)
    if parts[1] == "l":
        text, markup = await _my_list(session, user, t)
        await query.answer()
        await message.edit_text(text, reply_markup=markup)
        return
    action, ad_id = (parts[1], int(parts[2])) if len(parts) == 3 else ("show", int(parts[1]))
    # Committed before the owner is told: "Withdrawn" must not be said of a change that could
    # still fail to be saved.
    if action == "s":
        await service.mark_sold(session=session, ad_id=ad_id, user=user)
        await session.commit()
        await query.answer(t("ads.marked_sold"))
    elif action == "w":
        await service.withdraw(session=session, ad_id=ad_id, user=user)
        await session.commit()
        await query.answer(t("ads.withdrawn"))
    elif action == "e":
        await _start_edit(query, session, user, t, state, settings, ad_id)
        return
    else:
        await query.answer()
    own = await service.own_ad(session=session, ad_id=ad_id, user=user)
    ad, url = own.ad, own.url
    builder = InlineKeyboardBuilder()
    if ad.state in OPEN_STATES:
        builder.button(text=t("ads.edit"), callback_data=f"my:e:{ad.id}")
    if ad.state == AdState.PUBLISHED:
        builder.button(text=t("ads.mark_sold"), callback_data=f"my:s:{ad.id}")
    if ad.state in (AdState.REVIEW, AdState.PUBLISHED):
        builder.button(text=t("ads.withdraw"), callback_data=f"my:w:{ad.id}")
    builder.button(text=t("ads.back"), callback_data="my:l")
    builder.adjust(1)
    text = t("ads.my_card", id=ad.id, title=ad.title, status=status_text(t, ad, url))
    await message.edit_text(text, reply_markup=builder.as_markup())


async def _start_edit(
    query: CallbackQuery,
    session: AsyncSession,
    user: User,
    t: Translator,
    state: FSMContext,
    settings: Settings,
    ad_id: int,
) -> None:
    ad = await service.get(session=session, ad_id=ad_id)
    if ad.user_id != user.id:
        raise NotYourAdError()
    if ad.state not in OPEN_STATES:
        raise WrongStateError(state=str(ad.state))
    photos = await service.photos(session=session, ad_id=ad.id)
    await state.clear()
    await state.set_data(
        {
            "ad_id": ad.id,
            "category": ad.category,
            "title": ad.title,
            "description": ad.description,
            "price": ad.price,
            "currency": ad.currency,
            "contact_phone": ad.contact_phone,
            "contact_username": ad.contact_username,
            "region": ad.region,
            "photos": [
                {
                    "file_id": p.file_id,
                    "file_unique_id": p.file_unique_id,
                    "storage_key": p.storage_key,
                    "dhash": p.dhash,
                }
                for p in photos
            ],
        }
    )
    await query.answer()
    message = _message(query)
    await message.answer(t("ads.editing", id=ad.id))
    await dialogue.show_preview(message, state, t, settings)


async def sold_answer(
    query: CallbackQuery, session: AsyncSession, user: User, t: Translator
) -> None:
    _, answer, check_id = (query.data or "").split(":")
    sold = answer == "y"
    ad = await service.answer_check(session=session, check_id=int(check_id), user=user, sold=sold)
    await session.commit()  # before the owner is told
    await query.answer()
    key = "ads.check_sold" if sold else "ads.check_kept"
    await _message(query).edit_text(t(key, id=ad.id, title=ad.title), reply_markup=None)


def create_router(settings: Settings) -> Router:
    router = Router(name="classifieds")
    inject = _Inject(media=create_storage(settings), locks=ChatLocks(settings.redis_prefix))
    router.message.middleware(inject)
    router.callback_query.middleware(inject)
    private = F.chat.type == "private"
    in_form = StateFilter(AdForm)
    cancel_words = F.text.in_(all_translations("ads.cancel"))
    router.message.register(cancel, Command("cancel"), in_form, private)
    router.message.register(cancel, cancel_words, in_form, private)
    router.message.register(post_start, Command("post_ad"), private)
    router.message.register(post_start, F.text.in_(all_translations("menu.post_ad")), private)
    router.message.register(my_ads, Command("my_ads"), private)
    router.message.register(my_ads, F.text.in_(all_translations("menu.my_ads")), private)
    router.callback_query.register(resume, F.data.startswith("adr:"))
    router.callback_query.register(pick_category, F.data.startswith("adc:"))
    router.callback_query.register(preview_action, F.data.startswith("adf:"))
    router.callback_query.register(my_ad_action, F.data.regexp(r"^my:(l|\d+|[esw]:\d+)$"))
    router.callback_query.register(sold_answer, F.data.regexp(r"^sc:[yn]:\d+$"))
    admin.register(router)
    router.include_router(search_bot.create_router())  # contact the seller, alerts
    # Answers to the dialogue's questions last, so that commands still work in the middle.
    text = F.text & ~F.text.startswith("/")
    router.message.register(
        photos_done,
        StateFilter(AdForm.photos),
        F.text.in_(all_translations("ads.photos_done") | all_translations("ads.no_photos")),
        private,
    )
    router.message.register(photo_step, StateFilter(AdForm.photos), F.photo, private)
    router.message.register(contact_step, StateFilter(AdForm.contact), text | F.contact, private)
    router.message.register(
        text_step,
        StateFilter(AdForm.category, AdForm.title, AdForm.description, AdForm.price, AdForm.region),
        text,
        private,
    )
    router.message.register(wrong_input, in_form, ~F.text.startswith("/"), private)
    return router
