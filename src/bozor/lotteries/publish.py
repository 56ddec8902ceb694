"""What published results say about people: winners' names as `LOTTERY_PUBLISH_NAMES` says
(masked by default), and a short "verify this draw" link instead of the 64-character seeds and
hashes, which `/verify <id>`, the admin API and `bozor lottery verify` give in full."""

from __future__ import annotations

from typing import Literal, get_args

import regex
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bozor.botidentity.models import BotIdentity
from bozor.i18n import Translator
from bozor.lotteries.models import Lottery
from bozor.lotteries.wins import PlaceState

PublishNames = Literal["masked", "full", "none"]
PUBLISH_NAMES: tuple[str, ...] = get_args(PublishNames)
VERIFY_PAYLOAD = "verify_"  # /start verify_<id>: the link in a published result


def mask(name: str) -> str:
    """A name others can recognise but not look up: the first two characters and the last one
    (`@ja***e`, `Ak***v`), or only the first of a name of three characters or fewer; a leading
    `@` is kept. Whole characters (graphemes), so an emoji or a letter with an accent stays
    whole."""
    at = "@" if name.startswith("@") else ""
    letters = regex.findall(r"\X", name.removeprefix("@"))
    if not letters:
        return "***"
    if len(letters) <= 3:
        return f"{at}{letters[0]}***"
    return f"{at}{''.join(letters[:2])}***{letters[-1]}"


def owner_suffix(place: PlaceState, names: str) -> str:
    """` — <winner>` after a result line as published: masked, in full, or nothing (the account
    number alone); accounts with no registered owner are announced by number anyway."""
    if place.owner_telegram_id is None or names == "none":
        return ""
    name = f"@{place.owner_username}" if place.owner_username else (place.owner_name or "—")
    return f" — {name if names == 'full' else mask(name)}"


async def bot_username(session: AsyncSession) -> str | None:
    """The bot's @username as Telegram last told it (one bot per database)."""
    return await session.scalar(
        select(BotIdentity.username)
        .where(BotIdentity.username.is_not(None))
        .order_by(BotIdentity.refreshed_at.desc())
        .limit(1)
    )


async def verify_line(session: AsyncSession, t: Translator, lottery: Lottery) -> str:
    """ "Verify this draw" with a t.me link that opens `/verify <id>` in the bot (the command
    alone while the bot's username is unknown)."""
    username = await bot_username(session)
    if username:
        url = f"https://t.me/{username}?start={VERIFY_PAYLOAD}{lottery.id}"
        return t("lottery.verify.link", url=url, id=lottery.id)
    return t("lottery.verify.command", id=lottery.id)
