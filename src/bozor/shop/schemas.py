"""The shop's request and answer bodies (admin API)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StrictBool, StrictInt

from bozor.schema_types import NO_NUL
from bozor.shop.service import catalogue

Language = Literal["en", "ru", "uz"]
PerLanguageName = Annotated[
    dict[Language, Annotated[str, Field(max_length=64)]],
    Field(
        description="The text per language; DEFAULT_LANGUAGE's is the plain one, the others are "
        "translations (an empty text removes one).",
        examples=[{"en": "Gift cards", "ru": "Подарочные карты", "uz": "Sovgʻa kartalari"}],
    ),
]
PerLanguageText = Annotated[dict[Language, Annotated[str, Field(max_length=500)]], Field()]
Translations = Annotated[
    dict[str, dict[str, str]],
    Field(
        description="Texts in languages other than DEFAULT_LANGUAGE, per language and field.",
        examples=[{"ru": {"name": "Подарочные карты"}}],
    ),
]


class CategoryCreate(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=64)] | PerLanguageName
    description: Annotated[str, Field(max_length=500)] | PerLanguageText = ""


class CategoryUpdate(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=64)] | PerLanguageName | None = None
    description: Annotated[str, Field(max_length=500)] | PerLanguageText | None = None
    is_hidden: StrictBool | None = None
    position: StrictInt | None = Field(default=None, ge=0, le=10_000)


class CategoryRead(BaseModel):
    id: int
    name: str
    description: str
    position: int
    is_hidden: bool
    translations: Translations


class ProductCreate(BaseModel):
    category_id: StrictInt = Field(ge=1, le=2**63 - 1)
    title: Annotated[str, Field(min_length=1, max_length=64)] | PerLanguageName
    description: Annotated[str, Field(max_length=500)] | PerLanguageText = ""
    price_stars: StrictInt = Field(ge=1, le=catalogue.MAX_STARS)
    card_price: StrictInt | None = Field(
        default=None, ge=1, le=100_000_000, description="Minor units (kopecks, cents)."
    )
    card_currency: str = Field(default="UAH", pattern=r"^[A-Z]{3}$")
    card_payable: StrictBool = False


class ProductUpdate(BaseModel):
    title: Annotated[str, Field(min_length=1, max_length=64)] | PerLanguageName | None = None
    description: Annotated[str, Field(max_length=500)] | PerLanguageText | None = None
    price_stars: StrictInt | None = Field(default=None, ge=1, le=catalogue.MAX_STARS)
    card_price: StrictInt | None = Field(default=None, ge=1, le=100_000_000)
    card_currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    card_payable: StrictBool | None = None
    is_hidden: StrictBool | None = None
    position: StrictInt | None = Field(default=None, ge=0, le=10_000)


class ProductRead(BaseModel):
    id: int
    category_id: int
    title: str
    description: str
    translations: Translations
    price_stars: int
    card_price: int | None
    card_currency: str
    card_payable: bool
    is_hidden: bool
    available: int
    reserved: int
    sold: int


class ImportRead(BaseModel):
    product_id: int
    lines: int
    added: int
    duplicates_in_file: list[int] = Field(description="Line numbers.")
    already_known: list[int] = Field(description="Line numbers.")
    invalid: list[int] = Field(description="Line numbers.")


class OrderRead(BaseModel):
    id: int
    user_id: int
    product_id: int
    product: str
    category: str
    quantity: int
    stars_total: int
    bonus_points: int
    card_total: int | None
    card_currency: str | None
    status: str
    provider: str | None
    created_at: str
    paid_at: str | None


class SalesRead(BaseModel):
    period: str
    since: str
    orders: int
    codes: int
    revenue: dict[str, int] = Field(description="Per currency, in minor units (XTR: Stars).")
    bonus_points: int
    refunded_orders: int
    top: list[dict[str, object]]


class FaqCreate(BaseModel):
    question: str = Field(min_length=1, max_length=200)
    answer: str = Field(min_length=1, max_length=3000)
    position: StrictInt = Field(default=0, ge=0, le=10_000)


class FaqRead(BaseModel):
    id: int
    question: str
    answer: str
    position: int


class NotificationCreate(BaseModel):
    text: str = Field(min_length=1, max_length=4000, pattern=NO_NUL)
    segment: Literal["all", "buyers"] = "all"  # every user, or those who bought something


class NotificationRead(BaseModel):
    queued: int
