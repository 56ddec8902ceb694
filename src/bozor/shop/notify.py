"""Outbox messages of the shop, written in the caller's transaction (rendered in bot.py)."""

from __future__ import annotations

import html

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bozor.outbox import service as outbox
from bozor.settings import Settings
from bozor.shop.exceptions import BadTextError
from bozor.shop.models import Order
from bozor.users.models import User

DELIVERED = "shop.delivered"
LOW_STOCK = "shop.low_stock"
REFUNDED = "shop.refunded"
REFUND_PENDING = "shop.refund_pending"
MANUAL_REFUND = "shop.manual_refund"
TICKET = "shop.ticket"
ANSWER = "shop.answer"
CARD_DECLINED = "shop.card_declined"
PAID_SUMMARY = "shop.paid_summary"


async def _telegram_id(session: AsyncSession, user_id: int) -> int | None:
    return await session.scalar(select(User.telegram_id).where(User.id == user_id))


async def delivered(*, session: AsyncSession, order: Order) -> None:
    """The codes of a paid order, to its buyer (decrypted only when the message is sent)."""
    chat = await _telegram_id(session, order.user_id)
    if chat is not None:
        await outbox.enqueue(
            session=session, chat_id=chat, kind=DELIVERED, params={"order_id": order.id}
        )


async def card_declined(*, session: AsyncSession, order_id: int, user_id: int) -> None:
    """A card payment the bank refused: the buyer hears it (Portmone tells nobody)."""
    chat = await _telegram_id(session, user_id)
    if chat is not None:
        await outbox.enqueue(
            session=session, chat_id=chat, kind=CARD_DECLINED, params={"order_id": order_id}
        )


async def paid_summary(
    *, session: AsyncSession, chat_id: int, message_id: int, order_id: int
) -> None:
    """The order's summary, once paid, loses its Pay and Cancel buttons (edited after commit)."""
    await outbox.enqueue(
        session=session,
        chat_id=chat_id,
        kind=PAID_SUMMARY,
        params={"order_id": order_id, "message_id": message_id},
        coalesce_key=f"shop-summary:{message_id}",
    )


async def refunded(
    *, session: AsyncSession, order_id: int, user_id: int, amount: int, currency: str
) -> None:
    chat = await _telegram_id(session, user_id)
    if chat is not None:
        await outbox.enqueue(
            session=session,
            chat_id=chat,
            kind=REFUNDED,
            params={"order_id": order_id, "amount": amount, "currency": currency},
        )


async def refund_pending(*, session: AsyncSession, order_id: int, user_id: int) -> None:
    """Paid, but the order could not be fulfilled: the money is on its way back."""
    chat = await _telegram_id(session, user_id)
    if chat is not None:
        await outbox.enqueue(
            session=session, chat_id=chat, kind=REFUND_PENDING, params={"order_id": order_id}
        )


async def admins(
    *,
    session: AsyncSession,
    settings: Settings,
    kind: str,
    params: dict[str, object],
    coalesce_key: str | None = None,
) -> None:
    for admin in settings.admin_ids:
        await outbox.enqueue(
            session=session, chat_id=admin, kind=kind, params=params, coalesce_key=coalesce_key
        )


async def low_stock(
    *, session: AsyncSession, settings: Settings, product_id: int, left: int
) -> None:
    await admins(
        session=session,
        settings=settings,
        kind=LOW_STOCK,
        params={"product_id": product_id, "left": left},
        coalesce_key="shop-low-stock",
    )


async def manual_refund(*, session: AsyncSession, settings: Settings, payment_id: int) -> None:
    await admins(
        session=session, settings=settings, kind=MANUAL_REFUND, params={"payment_id": payment_id}
    )


async def ticket(*, session: AsyncSession, settings: Settings, message_id: int) -> None:
    await admins(session=session, settings=settings, kind=TICKET, params={"message_id": message_id})


async def answer(*, session: AsyncSession, chat_id: int, message_id: int) -> None:
    await outbox.enqueue(
        session=session, chat_id=chat_id, kind=ANSWER, params={"message_id": message_id}
    )


async def broadcast(
    *, session: AsyncSession, settings: Settings, text: str, segment: str = "all"
) -> int:
    """A notice to every user (or the `buyers` segment) through the broadcast engine, which
    paces it with everything else under Telegram's limits, skips users who blocked the bot and
    resumes after a restart without sending twice. Returns how many it will reach."""
    from bozor.broadcasts import service as broadcasts
    from bozor.broadcasts.segments import CORE_SEGMENTS
    from bozor.shop.segments import SEGMENTS

    if not text.strip() or "\x00" in text:
        raise BadTextError(max=4000)
    available = {**CORE_SEGMENTS, **SEGMENTS}  # the shop's notices go to all, or its buyers
    content = broadcasts.Content(text=html.escape(text))
    await broadcasts.create(
        session=session, available=available, content=content, segment=segment, source="shop"
    )
    return await broadcasts.count_recipients(
        session=session,
        available=available,
        segment=segment,
        params={},
        default_language=settings.default_language,
    )
