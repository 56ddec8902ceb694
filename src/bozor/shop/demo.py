"""A sample shop for `bozor demo`: gift cards of four services in several denominations,
priced in Stars, with codes in stock (imported encrypted, as `bozor shop import-codes` does;
one product low on stock, one sold out), and a month of orders from the crowd — paid with
Stars, one of them refunded, a few left to expire or cancelled. Written through the shop's
services (so stock, payments, notifications and the audit log are as real use makes them),
then backdated so the dashboard's sales chart has a history."""

from __future__ import annotations

import math
import random
import string
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from bozor.demo.seeding import DemoContext, Person
from bozor.shop import codes
from bozor.shop.models import STARS, Code, Order, Payment, Product
from bozor.shop.service import catalogue, orders, payments, stats
from bozor.shop.settings import ShopSettings
from bozor.users import service as users_service
from bozor.users.models import User

PERIOD = "30d"
ACTOR = "demo"
TODAY_ORDERS = 3  # so that "today" has figures too
SET_UP = timedelta(minutes=10)
UNPAID = ("expired", "expired", "cancelled")
ALPHABET = "".join(c for c in string.ascii_uppercase + string.digits if c not in "IO01")


@dataclass(frozen=True, slots=True)
class Denomination:
    title: str  # English; `titles` in Russian and Uzbek where they differ
    stars: int
    left: int  # codes in stock once the demo starts
    sold: int  # codes sold in paid orders (a refunded order's codes stay sold)
    titles: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Service:
    name: str  # a brand: the same in every language
    description: dict[str, str]  # per language
    code_shape: str  # "X" stands for a random letter or digit
    products: tuple[Denomination, ...]


CATALOGUE = (
    Service(
        "App Store",
        {
            "en": "Apple gift cards for the App Store, iCloud+ and Apple Music (US accounts).",
            "ru": "Подарочные карты Apple для App Store, iCloud+ и Apple Music (аккаунты США).",
            "uz": (
                "App Store, iCloud+ va Apple Music uchun Apple sovgʻa kartalari (AQSh akkauntlari)."
            ),
        },
        "XXXXXXXXXXXXXXXX",
        (
            Denomination("10 USD", 800, 24, 9),
            Denomination("25 USD", 2000, 15, 5),
            Denomination("50 USD", 4000, 0, 4),  # sold out
        ),
    ),
    Service(
        "Google Play",
        {
            "en": "Google Play gift codes for apps, games and subscriptions (US accounts).",
            "ru": "Подарочные коды Google Play для приложений, игр и подписок (аккаунты США).",
            "uz": (
                "Ilovalar, oʻyinlar va obunalar uchun Google Play "
                "sovgʻa kodlari (AQSh akkauntlari)."
            ),
        },
        "XXXX-XXXX-XXXX-XXXX-XXXX",
        (
            Denomination("10 USD", 800, 30, 11),
            Denomination("25 USD", 2000, 12, 4),
            Denomination("50 USD", 4000, 8, 2),
        ),
    ),
    Service(
        "Steam",
        {
            "en": "Steam Wallet codes in US dollars.",
            "ru": "Коды пополнения кошелька Steam в долларах США.",
            "uz": "AQSh dollaridagi Steam hamyoni kodlari.",
        },
        "XXXXX-XXXXX-XXXXX",
        (
            Denomination("5 USD", 400, 28, 12),
            Denomination("20 USD", 1600, 20, 8),
            Denomination("50 USD", 4000, 3, 4),  # low on stock
        ),
    ),
    Service(
        "Telegram Premium",
        {
            "en": "Telegram Premium gift codes: open the link in Telegram to activate.",
            "ru": (
                "Подарочные коды Telegram Premium: откройте ссылку в Telegram, чтобы активировать."
            ),
            "uz": (
                "Telegram Premium sovgʻa kodlari: faollashtirish uchun havolani Telegramda oching."
            ),
        },
        "https://t.me/giftcode/XXXXXXXXXXXXXXXX",
        (
            Denomination("3 months", 1000, 18, 6, (("ru", "3 месяца"), ("uz", "3 oy"))),
            Denomination("6 months", 1900, 10, 3, (("ru", "6 месяцев"), ("uz", "6 oy"))),
            Denomination("12 months", 3400, 6, 2, (("ru", "12 месяцев"), ("uz", "12 oy"))),
        ),
    ),
)


