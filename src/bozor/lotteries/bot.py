"""Prize draws in Telegram: registration, accounts, draws, winner confirmation, admin tools."""

from __future__ import annotations

import io
import re
from datetime import datetime
from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject, CommandStart, Filter, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.methods import SendMessage, TelegramMethod
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
)
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bozor import csv_export, localtime
from bozor.bot.keyboards import main_menu
from bozor.db import utcnow
from bozor.errors import InvalidInputError
from bozor.i18n import Translator, all_translations
from bozor.lotteries import accounts, audit, draws, notify, reports, service, verify_bot, wins
from bozor.lotteries.exceptions import (
    BadImportError,
    CardTakenError,
    WinAccountRemovedError,
    WinAlreadyConfirmedError,
    WinExpiredError,
)
from bozor.lotteries.models import Account, Lottery, LotteryState, Participation, Win, WinStatus
from bozor.lotteries.publish import VERIFY_PAYLOAD
from bozor.lotteries.texts import STATUS_ICON, results_text, status_line, when
from bozor.outbox.worker import Outgoing, Renderer
from bozor.settings import Settings
from bozor.telegram import split_text
from bozor.telegram_limits import fit_button, fit_param, fit_text
from bozor.users import service as users_service
from bozor.users.models import User

CONFIRM_PREFIX = "confirm_win_"
PICK_PREFIX = "lot_pick:"
MAX_IMPORT_BYTES = 5 * 1024 * 1024


class Registration(StatesGroup):
    card = State()
    phone = State()


class AddAccounts(StatesGroup):
    lottery = State()
    lines = State()


class IsAdmin(Filter):
    async def __call__(self, event: Message | CallbackQuery, settings: Settings) -> bool:
        return event.from_user is not None and settings.is_admin(event.from_user.id)


def _int(value: str) -> int | None:
    value = value.strip()
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        return None
    return int(value)


