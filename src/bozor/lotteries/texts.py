"""Texts shared by the bot handlers and the outbox renderers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bozor.i18n import Translator
from bozor.lotteries import service, wins
from bozor.lotteries.models import Lottery, WinStatus
from bozor.lotteries.wins import PlaceState

STATUS_ICON = {
    WinStatus.CONFIRMED: "✅",
    WinStatus.PENDING: "⏳",
    WinStatus.EXPIRED: "❌",
    WinStatus.REDRAWN: "🔁",
}


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "—"


def who(t: Translator, place: PlaceState) -> str:
    """An owner by @username (or name) and card; an account with no owner by its number."""
    if place.owner_telegram_id is None:
        return t("lottery.who_account", number=place.number)
    name = f"@{place.owner_username}" if place.owner_username else (place.owner_name or "—")
    return t("lottery.who_owner", name=name, card=place.club_card or "—", number=place.number)


def status_line(t: Translator, place: PlaceState, prize: str) -> str:
    return t(
        "lottery.status_line",
        place=place.place,
        prize=prize,
        who=who(t, place),
        icon=STATUS_ICON[place.status],
        status=t(f"lottery.status.{place.status}"),
    )


async def results_text(session: AsyncSession, t: Translator, lottery: Lottery, round_: int) -> str:
    """A round's winners (accounts with no owner by number) and the fairness data."""
    prizes = await service.prizes(session=session, lottery_id=lottery.id)
    states = [
        p for p in await wins.places(session=session, lottery_id=lottery.id) if p.round == round_
    ]
    lines = [
        t(
            "lottery.results_title" if round_ == 0 else "lottery.redraw_title",
            title=lottery.title,
            id=lottery.id,
        )
    ]
    lines.extend(
        t(
            "lottery.result_line",
            place=place.place,
            prize=prizes.get(place.place, ""),
            number=place.number,
            who=owner_suffix(place),
        )
        for place in states
    )
    lines.append(
        t(
            "lottery.fairness",
            seed=lottery.seed,
            seed_hash=lottery.seed_hash,
            participants_hash=lottery.participants_hash or "—",
            count=lottery.participants_count or 0,
            external=lottery.external_value or "—",
        )
    )
    return "\n".join(lines)


def owner_suffix(place: wins.PlaceState) -> str:
    if place.owner_telegram_id is None:
        return ""  # no registered owner: announced by the account number alone
    return f" — {'@' + place.owner_username if place.owner_username else place.owner_name}"
