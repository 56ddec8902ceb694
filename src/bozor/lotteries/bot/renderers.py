"""The lottery's outbox messages: how each queued notice is rendered when it is sent."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bozor.db import utcnow
from bozor.i18n import Translator
from bozor.lotteries import accounts, notify, service
from bozor.lotteries.bot.texts_and_keyboards import confirm_buttons
from bozor.lotteries.models import Account, Lottery, Win, WinStatus
from bozor.lotteries.texts import results_text, when
from bozor.outbox.worker import Outgoing, Renderer
from bozor.telegram import split_text
from bozor.users import service as users_service


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
    markup = confirm_buttons(t, [(win.id, number) for win, number, _ in rows])
    return Outgoing("\n\n".join(parts), markup)


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
    markup = confirm_buttons(t, [(win_id, number) for win_id, number in waiting])
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