def _usage(t: Translator, key: str) -> InvalidInputError:
    return InvalidInputError("lottery.usage", usage=t(key))


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
    member = await accounts.get_member(session=session, user=user)
    owned = await accounts.accounts_of_card(session=session, club_card=member.club_card)
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
    for account in owned:
        draws_count = await session.scalar(
            select(func.count()).where(Participation.account_id == account.id)
        )
        lines.append(
            t(
                "lottery.account_line",
                number=account.number,
                state=t("lottery.active" if account.is_active else "lottery.inactive"),
                count=draws_count or 0,
            )
        )
        won = (
            await session.execute(
                select(Win, Lottery.title)
                .join(Lottery, Lottery.id == Win.lottery_id)
                .where(Win.account_id == account.id)
                .order_by(Win.id)
            )
        ).all()
        for win, title in won:
            lines.append(
                t(
                    "lottery.account_win",
                    place=win.place,
                    title=title,
                    icon=STATUS_ICON[win.status],
                    status=t(f"lottery.status.{win.status}"),
                )
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
    win_id = _int((query.data or "").removeprefix(CONFIRM_PREFIX)) or 0
    try:
        win = await wins.confirm_by_owner(session=session, win_id=win_id, user=user)
    except (WinAlreadyConfirmedError, WinExpiredError, WinAccountRemovedError) as exc:
        # the button can do nothing more: it goes, and the toast says why
        await _retire_button(session, query)
        return query.answer(t(exc.code, **exc.params), show_alert=True)
    lottery = await session.get(Lottery, win.lottery_id)
    number = await session.scalar(select(Account.number).where(Account.id == win.account_id))
    await _retire_button(session, query)
    text = fit_param(
        lambda title: t("lottery.confirmed_alert", place=win.place, title=title, number=number),
        lottery.title if lottery else "",
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
        and (win_id := _int((b.callback_data or "").removeprefix(CONFIRM_PREFIX)))
    ]
    await notify.win_buttons(
        session=session,
        chat_id=message.chat.id,
        message_id=message.message_id,
        text=message.text,
        win_ids=ids,
    )


# ------------------------------------------------------------------- admins


NEW_LOTTERY_PLACE = re.compile(r"^\s*(\d{1,3})\s*[.):-]\s*(.+)$")


def parse_new_lottery(text: str) -> tuple[str, list[str], datetime | None, str | None]:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        raise InvalidInputError("lottery.bad_lottery", reason="title")
    title, prizes = lines[0], []
    draw_at: datetime | None = None
    external: str | None = None
    for line in lines[1:]:
        lowered = line.lower()
        if lowered.startswith(("draw:", "at:")):
            value = line.split(":", 1)[1].strip()
            try:
                draw_at = localtime.parse(value)
            except ValueError:
                raise InvalidInputError("lottery.bad_lottery", reason="draw_at") from None
        elif lowered.startswith("external:"):
            external = line.split(":", 1)[1].strip()
        elif match := NEW_LOTTERY_PLACE.match(line):
            prizes.append(match.group(2))
        else:
            prizes.append(line)
    return title, prizes, draw_at, external


async def new_lottery(
    message: Message, command: CommandObject, session: AsyncSession, t: Translator
) -> SendMessage:
    if not command.args:
        return message.answer(t("lottery.new_usage", zone=localtime.zone_name()))
    title, prizes, draw_at, external = parse_new_lottery(command.args)
    lottery = await service.create(
        session=session,
        title=title,
        prizes=prizes,
        draw_at=draw_at,
        external_name=external,
        actor=message.chat.id,
    )
    places = "\n".join(f"{place}. {prize}" for place, prize in enumerate(prizes, start=1))
    return message.answer(
        t(
            "lottery.created",
            id=lottery.id,
            title=lottery.title,
            places=places,
            at=when(lottery.draw_at),
            seed_hash=lottery.seed_hash,
            external=lottery.external_name or "—",
        )
    )


async def add_account(
    message: Message, command: CommandObject, session: AsyncSession, t: Translator
) -> SendMessage:
    parts = (command.args or "").split()
    if len(parts) not in (2, 3):
        raise _usage(t, "lottery.add_account_usage")
    card = None if parts[0] == "-" else parts[0]
    added = await accounts.add_account(
        session=session, club_card=card, number=parts[1], actor=message.chat.id
    )
    joined = ""
    if len(parts) == 3:
        lottery_id = _int(parts[2])
        if lottery_id is None:
            raise _usage(t, "lottery.add_account_usage")
        await service.join(session=session, lottery_id=lottery_id, account_id=added.account.id)
        joined = "\n" + t("lottery.joined", id=lottery_id)
    number = added.account.number
    if not added.changed:
        key = (
            "lottery.account_already"
            if added.account.club_card
            else "lottery.account_already_unowned"
        )
        return message.answer(t(key, number=number, card=added.account.club_card) + joined)
    if added.owner is not None:
        await notify.accounts_added(session=session, user_id=added.owner.user_id, numbers=[number])
        await _notify_pending_wins(session, added.account.id)
    if card is None:
        return message.answer(t("lottery.account_added_unowned", number=number) + joined)
    owner = t("lottery.owner_known") if added.owner else t("lottery.owner_unknown")
    return message.answer(
        t("lottery.account_added", number=number, card=card, owner=owner) + joined
    )


async def _notify_pending_wins(session: AsyncSession, account_id: int) -> None:
    """An account bound to its owner after it won (scenario 2): the owner hears of the win."""
    pending = list(
        await session.scalars(
            select(Win).where(Win.account_id == account_id, Win.status == WinStatus.PENDING)
        )
    )
    await notify.wins(session=session, won=pending)


async def remove_account(
    message: Message, command: CommandObject, session: AsyncSession, t: Translator
) -> SendMessage:
    if not command.args:
        raise _usage(t, "lottery.remove_account_usage")
    account = await accounts.remove_account(
        session=session, number=command.args, actor=message.chat.id
    )
    return message.answer(t("lottery.account_removed", number=account.number))


async def list_accounts(
    message: Message, command: CommandObject, session: AsyncSession, t: Translator
) -> SendMessage:
    telegram_id = _int(command.args or "")
    if telegram_id is None:
        raise _usage(t, "lottery.list_accounts_usage")
    user = await users_service.get_by_telegram_id(session=session, telegram_id=telegram_id)
    member = await accounts.member_of(session=session, user_id=user.id) if user else None
    if user is None or member is None:
        return message.answer(t("lottery.user_not_registered", id=telegram_id))
    owned = await accounts.accounts_of_card(session=session, club_card=member.club_card)
    lines = [
        t(
            "lottery.accounts_of",
            name=user.full_name,
            card=member.club_card,
            phone=member.phone or "—",
        )
    ]
    lines += [
        f"• {a.number} — {t('lottery.active' if a.is_active else 'lottery.inactive')}"
        for a in owned
    ] or [t("lottery.no_accounts")]
    return message.answer("\n".join(lines))


async def add_accounts_start(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    t: Translator,
    state: FSMContext,
) -> SendMessage:
    builder = InlineKeyboardBuilder()
    for row in await service.listing(session=session, state=LotteryState.OPEN):
        builder.button(
            text=fit_button(f"#{row.lottery.id} {row.lottery.title}"),
            callback_data=f"{PICK_PREFIX}{row.lottery.id}",
        )
    builder.button(text=t("lottery.no_lottery"), callback_data=f"{PICK_PREFIX}0")
    builder.adjust(1)
    await state.set_state(AddAccounts.lottery)
    return message.answer(t("lottery.pick_lottery"), reply_markup=builder.as_markup())


async def add_accounts_pick(
    query: CallbackQuery, session: AsyncSession, t: Translator, state: FSMContext
) -> TelegramMethod[Any]:
    lottery_id = _int((query.data or "").removeprefix(PICK_PREFIX)) or 0
    if lottery_id:
        await service.get_open(session=session, lottery_id=lottery_id)
    await state.update_data(lottery_id=lottery_id)
    await state.set_state(AddAccounts.lines)
    await query.answer()
    assert query.message is not None
    return query.message.answer(t("lottery.send_lines"))


async def stale_pick(query: CallbackQuery, t: Translator) -> TelegramMethod[Any]:
    """A lottery picker whose /add_accounts is over (cancelled, finished, or the bot
    restarted without its state): its buttons go, and the admin is told to start again."""
    if isinstance(query.message, Message) and query.message.reply_markup is not None:
        await query.message.edit_reply_markup(reply_markup=None)
    return query.answer(t("common.stale_button"), show_alert=True)


async def add_accounts_lines(
    message: Message, bot: Bot, session: AsyncSession, t: Translator, state: FSMContext
) -> SendMessage:
    if message.document is not None:
        if (message.document.file_size or 0) > MAX_IMPORT_BYTES:
            raise BadImportError(lines="—", count=0)
        buffer = io.BytesIO()
        await bot.download(message.document, destination=buffer)
        try:
            text = buffer.getvalue().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise BadImportError(lines="—", count=0) from None
    else:
        text = message.text or ""
    lines = service.parse_lines(text)
    lottery_id = int((await state.get_data()).get("lottery_id") or 0) or None
    result = await service.import_accounts(
        session=session, lines=lines, lottery_id=lottery_id, actor=message.chat.id
    )
    for user_id, numbers in result.notify.items():
        await notify.accounts_added(session=session, user_id=user_id, numbers=numbers)
    await state.clear()
    return message.answer(
        t(
            "lottery.imported",
            count=len(lines),
            added=result.added,
            bound=result.bound,
            joined=result.joined,
            id=lottery_id or "—",
        )
    )


def _lottery_id(t: Translator, command: CommandObject, usage: str) -> tuple[int, list[str]]:
    parts = (command.args or "").split(maxsplit=1)
    lottery_id = _int(parts[0]) if parts else None
    if lottery_id is None:
        raise _usage(t, usage)
    return lottery_id, parts[1:]


async def draw(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    t: Translator,
    settings: Settings,
) -> SendMessage:
    lottery_id, rest = _lottery_id(t, command, "lottery.draw_usage")
    result = await draws.draw(
        session=session,
        lottery_id=lottery_id,
        external_value=rest[0] if rest else None,
        actor=message.chat.id,
        claim_hours=settings.lottery_claim_hours,
    )
    await notify.drawn(session=session, settings=settings, result=result)
    return await _results_reply(message, session, t, result)


async def _results_reply(
    message: Message, session: AsyncSession, t: Translator, result: draws.DrawResult
) -> SendMessage:
    """The results as the reply; when too long for one message, the rest follow through the
    outbox (sent after this reply, once the draw is committed)."""
    parts = split_text(await results_text(session, t, result.lottery, result.round))
    if len(parts) > 1:
        await notify.results(
            session=session,
            channel=message.chat.id,
            lottery_id=result.lottery.id,
            round_=result.round,
            language=t.language,
            first_part=1,
            names=None,
        )
    return message.answer(parts[0])


async def verify_winner(
    message: Message, command: CommandObject, session: AsyncSession, t: Translator
) -> SendMessage:
    parts = (command.args or "").split()
    lottery_id = _int(parts[1]) if len(parts) == 2 else None
    if lottery_id is None:
        raise _usage(t, "lottery.verify_winner_usage")
    await service.get(session=session, lottery_id=lottery_id)
    member, confirmed = await wins.confirm_by_admin(
        session=session, code=parts[0], lottery_id=lottery_id, admin=message.chat.id
    )
    owner = await session.get(User, member.user_id)
    await notify.confirmed(
        session=session, telegram_id=owner.telegram_id if owner else None, won=confirmed
    )
    places = ", ".join(str(w.place) for w in confirmed)
    return message.answer(
        t("lottery.verified", card=member.club_card, places=places, id=lottery_id)
    )


async def winner_status(
    message: Message, command: CommandObject, session: AsyncSession, t: Translator
) -> SendMessage:
    lottery_id, _ = _lottery_id(t, command, "lottery.winner_status_usage")
    lottery = await service.get(session=session, lottery_id=lottery_id)
    if lottery.state != LotteryState.DRAWN:
        return message.answer(t("lottery.not_drawn", lottery_id=lottery_id))
    prizes = await service.prizes(session=session, lottery_id=lottery_id)
    lines = [t("lottery.status_title", title=lottery.title)]
    lines += [
        status_line(t, p, prizes.get(p.place, ""))
        for p in await wins.places(session=session, lottery_id=lottery_id)
    ]
    return message.answer("\n".join(lines))


async def check_unclaimed(
    message: Message, command: CommandObject, session: AsyncSession, t: Translator
) -> SendMessage:
    lottery_id, _ = _lottery_id(t, command, "lottery.check_unclaimed_usage")
    lottery = await service.get(session=session, lottery_id=lottery_id)
    prizes = await service.prizes(session=session, lottery_id=lottery_id)
    open_places = [
        p
        for p in await wins.places(session=session, lottery_id=lottery_id)
        if p.status in (WinStatus.PENDING, WinStatus.EXPIRED)
    ]
    if not open_places:
        return message.answer(t("lottery.all_claimed", title=lottery.title))
    lines = [t("lottery.unclaimed_title", title=lottery.title)]
    lines.extend(
        status_line(t, p, prizes.get(p.place, ""))
        + (
            f" ({t('lottery.until', at=when(p.deadline_at))})"
            if p.status == WinStatus.PENDING
            else ""
        )
        for p in open_places
    )
    if any(p.status == WinStatus.EXPIRED for p in open_places):
        lines.append(t("lottery.redraw_hint", id=lottery_id))
    return message.answer("\n".join(lines))


async def redraw(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    t: Translator,
    settings: Settings,
) -> SendMessage:
    lottery_id, _ = _lottery_id(t, command, "lottery.redraw_usage")
    result = await draws.redraw(
        session=session,
        lottery_id=lottery_id,
        actor=message.chat.id,
        claim_hours=settings.lottery_claim_hours,
    )
    await notify.drawn(session=session, settings=settings, result=result)
    reply = await _results_reply(message, session, t, result)
    if result.unfilled:
        places = ", ".join(map(str, result.unfilled))
        reply.text = fit_text(f"{reply.text}\n\n{t('lottery.redraw_unfilled', places=places)}")
    return reply


async def show_audit(
    message: Message, command: CommandObject, session: AsyncSession, t: Translator
) -> SendMessage:
    lottery_id = _int(command.args or "") if command.args else None
    if command.args and lottery_id is None:
        raise _usage(t, "lottery.audit_usage")
    entries = await audit.entries(session=session, lottery_id=lottery_id, limit=40)
    if not entries:
        return message.answer(t("lottery.audit_empty"))
    lines = [t("lottery.audit_title")]
    for entry in reversed(entries):
        detail = ", ".join(
            f"{k}={'—' if v is None else v}" for k, v in entry.detail.items() if k != "seed"
        )
        key = f"lottery_audit.action.{entry.action}"
        action = t(key) if t(key) != key else entry.action
        win = f" {t('lottery_audit.win', id=entry.win_id)}" if entry.win_id else ""
        actor = f" {t('lottery_audit.by', actor=entry.actor)}" if entry.actor else ""
        lines.append(
            f"{when(entry.created_at)} #{entry.lottery_id or '—'} {action}{win}{actor}"
            f"{f' ({detail})' if detail else ''}"
        )
    return message.answer("\n".join(lines)[:4000])


async def handed_over(
    message: Message, command: CommandObject, session: AsyncSession, t: Translator
) -> SendMessage:
    win_id = _int(command.args or "")
    if win_id is None:
        raise _usage(t, "lottery.handed_over_usage")
    win = await wins.hand_over(session=session, win_id=win_id, admin=message.chat.id)
    return message.answer(t("lottery.handed_over", place=win.place, id=win.lottery_id))


async def report(
    message: Message, command: CommandObject, session: AsyncSession, t: Translator
) -> TelegramMethod[Any]:
    name = (command.args or "").strip()
    if name not in reports.REPORTS:
        raise _usage(t, "lottery.report_usage")
    header, rows = await reports.REPORTS[name](session=session)
    buffer = io.StringIO()
    writer = csv_export.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    from aiogram.types import BufferedInputFile

    return message.answer_document(
        BufferedInputFile(buffer.getvalue().encode(), filename=f"{name}.csv"),
        caption=t("lottery.report_caption", name=name, count=len(rows)),
    )


# ---------------------------------------------------------------- renderers


async def _render_win(
    session: AsyncSession, chat_id: int, batch: list[dict[str, Any]]
) -> Outgoing | None:
    user = await users_service.get_by_telegram_id(session=session, telegram_id=chat_id)
    member = await accounts.member_of(session=session, user_id=user.id) if user else None
    if member is None:
        return None
    t = Translator(users_service.language_of(user))
    ids = [int(params["win_id"]) for params in batch]
    rows = (
        await session.execute(
            select(Win, Account.number, Lottery.title)
            .join(Account, Account.id == Win.account_id)
            .join(Lottery, Lottery.id == Win.lottery_id)
            .where(
                Win.id.in_(ids),
                Win.status == WinStatus.PENDING,
                Account.club_card == member.club_card,
            )
            .order_by(Win.place)
        )
    ).all()
    if not rows:
        return None
    prizes = await service.prizes(session=session, lottery_id=rows[0][0].lottery_id)
    parts = [
        t(
            "lottery.win_notice",
            place=win.place,
            title=title,
            prize=prizes.get(win.place, ""),
            number=number,
        )
        for win, number, title in rows
    ]
    first = rows[0][0]
    hours = round((first.deadline_at - first.created_at).total_seconds() / 3600)
    parts.append(
        t(
            "lottery.win_instructions",
            code=member.verification_code,
            deadline=when(first.deadline_at),
            hours=hours,
        )
    )
    markup = _confirm_buttons(t, [(win.id, number) for win, number, _ in rows])
    return Outgoing("\n\n".join(parts), markup)


def _confirm_buttons(t: Translator, rows: list[tuple[int, str]]) -> InlineKeyboardMarkup | None:
    """One "✅ Confirm" button per (win id, account number)."""
    if not rows:
        return None
    builder = InlineKeyboardBuilder()
    for win_id, number in rows:
        builder.button(
            text=t("lottery.confirm_button", number=number),
            callback_data=f"{CONFIRM_PREFIX}{win_id}",
        )
    builder.adjust(1)
    markup: InlineKeyboardMarkup = builder.as_markup()
    return markup


async def _render_win_buttons(
    session: AsyncSession, chat_id: int, batch: list[dict[str, Any]]
) -> Outgoing | None:
    user = await users_service.get_by_telegram_id(session=session, telegram_id=chat_id)
    t = Translator(users_service.language_of(user))
    params = batch[-1]
    ids = [int(i) for i in params["win_ids"]]
    waiting = (
        await session.execute(
            select(Win.id, Account.number)
            .join(Account, Account.id == Win.account_id)
            .where(
                Win.id.in_(ids),
                Win.status == WinStatus.PENDING,
                Win.deadline_at > utcnow(),
                Account.is_active.is_(True),
            )
            .order_by(Win.place)
        )
    ).all()
    if len(waiting) == len(ids):
        return None  # nothing changed since the notice was sent
    markup = _confirm_buttons(t, [(win_id, number) for win_id, number in waiting])
    return Outgoing(str(params["text"]), markup, edit_message_id=int(params["message_id"]))


async def _render_confirmed(
    session: AsyncSession, chat_id: int, batch: list[dict[str, Any]]
) -> Outgoing | None:
    user = await users_service.get_by_telegram_id(session=session, telegram_id=chat_id)
    t = Translator(users_service.language_of(user))
    ids = [int(params["win_id"]) for params in batch]
    rows = (
        await session.execute(
            select(Win.place, Lottery.title)
            .join(Lottery, Lottery.id == Win.lottery_id)
            .where(Win.id.in_(ids))
        )
    ).all()
    if not rows:
        return None
    return Outgoing(
        "\n".join(t("lottery.confirmed_notice", place=place, title=title) for place, title in rows)
    )


async def _render_accounts_added(
    session: AsyncSession, chat_id: int, batch: list[dict[str, Any]]
) -> Outgoing | None:
    user = await users_service.get_by_telegram_id(session=session, telegram_id=chat_id)
    t = Translator(users_service.language_of(user))
    numbers = ", ".join(str(params["number"]) for params in batch[:50])
    return Outgoing(t("lottery.accounts_added_notice", count=len(batch), numbers=numbers))


async def _render_results(
    session: AsyncSession, chat_id: int, batch: list[dict[str, Any]]
) -> Outgoing | None:
    params = batch[0]
    lottery = await session.get(Lottery, int(params["lottery_id"]))
    if lottery is None:
        return None
    t = Translator(str(params.get("language") or "en"))
    names = str(params.get("names", "masked"))  # rows queued before names were published: masked
    round_ = int(params["round"])
    text = await results_text(
        session, t, lottery, round_, names=None if names == "admin" else names
    )
    parts = split_text(text)
    part = int(params.get("part", 0))  # rows queued before results were split have none
    return Outgoing(parts[part]) if part < len(parts) else None


async def _render_draw_postponed(
    session: AsyncSession, chat_id: int, batch: list[dict[str, Any]]
) -> Outgoing | None:
    user = await users_service.get_by_telegram_id(session=session, telegram_id=chat_id)
    t = Translator(users_service.language_of(user))
    lines = []
    for params in batch:
        error = dict(params["params"])
        why = t(str(params["reason"]), **error)
        lines.append(t("lottery.draw_postponed", lottery_id=error["lottery_id"], reason=why))
    return Outgoing("\n\n".join(lines))


RENDERERS: dict[str, Renderer] = {
    notify.WIN: _render_win,
    notify.CONFIRMED: _render_confirmed,
    notify.ACCOUNTS_ADDED: _render_accounts_added,
    notify.RESULTS: _render_results,
    notify.DRAW_POSTPONED: _render_draw_postponed,
    notify.WIN_BUTTONS: _render_win_buttons,
}


def create_router(settings: Settings) -> Router:
    router = Router(name="lotteries")
    private = F.chat.type == "private"
    admin = IsAdmin()
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
    router.message.register(new_lottery, Command("new_lottery"), admin, private)
    router.message.register(add_account, Command("add_account"), admin, private)
    router.message.register(add_accounts_start, Command("add_accounts"), admin, private)
    router.callback_query.register(
        add_accounts_pick, F.data.startswith(PICK_PREFIX), StateFilter(AddAccounts.lottery), admin
    )
    router.callback_query.register(stale_pick, F.data.startswith(PICK_PREFIX), admin)
    router.message.register(remove_account, Command("remove_account"), admin, private)
    router.message.register(list_accounts, Command("list_accounts"), admin, private)
    router.message.register(draw, Command("draw"), admin, private)
    router.message.register(verify_winner, Command("verify_winner"), admin, private)
    router.message.register(winner_status, Command("winner_status"), admin, private)
    router.message.register(check_unclaimed, Command("check_unclaimed"), admin, private)
    router.message.register(redraw, Command("redraw"), admin, private)
    router.message.register(show_audit, Command("audit"), admin, private)
    router.message.register(handed_over, Command("handed_over"), admin, private)
    router.message.register(report, Command("lottery_report"), admin, private)
    # Answers to the flows' questions last, so that commands still work in the middle of one.
    text = F.text & ~F.text.startswith("/")
    router.message.register(register_card, StateFilter(Registration.card), text, private)
    router.message.register(
        register_phone, StateFilter(Registration.phone), text | F.contact, private
    )
    router.message.register(
        add_accounts_lines, StateFilter(AddAccounts.lines), text | F.document, admin, private
    )
    return router
