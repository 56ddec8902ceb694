"""Texts shared by the bot handlers and the outbox renderers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bozor import localtime
from bozor.i18n import Translator
from bozor.lotteries import publish, service, wins
from bozor.lotteries.models import Lottery, WinStatus
from bozor.lotteries.wins import PlaceState

STATUS_ICON = {
    WinStatus.CONFIRMED: "✅",
    WinStatus.PENDING: "⏳",
    WinStatus.EXPIRED: "❌",
    WinStatus.REDRAWN: "🔁",
}


def when(value: datetime | None) -> str:
    return localtime.show(value)


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


async def results_text(
    session: AsyncSession,
    t: Translator,
    lottery: Lottery,
    round_: int,
    *,
    names: str | None = None,
) -> str:
    """A round's winners (accounts with no owner by number). For the admin (`names` None):
    winners in full and the fairness data. Published (`names`: LOTTERY_PUBLISH_NAMES):
    winners masked, in full or left out, and a "verify this draw" link instead of the seeds
    and hashes."""
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
            who=owner_suffix(place) if names is None else publish.owner_suffix(place, names),
        )
        for place in states
    )
    if names is None:
        lines.append(fairness_text(t, lottery))
    else:
        lines.append(await publish.verify_line(session, t, lottery))
    return "\n".join(lines)


def fairness_text(t: Translator, lottery: Lottery) -> str:
    """The published data a draw can be recomputed from: seed, hashes, count, external value."""
    return t(
        "lottery.fairness",
        seed=lottery.seed,
        seed_hash=lottery.seed_hash,
        participants_hash=lottery.participants_hash or "—",
        count=lottery.participants_count or 0,
        external=lottery.external_value or "—",
    )


def owner_suffix(place: wins.PlaceState) -> str:
    if place.owner_telegram_id is None:
        return ""  # no registered owner: announced by the account number alone
    return f" — {'@' + place.owner_username if place.owner_username else place.owner_name}"


# The seed is kept for the verification page and `bozor lottery verify`, not shown in chat.
AUDIT_UNSHOWN = frozenset({"seed"})


def audit_detail(
    t: Translator, detail: dict[str, Any], *, hide: frozenset[str] = AUDIT_UNSHOWN
) -> str:
    """An audit entry's details as people read them: "places: 2, club card: —", each name
    translated (`lottery_audit.detail.<name>`), a reason (an error's code) as its text."""
    parts = []
    for name, value in detail.items():
        if name in hide:
            continue
        key = f"lottery_audit.detail.{name}"
        label = t(key) if t(key) != key else name.replace("_", " ")
        if value is None or value == "":
            shown = "—"
        elif name == "via":
            shown = t(f"lottery_audit.via.{value}")
        elif name == "reason":
            text = t(str(value))
            shown = str(value) if "{" in text else text
        else:
            shown = str(value)
        parts.append(f"{label}: {shown}")
    return ", ".join(parts)
