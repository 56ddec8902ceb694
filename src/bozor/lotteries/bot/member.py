"""Prize draws in Telegram: registration, accounts, draws, winner confirmation, admin tools."""

from __future__ import annotations

from typing import Any

from aiogram import F, Router
from aiogram.filters import Command, CommandStart, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.methods import SendMessage, TelegramMethod
from aiogram.types import (
    CallbackQuery,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
)
from sqlalchemy.ext.asyncio import AsyncSession

from bozor.bot.keyboards import main_menu
from bozor.i18n import Translator, all_translations
from bozor.lotteries import accounts, notify, service, verify_bot, wins
from bozor.lotteries.bot.admin import AddAccounts
from bozor.lotteries.bot.texts_and_keyboards import CONFIRM_PREFIX, parse_int
from bozor.lotteries.exceptions import (
    CardTakenError,
    WinAccountRemovedError,
    WinAlreadyConfirmedError,
    WinExpiredError,
)
from bozor.lotteries.publish import VERIFY_PAYLOAD
from bozor.lotteries.texts import STATUS_ICON, when
from bozor.settings import Settings
from bozor.telegram_limits import fit_param
from bozor.users.models import User


class Registration(StatesGroup):
    card = State()
    phone = State()


# ------------------------------------------------------------------ members


async def register_start(
    message: Message, session: AsyncSession, user: User, t: Translator, state: FSMContext
) -> SendMessage:
    member = await accounts.member_of(session=session, user_id=user.id)
    if member is not None:
        await state.clear()
        return message.answer(
            t(
                "lottery.registered_state",
                card=member.club_card,
                phone=member.phone or "—",
                code=member.verification_code,
            )
        )
    await state.set_state(Registration.card)
    return message.answer(t("lottery.ask_card"))


async def register_card(
    message: Message, session: AsyncSession, t: Translator, state: FSMContext
) -> SendMessage:
    card = await accounts.check_card_free(session=session, club_card=message.text or "")
    await state.update_data(card=card)
    await state.set_state(Registration.phone)
    keyboard = ReplyKeyboardMarkup(
        keyboard=[
            [KeyboardButton(text=t("lottery.share_phone"), request_contact=True)],
            [KeyboardButton(text=t("lottery.skip_phone"))],
        ],
        resize_keyboard=True,
        one_time_keyboard=True,
    )
    return message.answer(t("lottery.ask_phone"), reply_markup=keyboard)


async def register_phone(
    message: Message,
    session: AsyncSession,
    user: User,
    t: Translator,
    state: FSMContext,
    settings: Settings,
) -> SendMessage:
    phone: str | None
    if message.contact is not None:
        if message.contact.user_id not in (None, message.chat.id):
            return message.answer(t("lottery.not_own_contact"))
        phone = message.contact.phone_number
    elif (message.text or "") in all_translations("lottery.skip_phone"):
        phone = None
    else:
        phone = accounts.parse_phone(message.text or "")
    card = str((await state.get_data())["card"])
    try:
        member = await accounts.register(session=session, user=user, club_card=card, phone=phone)
    except CardTakenError:
        await state.set_state(Registration.card)
        return message.answer(f"{t('lottery.card_taken')}\n\n{t('lottery.ask_card')}")
    await state.clear()
    return message.answer(
        t("lottery.registered", card=member.club_card, code=member.verification_code),
        reply_markup=main_menu(t, settings.features),
    )


async def cancel(
    message: Message, t: Translator, state: FSMContext, settings: Settings
) -> SendMessage:
    await state.clear()
    return message.answer(t("lottery.cancelled"), reply_markup=main_menu(t, settings.features))