@dataclass(frozen=True, slots=True)
class Sale:
    """One order of the plan: who, when, what, and how it ends."""

    at: datetime
    buyer: User
    person: Person
    product_id: int
    quantity: int
    ends: str = "paid"  # or "refunded", "expired", "cancelled"


async def seed(ctx: DemoContext) -> None:
    async with ctx.db() as session:
        stocked = await _catalogue(ctx, session)
        buyers = [(await _buyer(ctx, session, person), person) for person in ctx.crowd]
        await session.commit()
    plan = _plan(ctx, stocked, buyers)
    # One transaction per order, as the bot makes them: the running bot (its outbox sending
    # the earlier seeders' notices) is never held up for long by SQLite's single writer.
    for sale in sorted(plan, key=lambda s: s.at):  # order ids follow time, as in life
        async with ctx.db() as session:
            await _sell(ctx, session, sale)
            await session.commit()
    ids = {f"{service} {product.title}": product.id for service, product, _ in stocked}
    ctx.facts.update(
        {
            "shop:products": ids,
            "shop:low": ids["Steam 50 USD"],
            "shop:sold_out": ids["App Store 50 USD"],
            "shop:orders": len(plan),
        }
    )
    ctx.hints.append("demo.shop.hint")


async def _catalogue(
    ctx: DemoContext, session: AsyncSession
) -> list[tuple[str, Product, Denomination]]:
    """The categories and products, each with its codes imported (encrypted)."""
    stocked = []
    for service in CATALOGUE:
        category = await catalogue.create_category(
            session=session,
            name=service.name,
            description=service.description,
            actor=ACTOR,
            default_language="en",  # the sample's plain texts are English
        )
        for item in service.products:
            product = await catalogue.create_product(
                session=session,
                category_id=category.id,
                title={"en": item.title, **dict(item.titles)},
                price_stars=item.stars,
                actor=ACTOR,
                default_language="en",
            )
            shapes = [_code(ctx.rng, service.code_shape) for _ in range(item.left + item.sold)]
            await codes.import_codes(
                session=session,
                settings=ctx.settings,
                product_id=product.id,
                lines=[codes.CodeLine(i, code) for i, code in enumerate(shapes, start=1)],
                actor=ACTOR,
            )
            stocked.append((service.name, product, item))
    return stocked


def _code(rng: random.Random, shape: str) -> str:
    return "".join(rng.choice(ALPHABET) if c == "X" else c for c in shape)


async def _buyer(ctx: DemoContext, session: AsyncSession, person: Person) -> User:
    """The person's users row as earlier seeders left it (their join date kept), else new."""
    found = await users_service.get_by_telegram_id(session=session, telegram_id=person.telegram_id)
    return found or await ctx.user(session, person)


