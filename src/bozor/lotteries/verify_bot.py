"""`/verify <id>` (and the "Verify this draw" link, `/start verify_<id>`): anyone may read a
drawn lottery's published data in full — every round's winners as LOTTERY_PUBLISH_NAMES
says, the seed, the hashes and the external value — to recompute it (docs/lotteries.md)."""

from __future__ import annotations

from aiogram.filters import CommandObject
from aiogram.methods import SendMessage
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from bozor.errors import InvalidInputError
from bozor.i18n import Translator
from bozor.lotteries import service, wins
from bozor.lotteries.exceptions import LotteryNotDrawnError
from bozor.lotteries.publish import VERIFY_PAYLOAD
from bozor.lotteries.settings import LotterySettings
from bozor.lotteries.texts import fairness_text, results_text
from bozor.settings import Settings
from bozor.telegram import split_text


async def verification_text(
    session: AsyncSession, t: Translator, lottery_id: int, names: str
) -> str:
    """Every round's winners and the fairness data of a drawn lottery."""
    lottery = await service.get(session=session, lottery_id=lottery_id)
    if lottery.drawn_at is None:  # the seed stays secret until the draw
        raise LotteryNotDrawnError(lottery_id=lottery_id)
    rounds = sorted({p.round for p in await wins.places(session=session, lottery_id=lottery.id)})
    parts = []
    for round_ in rounds or [0]:
        text = await results_text(session, t, lottery, round_, names=names)
        parts.append(text.rsplit("\n", 1)[0])  # without its own "verify this draw" line
    parts.append(fairness_text(t, lottery).strip())
    parts.append(t("lottery.verify.how"))
    return "\n\n".join(parts)


async def verify_draw(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    t: Translator,
    settings: Settings,
) -> SendMessage:
    """`/verify <id>`, or `/start verify_<id>` from a published result's link."""
    args = (command.args or "").strip().removeprefix(VERIFY_PAYLOAD)
    if not args.isdigit():
        raise InvalidInputError("lottery.verify.usage")
    text = await verification_text(
        session, t, int(args), LotterySettings.of(settings).publish_names
    )
    return message.answer(split_text(text)[0])
