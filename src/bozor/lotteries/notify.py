"""Outbox messages of the lottery feature, written in the caller's transaction."""

from __future__ import annotations

import html
from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bozor.broadcasts import service as broadcasts
from bozor.i18n import Translator
from bozor.lotteries import audit
from bozor.lotteries.models import Account, Lottery, Member, Participation, Win, WinStatus
from bozor.lotteries.settings import LotterySettings
from bozor.outbox import service as outbox
from bozor.settings import Settings
from bozor.users.models import User
from bozor.users.service import language_of

if TYPE_CHECKING:
    from bozor.lotteries.draws import DrawResult

WIN = "lottery.win"
CONFIRMED = "lottery.confirmed"
ACCOUNTS_ADDED = "lottery.accounts_added"
RESULTS = "lottery.results"
DRAW_POSTPONED = "lottery.draw_postponed"
WIN_BUTTONS = "lottery.win_buttons"


async def drawn(*, session: AsyncSession, settings: Settings, result: DrawResult) -> None:
    """Everything a draw (or redraw) tells, in its transaction: each winner with their Confirm
    buttons, the results in the channel, and — after the main draw, when
    `LOTTERY_NOTIFY_PARTICIPANTS` is on — every other registered participant, through the
    broadcast engine (paced at Telegram's limit, resumed after a restart, never twice)."""
    await wins(session=session, won=result.wins)
    await results(
        session=session,
        channel=LotterySettings.of(settings).channel_id,
        lottery_id=result.lottery.id,
        round_=result.round,
        language=settings.default_language,
        names=LotterySettings.of(settings).publish_names,
    )
    if result.round == 0 and LotterySettings.of(settings).notify_participants:
        await participants(
            session=session,
            lottery=result.lottery,
            won=result.wins,
            default_language=settings.default_language,
            names=LotterySettings.of(settings).publish_names,
        )


async def participants(
    *,
    session: AsyncSession,
    lottery: Lottery,
    won: Sequence[Win],
    default_language: str,
    names: str = "masked",
) -> int:
    """The results to the registered owners of the lottery's accounts who did not win (the
    winners have their own message): one broadcast per language. Returns how many users."""
    from bozor.lotteries.texts import results_text

    winning = [w.account_id for w in won]
    owners_of_winning = (
        select(Member.user_id)
        .join(Account, Account.club_card == Member.club_card)
        .where(Account.id.in_(winning))
    )
    users = (
        await session.scalars(
            select(User)
            .join(Member, Member.user_id == User.id)
            .join(Account, Account.club_card == Member.club_card)
            .join(Participation, Participation.account_id == Account.id)
            .where(Participation.lottery_id == lottery.id, User.id.not_in(owners_of_winning))
            .distinct()
        )
    ).all()
    by_language: defaultdict[str, list[int]] = defaultdict(list)
    for user in users:
        by_language[language_of(user, default_language)].append(user.id)
    for language, user_ids in sorted(by_language.items()):
        t = Translator(language)
        header = t("lottery.participant_results")
        room = broadcasts.TEXT_LIMIT - len(header) - 2
        body = _fit(await results_text(session, t, lottery, 0, names=names), room)
        await broadcasts.enqueue(
            session=session,
            user_ids=user_ids,
            content=broadcasts.Content(text=html.escape(f"{header}\n\n{body}")),
            source="lotteries",
        )
    return len(users)


def _fit(text: str, limit: int) -> str:
    """At most `limit` characters, cut at a line end (a draw with very many places)."""
    if len(text) <= limit:
        return text
    kept = text[: limit - 1].rsplit("\n", 1)[0]
    return f"{kept}\n…"


