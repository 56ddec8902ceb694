"""Outbox renderers of the shop: each turns queued rows into one message when it is sent."""

from __future__ import annotations

from html import escape
from typing import Any

from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bozor import localtime
from bozor.db import utcnow
from bozor.i18n import Translator
from bozor.outbox.worker import Outgoing, Renderer
from bozor.settings import Settings
from bozor.shop import codes, notify, translations
from bozor.shop.bot.texts_and_keyboards import order_summary
from bozor.shop.models import STARS, Order, OrderStatus, Payment, Product, Ticket, TicketMessage
from bozor.shop.service import catalogue, orders
from bozor.users import service as users_service
from bozor.users.models import User


async def _t(session: AsyncSession, chat_id: int) -> Translator:
    user = await users_service.get_by_telegram_id(session=session, telegram_id=chat_id)
    return Translator(users_service.language_of(user))


def _amount(amount: int, currency: str) -> str:
    return f"{amount} ⭐" if currency == STARS else f"{catalogue.money(amount)} {currency}"


def delivered_text(t: Translator, line: orders.OrderLine, found: list[str]) -> str:
    """An order's codes, each in monospace so that a tap copies it."""
    listed = "\n".join(f"<code>{escape(code)}</code>" for code in found)
    category, product = translations.line_names(line, t.language)
    return t(
        "shop.codes",
        id=line.order.id,
        category=escape(category),
        product=escape(product),
        codes=listed,
    )


def _delivered(settings: Settings) -> Renderer:
    async def render(
        session: AsyncSession, chat_id: int, batch: list[dict[str, Any]]
    ) -> Outgoing | None:
        t = await _t(session, chat_id)
        texts = []
        for params in batch:
            line = await orders.line(session=session, order_id=int(params["order_id"]))
            owner = await session.get(User, line.order.user_id)
            if owner is None or owner.telegram_id != chat_id:
                continue
            if line.order.status != OrderStatus.DELIVERED:
                continue
            found = await codes.reveal(session=session, settings=settings, order_id=line.order.id)
            texts.append(delivered_text(t, line, found))
        if not texts:
            return None
        return Outgoing("\n\n".join(texts), parse_mode="HTML")

    return render


async def _refunded(
    session: AsyncSession, chat_id: int, batch: list[dict[str, Any]]
) -> Outgoing | None:
    t = await _t(session, chat_id)
    return Outgoing(
        "\n".join(
            t(
                "shop.refunded_notice",
                id=params["order_id"],
                amount=_amount(int(params["amount"]), str(params["currency"])),
            )
            for params in batch
        )
    )


async def _refund_pending(
    session: AsyncSession, chat_id: int, batch: list[dict[str, Any]]
) -> Outgoing | None:
    t = await _t(session, chat_id)
    return Outgoing(
        "\n".join(t("shop.refund_pending_notice", id=params["order_id"]) for params in batch)
    )


async def _low_stock(
    session: AsyncSession, chat_id: int, batch: list[dict[str, Any]]
) -> Outgoing | None:
    t = await _t(session, chat_id)
    lines = [t("shop.low_stock_title")]
    for params in batch:
        product = await session.get(Product, int(params["product_id"]))
        if product is not None:
            left = await codes.stock(session=session, product_id=product.id)
            lines.append(t("shop.low_stock_line", id=product.id, title=product.title, count=left))
    return Outgoing("\n".join(lines)) if len(lines) > 1 else None


async def _manual_refund(
    session: AsyncSession, chat_id: int, batch: list[dict[str, Any]]
) -> Outgoing | None:
    t = await _t(session, chat_id)
    lines = []
    for params in batch:
        payment = await session.get(Payment, int(params["payment_id"]))
        if payment is not None:
            lines.append(
                t(
                    "shop.manual_refund",
                    payment=payment.external_id,
                    order=payment.order_id or "—",
                    amount=_amount(payment.amount, payment.currency),
                )
            )
    return Outgoing("\n".join(lines)) if lines else None


async def _ticket(
    session: AsyncSession, chat_id: int, batch: list[dict[str, Any]]
) -> Outgoing | None:
    t = await _t(session, chat_id)
    message = await session.get(TicketMessage, int(batch[0]["message_id"]))
    if message is None:
        return None
    ticket = await session.get(Ticket, message.ticket_id)
    user = await session.get(User, ticket.user_id) if ticket else None
    who = "—"
    if user is not None:
        who = f"{user.full_name} (@{user.username})" if user.username else user.full_name
        who += f", id {user.telegram_id}"
    builder = InlineKeyboardBuilder()
    builder.button(text=t("shop.reply_button"), callback_data=f"sha:r:{message.ticket_id}")
    return Outgoing(
        t("shop.ticket_notice", id=message.ticket_id, who=who, text=message.text),
        builder.as_markup(),
    )


async def _answer(
    session: AsyncSession, chat_id: int, batch: list[dict[str, Any]]
) -> Outgoing | None:
    t = await _t(session, chat_id)
    ids = [int(params["message_id"]) for params in batch]
    texts = list(
        await session.scalars(
            select(TicketMessage.text).where(TicketMessage.id.in_(ids)).order_by(TicketMessage.id)
        )
    )
    if not texts:
        return None
    return Outgoing(t("shop.answer_notice", text="\n\n".join(texts)))


async def _card_declined(
    session: AsyncSession, chat_id: int, batch: list[dict[str, Any]]
) -> Outgoing | None:
    t = await _t(session, chat_id)
    lines = []
    for params in batch:
        order = await session.get(Order, int(params["order_id"]))
        if order is None:
            continue
        if order.status == OrderStatus.PENDING and order.expires_at > utcnow():
            until = localtime.show(order.expires_at, date=False)
            lines.append(t("shop.card_declined", id=order.id, until=until))
        else:
            lines.append(t("shop.card_declined_closed", id=order.id))
    return Outgoing("\n\n".join(lines)) if lines else None


def _paid_summary(settings: Settings) -> Renderer:
    async def render(
        session: AsyncSession, chat_id: int, batch: list[dict[str, Any]]
    ) -> Outgoing | None:

        params = batch[-1]
        t = await _t(session, chat_id)
        line = await orders.line(session=session, order_id=int(params["order_id"]))
        if line.order.status != OrderStatus.DELIVERED:
            return None
        text = order_summary(t, line, settings).rsplit("\n", 1)[0]  # without "held for…"
        return Outgoing(f"{text}\n{t('shop.paid_mark')}", edit_message_id=int(params["message_id"]))

    return render


def renderers(settings: Settings) -> dict[str, Renderer]:
    """The shop's renderers (code delivery needs the settings' decryption keys)."""
    return {
        notify.DELIVERED: _delivered(settings),
        notify.PAID_SUMMARY: _paid_summary(settings),
        **_RENDERERS,
    }


_RENDERERS: dict[str, Renderer] = {
    notify.REFUNDED: _refunded,
    notify.REFUND_PENDING: _refund_pending,
    notify.LOW_STOCK: _low_stock,
    notify.MANUAL_REFUND: _manual_refund,
    notify.TICKET: _ticket,
    notify.ANSWER: _answer,
    notify.CARD_DECLINED: _card_declined,
}
