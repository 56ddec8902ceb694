"""Admins' lottery commands: lotteries, accounts, draws, winners, audit and reports."""

from __future__ import annotations

import io
import re
from datetime import datetime
from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject, Filter, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.methods import SendMessage, TelegramMethod
from aiogram.types import (
    CallbackQuery,
    Message,
)
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bozor import csv_export, localtime
from bozor.errors import InvalidInputError
from bozor.i18n import Translator
from bozor.lotteries import accounts, audit, draws, notify, operations, reports, service, wins
from bozor.lotteries.bot.texts_and_keyboards import PICK_PREFIX, parse_int, usage_error
from bozor.lotteries.exceptions import (
    BadImportError,
)
from bozor.lotteries.models import LotteryState, WinStatus
from bozor.lotteries.texts import audit_detail, results_text, status_line, when
from bozor.settings import Settings
from bozor.telegram import split_text
from bozor.telegram_limits import fit_button, fit_text

MAX_IMPORT_BYTES = 5 * 1024 * 1024


class AddAccounts(StatesGroup):
    lottery = State()
    lines = State()


class IsAdmin(Filter):
    async def __call__(self, event: Message | CallbackQuery, settings: Settings) -> bool:
        return event.from_user is not None and settings.is_admin(event.from_user.id)


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
        raise usage_error(t, "lottery.add_account_usage")
    card = None if parts[0] == "-" else parts[0]
    lottery_id = parse_int(parts[2]) if len(parts) == 3 else None
    if len(parts) == 3 and lottery_id is None:
        raise usage_error(t, "lottery.add_account_usage")
    added = await operations.add_account(
        session=session,
        club_card=card,
        number=parts[1],
        lottery_id=lottery_id,
        actor=message.chat.id,
    )
    joined = "" if lottery_id is None else "\n" + t("lottery.joined", id=lottery_id)
    number = added.account.number
    if not added.changed:
        key = (
            "lottery.account_already"
            if added.account.club_card
            else "lottery.account_already_unowned"
        )
        return message.answer(t(key, number=number, card=added.account.club_card) + joined)
    if card is None:
        return message.answer(t("lottery.account_added_unowned", number=number) + joined)
    owner = t("lottery.owner_known") if added.owner else t("lottery.owner_unknown")
    return message.answer(
        t("lottery.account_added", number=number, card=card, owner=owner) + joined
    )


async def remove_account(
    message: Message, command: CommandObject, session: AsyncSession, t: Translator
) -> SendMessage:
    if not command.args:
        raise usage_error(t, "lottery.remove_account_usage")
    account = await accounts.remove_account(
        session=session, number=command.args, actor=message.chat.id
    )
    return message.answer(t("lottery.account_removed", number=account.number))


