"""Texts shared by the bot handlers and the outbox renderers."""

from __future__ import annotations

from datetime import datetime

from bozor.i18n import Translator
from bozor.lotteries.models import WinStatus
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
