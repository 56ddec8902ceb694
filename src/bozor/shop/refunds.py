"""Carrying out refunds queued by the payment rules: Stars through refundStarPayment (retried
by the job until Telegram agrees); card payments through Portmone when it can, else an
admin is asked to refund by hand.

Each Stars refund is claimed (payments.claim_refund, committed) before Telegram is asked, so
the payment handler's immediate refund, an admin's, and the job's sweep on any instance never
ask twice for one charge."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bozor.db import session_scope
from bozor.settings import Settings
from bozor.shop.models import Order, Payment, PaymentProvider
from bozor.shop.service import payments

log = logging.getLogger(__name__)


async def refund_order(
    session: AsyncSession, bot: Bot, *, settings: Settings, order_id: int, actor: str | None
) -> Order:
    """An admin's refund of a delivered order (payments.request_refund), committed; its Stars
    are refunded at once through Telegram (the job retries what fails now), card payments by
    the reconciliation job. The bot's /refund and the admin API use it."""
    order = await payments.request_refund(
        session=session, settings=settings, order_id=order_id, actor=actor
    )
    await session.commit()
    for payment in await payments.stars_refunds_of(session=session, order_id=order.id):
        await refund_stars_now(session, bot, payment)
    return order


async def settle_stars(factory: async_sessionmaker[AsyncSession], bot: Bot) -> int:
    """Refund every Stars payment that is due and not being sent by someone else; returns
    how many were refunded now."""
    async with session_scope(factory) as session:
        due = [
            p.id
            for p in await payments.refunds_due(session=session, provider=PaymentProvider.STARS)
            if p.telegram_user_id is not None
        ]
    done = 0
    for payment_id in due:
        async with session_scope(factory) as session:
            payment = await payments.claim_refund(session=session, payment_id=payment_id)
        if payment is None:
            continue
        sent = await _send(bot, payment)
        async with session_scope(factory) as session:
            if sent is None:
                await payments.release_refund(session=session, payment_id=payment_id)
            elif await payments.mark_refunded(
                session=session, payment_id=payment_id, manual=not sent
            ):
                done += sent
    return done


async def refund_stars_now(session: AsyncSession, bot: Bot, payment: Payment) -> bool:
    """Try a due Stars refund at once (the job retries it if Telegram fails now). Commits
    the session's transaction: the claim must be seen by other senders before Telegram is
    asked."""
    if payment.telegram_user_id is None:
        return False
    claimed = await payments.claim_refund(session=session, payment_id=payment.id)
    await session.commit()
    if claimed is None:
        return False  # refunded already, or being refunded by another sender
    sent = await _send(bot, claimed)
    if sent is None:
        await payments.release_refund(session=session, payment_id=payment.id)
        return False
    marked = await payments.mark_refunded(session=session, payment_id=payment.id, manual=not sent)
    return sent and marked is not None


async def _send(bot: Bot, payment: Payment) -> bool | None:
    """Ask Telegram to refund: True when the Stars are back (now or before), False when
    Telegram refuses (an admin must), None when it failed and may be asked again."""
    assert payment.telegram_user_id is not None
    try:
        await bot.refund_star_payment(
            user_id=payment.telegram_user_id, telegram_payment_charge_id=payment.external_id
        )
    except TelegramBadRequest as exc:
        if "ALREADY_REFUNDED" in exc.message.upper():
            return True
        log.error("refund of Stars payment %s refused: %s", payment.id, exc.message)
        return False
    except Exception:
        log.exception("refund of Stars payment %s failed; will retry", payment.id)
        return None
    return True
