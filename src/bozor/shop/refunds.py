"""Carrying out refunds queued by the payment rules: Stars through refundStarPayment (retried
by the job until Telegram agrees); card payments through Portmone when it can, else an
admin is asked to refund by hand."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bozor.db import session_scope
from bozor.shop import payments
from bozor.shop.models import Payment, PaymentProvider

log = logging.getLogger(__name__)


async def settle_stars(factory: async_sessionmaker[AsyncSession], bot: Bot) -> int:
    """Refund every Stars payment that is due; returns how many were refunded now."""
    async with session_scope(factory) as session:
        due = [
            (p.id, p.telegram_user_id, p.external_id)
            for p in await payments.refunds_due(session=session, provider=PaymentProvider.STARS)
        ]
    done = 0
    for payment_id, user_id, charge_id in due:
        if user_id is None:
            continue
        try:
            await bot.refund_star_payment(user_id=user_id, telegram_payment_charge_id=charge_id)
        except TelegramBadRequest as exc:
            if "ALREADY_REFUNDED" not in exc.message.upper():
                log.error("refund of Stars payment %s refused: %s", payment_id, exc.message)
                async with session_scope(factory) as session:
                    await payments.mark_refunded(
                        session=session, payment_id=payment_id, manual=True
                    )
                continue
        except Exception:
            log.exception("refund of Stars payment %s failed; will retry", payment_id)
            continue
        async with session_scope(factory) as session:
            if await payments.mark_refunded(session=session, payment_id=payment_id):
                done += 1
    return done


async def refund_stars_now(session: AsyncSession, bot: Bot, payment: Payment) -> bool:
    """Try a due Stars refund at once (the job retries it if Telegram fails now)."""
    if payment.telegram_user_id is None:
        return False
    try:
        await bot.refund_star_payment(
            user_id=payment.telegram_user_id, telegram_payment_charge_id=payment.external_id
        )
    except TelegramBadRequest as exc:
        if "ALREADY_REFUNDED" not in exc.message.upper():
            log.error("refund of Stars payment %s refused: %s", payment.id, exc.message)
            return False
    except Exception:
        log.exception("refund of Stars payment %s failed; the job retries", payment.id)
        return False
    return await payments.mark_refunded(session=session, payment_id=payment.id) is not None
