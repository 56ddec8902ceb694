"""The catalogue: categories (services) and products (denominations) with their stock."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bozor.i18n import DEFAULT_LANGUAGE
from bozor.shop import audit, translations
from bozor.shop.exceptions import (
    BadNameError,
    BadPriceError,
    CategoryNotFoundError,
    NameTakenError,
    ProductNotFoundError,
)
from bozor.shop.models import Category, Code, CodeStatus, Product

MAX_STARS = 100_000  # Telegram's upper bound for one Stars invoice is far above any card
CARD_CURRENCIES = ("UAH", "USD", "EUR", "GBP", "PLN", "KZT")  # what Portmone bills in


@dataclass(frozen=True, slots=True)
class ProductStock:
    product: Product
    available: int
    reserved: int
    sold: int


class StockLevel(StrEnum):
    OK = "ok"
    LOW = "low"  # at or below SHOP_LOW_STOCK: admins were told
    OUT = "out"  # sold out


STOCK_ICONS = {StockLevel.OK: "🟢", StockLevel.LOW: "🟡", StockLevel.OUT: "🔴"}


def stock_level(available: int, low: int) -> StockLevel:
    """How a product's stock looks against the low-stock level (SHOP_LOW_STOCK)."""
    if available <= 0:
        return StockLevel.OUT
    return StockLevel.LOW if available <= low else StockLevel.OK


def _name(value: str, limit: int = 64) -> str:
    value = " ".join(value.split())
    if not 1 <= len(value) <= limit or "\x00" in value:
        raise BadNameError(max=limit)
    return value


def _description(value: str) -> str:
    if "\x00" in value:
        raise BadNameError(max=500)
    return value.strip()[:500]


