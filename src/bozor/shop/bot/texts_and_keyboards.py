"""The shop's texts and keyboards for the bot: what a handler renders from the service's
answers. No queries here."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bozor import localtime
from bozor.i18n import Translator
from bozor.settings import Settings
from bozor.shop import translations
from bozor.shop.models import Order, OrderStatus
from bozor.shop.service import card, catalogue, orders
from bozor.shop.settings import ShopSettings
from bozor.telegram_limits import BUTTON, fit_param


def order_summary(t: Translator, line: orders.OrderLine, settings: Settings) -> str:
    order = line.order
    category, product = translations.line_names(line, t.language)
    parts = [
        t(
            "shop.summary",
            id=order.id,
            category=category,
            product=product,
            quantity=order.quantity,
            stars=order.stars_total,
        )
    ]
    if order.card_total is not None and order.card_currency and card.available(settings, order):
        parts.append(
            t(
                "shop.summary_card",
                amount=catalogue.money(order.card_total),
                currency=order.card_currency,
            )
        )
    if order.bonus_points:
        parts.append(t("shop.summary_bonus", points=order.bonus_points, due=order.stars_due))
    minutes = max(1, round(ShopSettings.of(settings).order_minutes))
    parts.append(t("shop.summary_hold", minutes=minutes))
    return "\n".join(parts)


def summary_keyboard(
    t: Translator, order: Order, settings: Settings, balance: int
) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    if order.stars_due > 0:
        builder.button(
            text=t("shop.pay_stars", stars=order.stars_due), callback_data=f"sh:pay:{order.id}"
        )
    else:
        builder.button(text=t("shop.pay_bonus"), callback_data=f"sh:bonuspay:{order.id}")
    if card.available(settings, order) and order.card_total is not None:
        builder.button(
            text=t(
                "shop.pay_card",
                amount=catalogue.money(order.card_total),
                currency=order.card_currency or "",
            ),
            callback_data=f"sh:card:{order.id}",
        )
    if balance > 0 and not order.bonus_points:
        builder.button(
            text=t("shop.use_bonus", points=min(balance, order.stars_total)),
            callback_data=f"sh:bonus:{order.id}",
        )
    builder.button(text=t("shop.cancel_order"), callback_data=f"sh:x:{order.id}")
    builder.adjust(1)
    return builder.as_markup()


def product_label(t: Translator, title: str, stars: int, available: int) -> str:
    """A product's button; a long title is shortened so the price and stock stay visible."""
    if not available:
        return fit_param(lambda cut: t("shop.product_sold_out", title=cut), title, BUTTON)
    return fit_param(
        lambda cut: t("shop.product_button", title=cut, stars=stars, count=available),
        title,
        BUTTON,
    )


def history_view(
    t: Translator, lines: list[orders.OrderLine], total: int, page: int
) -> tuple[str, InlineKeyboardMarkup | None]:
    if not total:
        return t("shop.no_purchases"), None
    pages = (total + PER_PAGE - 1) // PER_PAGE
    text = [t("shop.purchases_title", page=page + 1, pages=pages)]
    builder = InlineKeyboardBuilder()
    for line in lines:
        order = line.order
        category, product = translations.line_names(line, t.language)
        text.append(
            t(
                "shop.purchase_line",
                id=order.id,
                date=localtime.day(order.created_at),
                category=category,
                product=product,
                quantity=order.quantity,
                status=t(f"shop.status.{order.status}"),
            )
        )
        if order.status in (OrderStatus.DELIVERED, OrderStatus.REFUNDED, OrderStatus.REFUND_DUE):
            builder.button(text=t("shop.show_codes", id=order.id), callback_data=f"sh:o:{order.id}")
    nav = InlineKeyboardBuilder()
    if page > 0:
        nav.button(text="◀️", callback_data=f"sh:h:{page - 1}")
    if page + 1 < pages:
        nav.button(text="▶️", callback_data=f"sh:h:{page + 1}")
    builder.adjust(1)
    builder.attach(nav)
    return "\n".join(text), builder.as_markup()


PER_PAGE = 5