def _plan(
    ctx: DemoContext,
    stocked: list[tuple[str, Product, Denomination]],
    buyers: list[tuple[User, Person]],
) -> list[Sale]:
    """Orders spread over the last 30 days (since the first buyer joined, if later), more
    of them lately as in a growing shop; each buyer had joined before their order."""
    rng, now = ctx.rng, ctx.now
    first_day = stats.since_of(PERIOD, now)  # the dashboard's longest period

    def joined(buyer: User) -> datetime:
        if now - buyer.created_at < SET_UP:  # stored by the demo's set-up, a moment ago
            return first_day
        return buyer.created_at

    opened = max(first_day, min(joined(buyer) for buyer, _ in buyers))
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)

    def sale(product_id: int, quantity: int, ends: str = "paid", today: bool = False) -> Sale:
        start = max(opened, midnight) if today else opened
        at = start + (now - start) * math.pow(rng.random(), 0.75) * 0.999
        eligible = [(b, p) for b, p in buyers if joined(b) <= at] or buyers
        buyer, person = rng.choice(eligible)
        return Sale(at, buyer, person, product_id, quantity, ends)

    plan: list[Sale] = []
    for _, product, item in stocked:
        left = item.sold
        while left:
            quantity = min(left, rng.choices((1, 2, 3), (70, 25, 5))[0])
            left -= quantity
            plan.append(sale(product.id, quantity))
    singles = [i for i, s in enumerate(plan) if s.quantity == 1]
    picked = rng.sample(singles, TODAY_ORDERS + 1)
    for i in picked[:TODAY_ORDERS]:
        plan[i] = sale(plan[i].product_id, 1, today=True)
    plan[picked[-1]] = replace(plan[picked[-1]], ends="refunded")
    for ends in UNPAID:  # orders never paid: their codes went back to stock
        _, product, _ = rng.choice([s for s in stocked if s[2].left >= 2])
        plan.append(sale(product.id, 1, ends))
    return plan


async def _sell(ctx: DemoContext, session: AsyncSession, sale: Sale) -> None:
    """The order as a buyer makes it and Telegram pays it, then moved back to its time."""
    order = await orders.create(
        session=session,
        settings=ctx.settings,
        user=sale.buyer,
        product_id=sale.product_id,
        quantity=sale.quantity,
        language=sale.person.language,
    )
    order_id = int(order.id)
    if sale.ends == "expired":
        await orders.expire_one(session=session, order=order)
    elif sale.ends == "cancelled":
        await orders.cancel(session=session, user=sale.buyer, order_id=order_id)
    else:
        applied = await payments.apply_stars(
            session=session,
            settings=ctx.settings,
            payload=payments.invoice_payload(order_id),
            charge_id=f"demo_{ctx.rng.getrandbits(96):024x}",
            currency=STARS,
            total_amount=order.stars_due,
            telegram_id=sale.person.telegram_id,
        )
        assert applied.outcome == payments.Outcome.DELIVERED and applied.payment is not None
        if sale.ends == "refunded":
            await payments.request_refund(
                session=session, settings=ctx.settings, order_id=order_id, actor=ACTOR
            )
            await payments.mark_refunded(session=session, payment_id=applied.payment.id)
    await _backdate(ctx, session, order_id, sale)


async def _backdate(ctx: DemoContext, session: AsyncSession, order_id: int, sale: Sale) -> None:
    at = sale.at
    paid = min(at + timedelta(seconds=ctx.rng.uniform(30, 240)), ctx.now)
    refunded = paid + timedelta(hours=ctx.rng.uniform(2, 20)) if sale.ends == "refunded" else None
    refunded = min(refunded, ctx.now) if refunded else None
    settled = sale.ends in ("paid", "refunded")
    hold = timedelta(minutes=ShopSettings.of(ctx.settings).order_minutes)
    await session.execute(
        update(Order)
        .where(Order.id == order_id)
        .values(
            created_at=at,
            expires_at=at + hold,
            paid_at=paid if settled else None,
            delivered_at=paid if settled else None,
            refunded_at=refunded,
        )
        .execution_options(synchronize_session=False)
    )
    if settled:
        await session.execute(
            update(Payment)
            .where(Payment.order_id == order_id)
            .values(created_at=paid, settled_at=paid, refunded_at=refunded)
            .execution_options(synchronize_session=False)
        )
        await session.execute(
            update(Code)
            .where(Code.order_id == order_id)
            .values(reserved_at=at, sold_at=paid)
            .execution_options(synchronize_session=False)
        )