async def my_account(
    message: Message, session: AsyncSession, user: User, t: Translator
) -> SendMessage:
    member, owned = await accounts.overview(session=session, user=user)
    lines = [
        t(
            "lottery.my_account",
            card=member.club_card,
            phone=member.phone or "—",
            code=member.verification_code,
        )
    ]
    if not owned:
        lines.append(t("lottery.no_accounts"))
    for summary in owned:
        account = summary.account
        lines.append(
            t(
                "lottery.account_line",
                number=account.number,
                state=t("lottery.active" if account.is_active else "lottery.inactive"),
                count=summary.entries,
            )
        )
        lines.extend(
            t(
                "lottery.account_win",
                place=won.win.place,
                title=won.lottery_title,
                icon=STATUS_ICON[won.win.status],
                status=t(f"lottery.status.{won.win.status}"),
            )
            for won in summary.wins
        )
    return message.answer("\n".join(lines))


async def list_lotteries(message: Message, session: AsyncSession, t: Translator) -> SendMessage:
    rows = await service.listing(session=session)
    if not rows:
        return message.answer(t("lottery.none"))
    lines = [t("lottery.list_title")]
    for row in rows:
        lottery = row.lottery
        lines.append(
            t(
                "lottery.list_line",
                id=lottery.id,
                title=lottery.title,
                state=t(f"lottery.state.{lottery.state}"),
                count=row.participants,
                at=when(lottery.draw_at),
                seed_hash=lottery.seed_hash,
            )
        )
    lines.append(t("lottery.member_hint"))
    return message.answer("\n\n".join(lines))


async def confirm_button(
    query: CallbackQuery, session: AsyncSession, user: User, t: Translator
) -> TelegramMethod[Any]:
    win_id = parse_int((query.data or "").removeprefix(CONFIRM_PREFIX)) or 0
    try:
        done = await wins.confirm_own(session=session, win_id=win_id, user=user)
    except (WinAlreadyConfirmedError, WinExpiredError, WinAccountRemovedError) as exc:
        # the button can do nothing more: it goes, and the toast says why
        await _retire_button(session, query)
        return query.answer(t(exc.code, **exc.params), show_alert=True)
    await _retire_button(session, query)
    place, number = done.win.place, done.account_number
    text = fit_param(
        lambda title: t("lottery.confirmed_alert", place=place, title=title, number=number),
        done.lottery_title,
    )
    return query.answer(text, show_alert=True)


async def _retire_button(session: AsyncSession, query: CallbackQuery) -> None:
    """Once committed, the notice is edited to keep only the buttons of wins still waiting."""
    message = query.message
    if not isinstance(message, Message) or message.reply_markup is None or not message.text:
        return
    buttons = [b for row in message.reply_markup.inline_keyboard for b in row]
    if not any(b.callback_data == query.data for b in buttons):
        return
    ids = [
        win_id
        for b in buttons
        if (b.callback_data or "").startswith(CONFIRM_PREFIX)
        and (win_id := parse_int((b.callback_data or "").removeprefix(CONFIRM_PREFIX)))
    ]
    await notify.win_buttons(
        session=session,
        chat_id=message.chat.id,
        message_id=message.message_id,
        text=message.text,
        win_ids=ids,
    )


def create_router(settings: Settings) -> Router:
    router = Router(name="lotteries.member")
    private = F.chat.type == "private"
    router.message.register(
        cancel, Command("cancel"), StateFilter(Registration, AddAccounts), private
    )
    router.message.register(register_start, Command("register"), private)
    router.message.register(my_account, Command("my_account"), private)
    router.message.register(list_lotteries, Command("lotteries"), private)
    router.message.register(verify_bot.verify_draw, Command("verify"), private)
    router.message.register(
        verify_bot.verify_draw,
        CommandStart(deep_link=True, magic=F.args.startswith(VERIFY_PAYLOAD)),
        private,
    )
    router.message.register(list_lotteries, F.text.in_(all_translations("menu.lotteries")), private)
    router.callback_query.register(confirm_button, F.data.startswith(CONFIRM_PREFIX))
    # Answers to the flows' questions last, so that commands still work in the middle of one.
    text = F.text & ~F.text.startswith("/")
    router.message.register(register_card, StateFilter(Registration.card), text, private)
    router.message.register(
        register_phone, StateFilter(Registration.phone), text | F.contact, private
    )
    return router