async def wins(*, session: AsyncSession, won: Sequence[Win]) -> int:
    """Tell each owner of a winning account (one message per owner and round, with a button per
    account); accounts with no registered owner are only announced. Returns messages queued."""
    if not won:
        return 0
    rows = (
        await session.execute(
            select(Win.id, Win.lottery_id, Win.round, User.telegram_id)
            .join(Account, Account.id == Win.account_id)
            .join(Member, Member.club_card == Account.club_card)
            .join(User, User.id == Member.user_id)
            .where(Win.id.in_([w.id for w in won]), User.telegram_id.is_not(None))
        )
    ).all()
    queued = 0
    for win_id, lottery_id, round_, telegram_id in rows:
        assert telegram_id is not None
        await outbox.enqueue(
            session=session,
            chat_id=telegram_id,
            kind=WIN,
            params={"win_id": win_id},
            coalesce_key=f"lottery-win:{lottery_id}:{round_}",
        )
        await audit.record(
            session=session,
            action="notified",
            lottery_id=lottery_id,
            win_id=win_id,
            detail={"chat_id": telegram_id},
        )
        queued += 1
    return queued


async def confirmed(*, session: AsyncSession, telegram_id: int | None, won: Sequence[Win]) -> None:
    if telegram_id is None:
        return
    for win in won:
        await outbox.enqueue(
            session=session,
            chat_id=telegram_id,
            kind=CONFIRMED,
            params={"win_id": win.id},
            coalesce_key=f"lottery-confirmed:{win.lottery_id}",
        )


async def accounts_added(*, session: AsyncSession, user_id: int, numbers: Sequence[str]) -> None:
    user = await session.get(User, user_id)
    if user is None or user.telegram_id is None:
        return
    for number in numbers:
        await outbox.enqueue(
            session=session,
            chat_id=user.telegram_id,
            kind=ACCOUNTS_ADDED,
            params={"number": number},
            coalesce_key="lottery-accounts",
        )


async def win_buttons(
    *, session: AsyncSession, chat_id: int, message_id: int, text: str, win_ids: Sequence[int]
) -> None:
    """Redraw the Confirm buttons of a win notice once committed: only wins still waiting for
    confirmation keep theirs (one edit per message, however many presses came at once)."""
    await outbox.enqueue(
        session=session,
        chat_id=chat_id,
        kind=WIN_BUTTONS,
        params={"message_id": message_id, "text": text, "win_ids": list(win_ids)},
        coalesce_key=f"lottery-win-buttons:{message_id}",
    )


async def results(
    *,
    session: AsyncSession,
    channel: int | None,
    lottery_id: int,
    round_: int,
    language: str,
    first_part: int = 0,
    names: str | None = "masked",
) -> None:
    """Announce a round's winners in the results channel (accounts with no owner by number),
    in as many messages as Telegram's length limit needs (a draw with very many places).
    `first_part`: the parts before it were sent otherwise (the admin's reply to /draw).
    `names`: LOTTERY_PUBLISH_NAMES for a channel; None for the admin's own chat (in full)."""
    # Here, not at the top: bozor.telegram loads aiogram (seconds on a busy machine), which
    # `bozor lottery import`, a user of this module, never needs.
    from bozor.lotteries.texts import results_text
    from bozor.telegram import split_text

    if channel is None:
        return
    lottery = await session.get(Lottery, lottery_id)
    if lottery is None:
        return
    text = await results_text(session, Translator(language), lottery, round_, names=names)
    for part in range(first_part, len(split_text(text))):
        await outbox.enqueue(
            session=session,
            chat_id=channel,
            kind=RESULTS,
            params={
                "lottery_id": lottery_id,
                "round": round_,
                "language": language,
                "part": part,
                "names": names or "admin",
            },
            coalesce_key=f"lottery-results:{lottery_id}:{round_}:{part}",
        )


async def draw_postponed(
    *, session: AsyncSession, admins: Sequence[int], reason: str, params: dict[str, Any]
) -> None:
    """Tell the admins why a scheduled draw was not made (`reason`: the error's code)."""
    for admin in admins:
        await outbox.enqueue(
            session=session,
            chat_id=admin,
            kind=DRAW_POSTPONED,
            params={"reason": reason, "params": params},
        )


async def pending_wins(*, session: AsyncSession, account_id: int) -> None:
    """An account bound to its owner after it won (scenario 2): the owner hears of the win."""
    pending = list(
        await session.scalars(
            select(Win).where(Win.account_id == account_id, Win.status == WinStatus.PENDING)
        )
    )
    await wins(session=session, won=pending)