def parse_money(text: str) -> int:
    """ "12.50" → 1250 (minor units); BadPriceError for anything else."""
    try:
        amount = Decimal(text.strip().replace(",", "."))
    except InvalidOperation:
        raise BadPriceError from None
    if not amount.is_finite() or amount <= 0 or amount > Decimal("1000000"):
        raise BadPriceError
    minor = (amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    if minor != amount * 100:
        raise BadPriceError  # more than two decimals
    return int(minor)


def money(minor: int | None) -> str:
    """1250 → "12.50"."""
    if minor is None:
        return "—"
    return f"{Decimal(minor) / 100:.2f}"


def to_decimal(minor: int) -> Decimal:
    return (Decimal(minor) / 100).quantize(Decimal("0.01"))


def _check_prices(price_stars: int, card_price: int | None, card_currency: str) -> None:
    if not 1 <= price_stars <= MAX_STARS:
        raise BadPriceError
    if card_price is not None and card_price <= 0:
        raise BadPriceError
    if card_currency not in CARD_CURRENCIES:
        raise BadPriceError


async def create_category(
    *,
    session: AsyncSession,
    name: translations.Given,
    description: translations.Given = "",
    actor: str | None = None,
    default_language: str = DEFAULT_LANGUAGE,
) -> Category:
    """A new, visible category; names are unique. `name` and `description` are plain (the
    default language's) or per language; the name is required in the default language."""
    plain_name, names = translations.split(name, default_language)
    plain_description, descriptions = translations.split(description, default_language)
    if plain_name is None:
        raise BadNameError(max=64)
    category = Category(name=_name(plain_name), description=_description(plain_description or ""))
    category.translations = translations.merged(
        translations.merged({}, "name", names, _name), "description", descriptions, _description
    )
    await _category_name_free(session, category.name)
    session.add(category)
    await session.flush()
    await audit.record(
        session=session, action="category_created", actor=actor, detail={"id": category.id}
    )
    return category


async def update_category(
    *,
    session: AsyncSession,
    category_id: int,
    name: translations.Given | None = None,
    description: translations.Given | None = None,
    is_hidden: bool | None = None,
    position: int | None = None,
    actor: str | None = None,
    default_language: str = DEFAULT_LANGUAGE,
) -> Category:
    """Rename, describe, translate, hide/show or move a category (texts per language as in
    `create_category`; a language left out keeps its translation, an empty text drops it)."""
    category = await get_category(session=session, category_id=category_id)
    changes: dict[str, object] = {}
    name, names = translations.split(name, default_language)
    description, descriptions = translations.split(description, default_language)
    if names or descriptions:
        category.translations = translations.merged(
            translations.merged(category.translations, "name", names, _name),
            "description",
            descriptions,
            _description,
        )
        changes["translations"] = sorted({*names, *descriptions})
    if name is not None and _name(name) != category.name:
        await _category_name_free(session, _name(name))
        category.name = changes["name"] = _name(name)
    if description is not None:
        category.description = changes["description"] = _description(description)
    if is_hidden is not None:
        category.is_hidden = changes["is_hidden"] = is_hidden
    if position is not None:
        category.position = changes["position"] = position
    await session.flush()
    await audit.record(
        session=session,
        action="category_updated",
        actor=actor,
        detail={"id": category_id, **{k: str(v) for k, v in changes.items()}},
    )
    return category


async def _category_name_free(session: AsyncSession, name: str) -> None:
    if await session.scalar(select(Category.id).where(Category.name == name)) is not None:
        raise NameTakenError


async def _product_title_free(session: AsyncSession, category_id: int, title: str) -> None:
    taken = await session.scalar(
        select(Product.id).where(Product.category_id == category_id, Product.title == title)
    )
    if taken is not None:
        raise NameTakenError


async def get_category(*, session: AsyncSession, category_id: int) -> Category:
    category = await session.get(Category, category_id)
    if category is None:
        raise CategoryNotFoundError
    return category


async def categories(*, session: AsyncSession, include_hidden: bool = False) -> list[Category]:
    """Categories in menu order; for buyers only visible ones that have visible products."""
    query = select(Category).order_by(Category.position, Category.id)
    if not include_hidden:
        visible_products = select(Product.id).where(
            Product.category_id == Category.id, Product.is_hidden.is_(False)
        )
        query = query.where(Category.is_hidden.is_(False), visible_products.exists())
    return list(await session.scalars(query))


async def create_product(
    *,
    session: AsyncSession,
    category_id: int,
    title: translations.Given,
    price_stars: int,
    card_price: int | None = None,
    card_currency: str = "UAH",
    card_payable: bool = False,
    description: translations.Given = "",
    actor: str | None = None,
    default_language: str = DEFAULT_LANGUAGE,
) -> Product:
    """A new denomination of a category (title and description plain or per language, as
    for categories)."""
    await get_category(session=session, category_id=category_id)
    _check_prices(price_stars, card_price, card_currency)
    plain_title, titles = translations.split(title, default_language)
    plain_description, descriptions = translations.split(description, default_language)
    if plain_title is None:
        raise BadNameError(max=64)
    product = Product(
        category_id=category_id,
        title=_name(plain_title),
        description=_description(plain_description or ""),
        translations=translations.merged(
            translations.merged({}, "title", titles, _name),
            "description",
            descriptions,
            _description,
        ),
        price_stars=price_stars,
        card_price=card_price,
        card_currency=card_currency,
        card_payable=card_payable and card_price is not None,
    )
    await _product_title_free(session, category_id, product.title)
    session.add(product)
    await session.flush()
    await audit.record(
        session=session,
        action="product_created",
        actor=actor,
        product_id=product.id,
        detail={"price_stars": price_stars, "card_price": card_price},
    )
    return product


async def update_product(
    *,
    session: AsyncSession,
    product_id: int,
    title: translations.Given | None = None,
    description: translations.Given | None = None,
    price_stars: int | None = None,
    card_price: int | None = None,
    clear_card_price: bool = False,
    card_currency: str | None = None,
    card_payable: bool | None = None,
    is_hidden: bool | None = None,
    position: int | None = None,
    actor: str | None = None,
    default_language: str = DEFAULT_LANGUAGE,
) -> Product:
    """Change a product's title, description (plain or per language), prices, card
    payability, visibility or position. Orders already made keep the prices they were made
    with."""
    product = await get_product(session=session, product_id=product_id)
    before = {"price_stars": product.price_stars, "card_price": product.card_price}
    title, titles = translations.split(title, default_language)
    description, descriptions = translations.split(description, default_language)
    if titles or descriptions:
        product.translations = translations.merged(
            translations.merged(product.translations, "title", titles, _name),
            "description",
            descriptions,
            _description,
        )
    if description is not None:
        product.description = _description(description)
    if title is not None and _name(title) != product.title:
        await _product_title_free(session, product.category_id, _name(title))
        product.title = _name(title)
    if price_stars is not None:
        product.price_stars = price_stars
    if clear_card_price:
        product.card_price = None
    elif card_price is not None:
        product.card_price = card_price
    if card_currency is not None:
        product.card_currency = card_currency
    if card_payable is not None:
        product.card_payable = card_payable
    if product.card_price is None:
        product.card_payable = False
    if is_hidden is not None:
        product.is_hidden = is_hidden
    if position is not None:
        product.position = position
    _check_prices(product.price_stars, product.card_price, product.card_currency)
    await session.flush()
    await audit.record(
        session=session,
        action="product_updated",
        actor=actor,
        product_id=product_id,
        detail={
            "before": before,
            "price_stars": product.price_stars,
            "card_price": product.card_price,
            "card_payable": product.card_payable,
            "is_hidden": product.is_hidden,
        },
    )
    return product


async def get_product(*, session: AsyncSession, product_id: int) -> Product:
    product = await session.get(Product, product_id)
    if product is None:
        raise ProductNotFoundError
    return product


async def visible_product(*, session: AsyncSession, product_id: int) -> Product:
    """A product a buyer may order: it and its category are not hidden."""
    row = (
        await session.execute(
            select(Product)
            .join(Category, Category.id == Product.category_id)
            .where(
                Product.id == product_id,
                Product.is_hidden.is_(False),
                Category.is_hidden.is_(False),
            )
        )
    ).scalar_one_or_none()
    if row is None:
        raise ProductNotFoundError
    return row


async def products(
    *, session: AsyncSession, category_id: int | None = None, include_hidden: bool = False
) -> list[ProductStock]:
    """Products (of a category, or all) with their stock counts, in menu order."""
    counts = (
        select(
            Code.product_id,
            func.count().filter(Code.status == CodeStatus.AVAILABLE).label("available"),
            func.count().filter(Code.status == CodeStatus.RESERVED).label("reserved"),
            func.count().filter(Code.status == CodeStatus.SOLD).label("sold"),
        )
        .group_by(Code.product_id)
        .subquery()
    )
    query = (
        select(Product, counts.c.available, counts.c.reserved, counts.c.sold)
        .outerjoin(counts, counts.c.product_id == Product.id)
        .order_by(Product.category_id, Product.position, Product.price_stars, Product.id)
    )
    if category_id is not None:
        query = query.where(Product.category_id == category_id)
    if not include_hidden:
        query = query.join(Category, Category.id == Product.category_id).where(
            Product.is_hidden.is_(False), Category.is_hidden.is_(False)
        )
    return [
        ProductStock(product, int(available or 0), int(reserved or 0), int(sold or 0))
        for product, available, reserved, sold in (await session.execute(query)).all()
    ]