async def list_accounts(
    message: Message, command: CommandObject, session: AsyncSession, t: Translator
) -> SendMessage:
    telegram_id = parse_int(command.args or "")
    if telegram_id is None:
        raise usage_error(t, "lottery.list_accounts_usage")
    found = await operations.member_accounts(session=session, telegram_id=telegram_id)
    if found is None:
        return message.answer(t("lottery.user_not_registered", id=telegram_id))
    lines = [
        t(
            "lottery.accounts_of",
            name=found.user.full_name,
            card=found.member.club_card,
            phone=found.member.phone or "—",
        )
    ]
    lines += [
        f"• {a.number} — {t('lottery.active' if a.is_active else 'lottery.inactive')}"
        for a in found.accounts
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
    lottery_id = parse_int((query.data or "").removeprefix(PICK_PREFIX)) or 0
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
    result = await operations.import_accounts(
        session=session, lines=lines, lottery_id=lottery_id, actor=message.chat.id
    )
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
    lottery_id = parse_int(parts[0]) if parts else None
    if lottery_id is None:
        raise usage_error(t, usage)
    return lottery_id, parts[1:]


async def draw(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    t: Translator,
    settings: Settings,
) -> SendMessage:
    lottery_id, rest = _lottery_id(t, command, "lottery.draw_usage")
    result = await operations.draw(
        session=session,
        settings=settings,
        lottery_id=lottery_id,
        external_value=rest[0] if rest else None,
        actor=message.chat.id,
    )
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
    lottery_id = parse_int(parts[1]) if len(parts) == 2 else None
    if lottery_id is None:
        raise usage_error(t, "lottery.verify_winner_usage")
    member, confirmed = await operations.verify_winner(
        session=session, code=parts[0], lottery_id=lottery_id, admin=message.chat.id
    )
    places = ", ".join(str(w.place) for w in confirmed)
    return message.answer(
        t("lottery.verified", card=member.club_card, places=places, id=lottery_id)
    )


async def winner_status(
    message: Message, command: CommandObject, session: AsyncSession, t: Translator
) -> SendMessage:
    lottery_id, _ = _lottery_id(t, command, "lottery.winner_status_usage")
    found = await operations.standing(session=session, lottery_id=lottery_id)
    if found.lottery.state != LotteryState.DRAWN:
        return message.answer(t("lottery.not_drawn", lottery_id=lottery_id))
    lines = [t("lottery.status_title", title=found.lottery.title)]
    lines += [status_line(t, p, found.prizes.get(p.place, "")) for p in found.places]
    return message.answer("\n".join(lines))


async def check_unclaimed(
    message: Message, command: CommandObject, session: AsyncSession, t: Translator
) -> SendMessage:
    lottery_id, _ = _lottery_id(t, command, "lottery.check_unclaimed_usage")
    found = await operations.standing(session=session, lottery_id=lottery_id)
    open_places = [p for p in found.places if p.status in (WinStatus.PENDING, WinStatus.EXPIRED)]
    if not open_places:
        return message.answer(t("lottery.all_claimed", title=found.lottery.title))
    lines = [t("lottery.unclaimed_title", title=found.lottery.title)]
    lines.extend(
        status_line(t, p, found.prizes.get(p.place, ""))
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
    result = await operations.redraw(
        session=session, settings=settings, lottery_id=lottery_id, actor=message.chat.id
    )
    reply = await _results_reply(message, session, t, result)
    if result.unfilled:
        places = ", ".join(map(str, result.unfilled))
        reply.text = fit_text(f"{reply.text}\n\n{t('lottery.redraw_unfilled', places=places)}")
    return reply


async def show_audit(
    message: Message, command: CommandObject, session: AsyncSession, t: Translator
) -> SendMessage:
    lottery_id = parse_int(command.args or "") if command.args else None
    if command.args and lottery_id is None:
        raise usage_error(t, "lottery.audit_usage")
    entries = await audit.entries(session=session, lottery_id=lottery_id, limit=40)
    if not entries:
        return message.answer(t("lottery.audit_empty"))
    lines = [t("lottery.audit_title")]
    for entry in reversed(entries):
        detail = audit_detail(t, entry.detail)
        key = f"lottery_audit.action.{entry.action}"
        action = t(key) if t(key) != key else entry.action
        win = f" {t('lottery_audit.win', id=entry.win_id)}" if entry.win_id else ""
        actor = f" {t('lottery_audit.by', actor=entry.actor)}" if entry.actor else ""
        lines.append(
            f"{when(entry.created_at)}{f' #{entry.lottery_id}' if entry.lottery_id else ''}"
            f" {action}{win}{actor}"
            f"{f' ({detail})' if detail else ''}"
        )
    return message.answer("\n".join(lines)[:4000])


async def handed_over(
    message: Message, command: CommandObject, session: AsyncSession, t: Translator
) -> SendMessage:
    win_id = parse_int(command.args or "")
    if win_id is None:
        raise usage_error(t, "lottery.handed_over_usage")
    win = await wins.hand_over(session=session, win_id=win_id, admin=message.chat.id)
    return message.answer(t("lottery.handed_over", place=win.place, id=win.lottery_id))


async def report(
    message: Message, command: CommandObject, session: AsyncSession, t: Translator
) -> TelegramMethod[Any]:
    name = (command.args or "").strip()
    if name not in reports.REPORTS:
        raise usage_error(t, "lottery.report_usage")
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


def create_router(settings: Settings) -> Router:
    router = Router(name="lotteries.admin")
    private = F.chat.type == "private"
    admin = IsAdmin()
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
    # Answers to the flow's questions last, so that commands still work in the middle of one.
    text = F.text & ~F.text.startswith("/")
    router.message.register(
        add_accounts_lines, StateFilter(AddAccounts.lines), text | F.document, admin, private
    )
    return router
