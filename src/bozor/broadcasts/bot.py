"""/broadcast for admins: compose, add buttons, pick a segment, preview, send or schedule;
then a status message with live progress and a Cancel button."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import Command, Filter, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.methods import SendMessage
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bozor import localtime
from bozor.broadcasts import render, segments, service, status
from bozor.broadcasts.models import Broadcast
from bozor.broadcasts.segments import Segment
from bozor.errors import InvalidInputError
from bozor.i18n import Translator
from bozor.settings import Settings
from bozor.users.models import User

NO_BUTTONS = "bc_nobuttons"
SEGMENT_PREFIX = "bc_seg:"
SEND = "bc_send"
SCHEDULE = "bc_schedule"
ABORT = "bc_abort"


class Compose(StatesGroup):
    message = State()
    buttons = State()
    segment = State()
    confirm = State()
    time = State()


class IsAdmin(Filter):
    async def __call__(self, event: Message | CallbackQuery, settings: Settings) -> bool:
        return event.from_user is not None and settings.is_admin(event.from_user.id)


# The segments of the enabled features reach the handlers as the dispatcher's
# `broadcast_segments` (see bozor.bot.create_dispatcher).
Segments = Mapping[str, Segment]


def _content(data: dict[str, Any]) -> service.Content:
    buttons = [
        [service.Button(b["text"], b["url"]) for b in row] for row in data.get("buttons", [])
    ]
    return service.Content(str(data["text"]), data.get("photo"), buttons)


async def start(message: Message, t: Translator, state: FSMContext) -> SendMessage:
    await state.clear()
    await state.set_state(Compose.message)
    return message.answer(t("broadcast.ask_message"))


async def abort(message: Message, t: Translator, state: FSMContext) -> SendMessage:
    await state.clear()
    return message.answer(t("broadcast.aborted"))


async def got_message(message: Message, t: Translator, state: FSMContext) -> SendMessage:
    photo = message.photo[-1].file_id if message.photo else None
    if not (message.text or message.caption or photo):
        raise InvalidInputError("broadcast.unsupported")
    content = service.check_content(service.Content(message.html_text, photo))
    await state.update_data(text=content.text, photo=content.photo, buttons=[])
    await state.set_state(Compose.buttons)
    builder = InlineKeyboardBuilder()
    builder.button(text=t("broadcast.no_buttons"), callback_data=NO_BUTTONS)
    return message.answer(t("broadcast.ask_buttons"), reply_markup=builder.as_markup())


async def got_buttons(
    message: Message, t: Translator, state: FSMContext, broadcast_segments: Segments
) -> SendMessage:
    rows = service.parse_buttons(message.text or "")
    data = await state.get_data()
    content = service.check_content(service.Content(str(data["text"]), data.get("photo"), rows))
    await state.update_data(buttons=content.buttons_json())
    await state.set_state(Compose.segment)
    return message.answer(
        t("broadcast.choose_segment"), reply_markup=_segments(t, broadcast_segments)
    )


async def no_buttons(
    query: CallbackQuery, t: Translator, state: FSMContext, broadcast_segments: Segments
) -> None:
    await state.set_state(Compose.segment)
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(
            t("broadcast.choose_segment"), reply_markup=_segments(t, broadcast_segments)
        )


def _segments(t: Translator, available: Segments) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for index, (name, params) in enumerate(segments.choices(available)):
        builder.button(
            text=segments.label(t, name, params), callback_data=f"{SEGMENT_PREFIX}{index}"
        )
    builder.adjust(1)
    return builder.as_markup()


async def chose_segment(
    query: CallbackQuery,
    bot: Bot,
    session: AsyncSession,
    t: Translator,
    state: FSMContext,
    settings: Settings,
    broadcast_segments: Segments,
) -> None:
    choices = segments.choices(broadcast_segments)
    index = int((query.data or "").removeprefix(SEGMENT_PREFIX) or -1)
    if not 0 <= index < len(choices):
        raise InvalidInputError("broadcast.unknown_segment", segment="?", known="")
    name, params = choices[index]
    count = await service.count_recipients(
        session=session,
        available=broadcast_segments,
        segment=name,
        params=params,
        default_language=settings.default_language,
    )
    await state.update_data(segment=name, params=params)
    await state.set_state(Compose.confirm)
    await query.answer()
    # The preview is the very call every recipient gets, sent to the admin.
    data = await state.get_data()
    await bot(render.message(_content(data), query.from_user.id))
    builder = InlineKeyboardBuilder()
    builder.button(text=t("broadcast.send_button"), callback_data=SEND)
    builder.button(text=t("broadcast.schedule_button"), callback_data=SCHEDULE)
    builder.button(text=t("broadcast.abort_button"), callback_data=ABORT)
    builder.adjust(1)
    await bot.send_message(
        query.from_user.id,
        t("broadcast.confirm", count=count, segment=segments.label(t, name, params)),
        reply_markup=builder.as_markup(),
    )


async def confirm_send(
    query: CallbackQuery,
    bot: Bot,
    session: AsyncSession,
    t: Translator,
    state: FSMContext,
    broadcast_segments: Segments,
) -> None:
    await query.answer()
    await _create(query.from_user.id, bot, session, t, state, broadcast_segments, when=None)


async def ask_time(query: CallbackQuery, t: Translator, state: FSMContext) -> None:
    await state.set_state(Compose.time)
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(t("broadcast.ask_time", zone=localtime.zone_name()))


async def got_time(
    message: Message,
    bot: Bot,
    session: AsyncSession,
    t: Translator,
    state: FSMContext,
    broadcast_segments: Segments,
) -> None:
    when = service.parse_time(message.text or "")
    await _create(message.chat.id, bot, session, t, state, broadcast_segments, when=when)


async def abort_button(query: CallbackQuery, t: Translator, state: FSMContext) -> None:
    await state.clear()
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_text(t("broadcast.aborted"))


async def _create(
    chat_id: int,
    bot: Bot,
    session: AsyncSession,
    t: Translator,
    state: FSMContext,
    available: Segments,
    *,
    when: datetime | None,
) -> None:
    data = await state.get_data()
    if "segment" not in data:  # the conversation was lost (restart without Redis)
        await state.clear()
        raise InvalidInputError("broadcast.expired")
    broadcast = await service.create(
        session=session,
        available=available,
        content=_content(data),
        segment=str(data["segment"]),
        params=dict(data.get("params") or {}),
        scheduled_at=when,
        created_by=chat_id,
        status_chat_id=chat_id,
        status_language=t.language,
    )
    await session.commit()  # the status message below shows a saved broadcast
    await state.clear()
    progress = await service.progress(session=session, broadcast_id=broadcast.id)
    sent = await bot.send_message(
        chat_id,
        status.text(t, broadcast, progress),
        reply_markup=status.keyboard(t, broadcast),
    )
    broadcast.status_message_id = sent.message_id


async def cancel_button(
    query: CallbackQuery, session: AsyncSession, t: Translator, user: User
) -> None:
    broadcast_id = int((query.data or "").removeprefix(status.CANCEL_PREFIX))
    broadcast: Broadcast = await service.cancel(session=session, broadcast_id=broadcast_id)
    await session.commit()
    progress = await service.progress(session=session, broadcast_id=broadcast_id)
    await query.answer(t("broadcast.cancelled"))
    if isinstance(query.message, Message):
        await query.message.edit_text(
            status.text(t, broadcast, progress), reply_markup=status.keyboard(t, broadcast)
        )


def create_router(settings: Settings) -> Router:
    router = Router(name="broadcasts")
    private = F.chat.type == "private"
    admin = IsAdmin()
    composing = StateFilter(Compose)
    router.message.register(start, Command("broadcast"), admin, private)
    router.message.register(abort, Command("cancel"), composing, admin, private)
    router.callback_query.register(cancel_button, F.data.startswith(status.CANCEL_PREFIX), admin)
    router.callback_query.register(
        no_buttons, F.data == NO_BUTTONS, StateFilter(Compose.buttons), admin
    )
    router.callback_query.register(
        chose_segment, F.data.startswith(SEGMENT_PREFIX), StateFilter(Compose.segment), admin
    )
    router.callback_query.register(
        confirm_send, F.data == SEND, StateFilter(Compose.confirm), admin
    )
    router.callback_query.register(
        ask_time, F.data == SCHEDULE, StateFilter(Compose.confirm), admin
    )
    router.callback_query.register(abort_button, F.data == ABORT, composing, admin)
    text = F.text & ~F.text.startswith("/")
    router.message.register(
        got_message, StateFilter(Compose.message), ~F.text.startswith("/"), admin, private
    )
    router.message.register(got_buttons, StateFilter(Compose.buttons), text, admin, private)
    router.message.register(got_time, StateFilter(Compose.time), text, admin, private)
    return router
