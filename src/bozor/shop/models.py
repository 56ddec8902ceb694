"""The shop: a catalogue of categories and products (denominations), encrypted card codes,
orders that reserve codes, payments applied once, FAQ, support tickets and an audit log."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from bozor.db import Base, BigIntPK, TimestampMixin

STARS = "XTR"  # Telegram Stars: the currency of invoices in the bot


class CodeStatus(StrEnum):
    AVAILABLE = "available"
    RESERVED = "reserved"  # held by a pending order until it is paid or expires
    SOLD = "sold"


class OrderStatus(StrEnum):
    PENDING = "pending"  # codes reserved, waiting for payment until expires_at
    DELIVERED = "delivered"  # paid; its codes belong to the buyer
    EXPIRED = "expired"  # not paid in time; codes released, bonus returned
    CANCELLED = "cancelled"  # cancelled by the buyer before paying
    REFUNDED = "refunded"  # paid, then the money went back (codes not sold again)
    REFUND_DUE = "refund_due"  # paid but could not be fulfilled or an admin refunds: in progress


class PaymentStatus(StrEnum):
    PENDING = "pending"  # a card payment link was made; not paid yet
    SUCCEEDED = "succeeded"
    REJECTED = "rejected"  # the provider says it failed
    MISMATCH = "mismatch"  # amount or currency differ from the order: refused, refunded
    REFUND_DUE = "refund_due"  # to be refunded (a job retries until the provider agrees)
    REFUNDED = "refunded"
    REFUND_MANUAL = "refund_manual"  # the provider cannot refund by API: an admin must


class PaymentProvider(StrEnum):
    STARS = "telegram_stars"
    PORTMONE = "portmone"


class TicketStatus(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"


class Category(TimestampMixin, Base):
    """A service whose cards are sold (e.g. "Steam", "Google Play")."""

    __tablename__ = "shop_categories"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(String(500), default="")
    position: Mapped[int] = mapped_column(default=0)
    is_hidden: Mapped[bool] = mapped_column(default=False)
    # {"ru": {"name": ..., "description": ...}, "uz": {...}}: name and description (above, in
    # DEFAULT_LANGUAGE) in other languages; a missing one falls back to the default's.
    translations: Mapped[dict[str, dict[str, str]]] = mapped_column(
        JSON, default=dict, server_default="{}"
    )


class Product(TimestampMixin, Base):
    """A denomination of a category (e.g. "Steam 20 USD"): its price in Stars and, when an
    operator marks it payable by card, its price for Portmone."""

    __tablename__ = "shop_products"
    __table_args__ = (UniqueConstraint("category_id", "title"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("shop_categories.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(64))
    price_stars: Mapped[int]  # Telegram Stars per code
    card_price: Mapped[int | None]  # per code, in minor units (kopecks, cents)
    card_currency: Mapped[str] = mapped_column(String(3), default="UAH")
    card_payable: Mapped[bool] = mapped_column(default=False)
    position: Mapped[int] = mapped_column(default=0)
    is_hidden: Mapped[bool] = mapped_column(default=False)
    description: Mapped[str] = mapped_column(String(500), default="", server_default="")
    # {"ru": {"title": ..., "description": ...}}: as Category.translations
    translations: Mapped[dict[str, dict[str, str]]] = mapped_column(
        JSON, default=dict, server_default="{}"
    )


class Code(TimestampMixin, Base):
    """One card code, encrypted at rest. `fingerprint` (a keyed hash) makes each code unique
    without storing it in the clear; `order_id` is set while reserved and once sold."""

    __tablename__ = "shop_codes"
    __table_args__ = (
        Index("ix_shop_codes_product_status", "product_id", "status"),
        Index("ix_shop_codes_order_id", "order_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("shop_products.id", ondelete="CASCADE"))
    secret: Mapped[str] = mapped_column(Text)  # Fernet token of the code
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[CodeStatus] = mapped_column(String(16), default=CodeStatus.AVAILABLE)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("shop_orders.id", ondelete="SET NULL"))
    reserved_at: Mapped[datetime | None]
    sold_at: Mapped[datetime | None]


class Order(TimestampMixin, Base):
    """A purchase of `quantity` codes of one product. Prices are copied at creation, so a price
    change does not alter an order; `bonus_points` of the buyer's balance pay part of it."""

    __tablename__ = "shop_orders"
    __table_args__ = (
        Index("ix_shop_orders_status_expires_at", "status", "expires_at"),
        Index("ix_shop_orders_user_id", "user_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("shop_products.id", ondelete="RESTRICT"))
    quantity: Mapped[int]
    stars_total: Mapped[int]  # price_stars × quantity
    bonus_points: Mapped[int] = mapped_column(default=0)  # 1 point pays 1 Star
    card_total: Mapped[int | None]  # minor units
    card_currency: Mapped[str | None] = mapped_column(String(3))
    status: Mapped[OrderStatus] = mapped_column(String(16), default=OrderStatus.PENDING)
    provider: Mapped[str | None] = mapped_column(String(16))  # how it was paid
    expires_at: Mapped[datetime]
    paid_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    refunded_at: Mapped[datetime | None]
    language: Mapped[str] = mapped_column(String(8), default="en")  # for later messages

    @property
    def stars_due(self) -> int:
        """What is left to pay in Stars after the bonus."""
        return self.stars_total - self.bonus_points


class Payment(TimestampMixin, Base):
    """Money received (or expected) for an order. `(provider, external_id)` is unique — the
    Telegram charge id or the Portmone shop order number — so a payment applies once."""

    __tablename__ = "shop_payments"
    __table_args__ = (
        UniqueConstraint("provider", "external_id"),
        Index("ix_shop_payments_status", "status"),
        Index("ix_shop_payments_order_id", "order_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("shop_orders.id", ondelete="SET NULL"))
    provider: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(128))
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[int]  # minor units of `currency` (Stars have none: 1 = one Star)
    status: Mapped[PaymentStatus] = mapped_column(String(16), default=PaymentStatus.PENDING)
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger)  # Stars refunds need it
    payment_url: Mapped[str | None] = mapped_column(String(1024))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    settled_at: Mapped[datetime | None]
    refunded_at: Mapped[datetime | None]
    # A due refund being sent (Stars): taken by one sender at a time, for REFUND_LEASE.
    refund_claimed_at: Mapped[datetime | None]


class FaqEntry(TimestampMixin, Base):
    """A question and answer shown under Support/FAQ; managed by admins."""

    __tablename__ = "shop_faq"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    question: Mapped[str] = mapped_column(String(200))
    answer: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(default=0)


class Ticket(TimestampMixin, Base):
    """A user's question to the admins, with the conversation in TicketMessage."""

    __tablename__ = "shop_tickets"
    __table_args__ = (Index("ix_shop_tickets_user_id", "user_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[TicketStatus] = mapped_column(String(16), default=TicketStatus.OPEN)
    updated_at: Mapped[datetime | None]


class TicketMessage(TimestampMixin, Base):
    __tablename__ = "shop_ticket_messages"
    __table_args__ = (Index("ix_shop_ticket_messages_ticket_id", "ticket_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("shop_tickets.id", ondelete="CASCADE"))
    from_admin: Mapped[bool] = mapped_column(default=False)
    author: Mapped[int | None] = mapped_column(BigInteger)  # Telegram id
    text: Mapped[str] = mapped_column(Text)
