"""Catalogue texts per language: a category's name and description, a product's title and
description. The plain columns hold the default language's text (DEFAULT_LANGUAGE);
`translations` holds the others, `{"ru": {"name": ..., "description": ...}}`. A buyer reads
their language, falling back to the default's text where a translation is missing.

Admins give a text either plainly (the default language's, as before) or per language:
`{"en": "Steam", "ru": "Стим"}`; `split` turns the latter into the plain text and the rest."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from bozor.i18n import LANGUAGES
from bozor.shop.exceptions import BadNameError
from bozor.shop.models import Category, Product

if TYPE_CHECKING:
    from bozor.shop.service.orders import OrderLine

Texts = dict[str, dict[str, str]]
Given = str | Mapping[Any, str]  # plain (the default language's) or per language (keys: LANGUAGES)


def text(translations: Texts | None, field: str, language: str, default: str) -> str:
    """`field` in `language`, or `default` (the plain column) when untranslated."""
    return (translations or {}).get(language, {}).get(field) or default


def category_name(category: Category, language: str) -> str:
    return text(category.translations, "name", language, category.name)


def category_description(category: Category, language: str) -> str:
    return text(category.translations, "description", language, category.description)


def product_title(product: Product, language: str) -> str:
    return text(product.translations, "title", language, product.title)


def product_description(product: Product, language: str) -> str:
    return text(product.translations, "description", language, product.description)


def line_names(line: OrderLine, language: str) -> tuple[str, str]:
    """An order's category name and product title in `language`."""
    return (
        text(line.category_translations, "name", language, line.category_name),
        text(line.product_translations, "title", language, line.product_title),
    )


def split(value: Given | None, default_language: str) -> tuple[str | None, dict[str, str]]:
    """The plain text (None: not given in the default language) and the other languages'
    texts; a language Bozor does not speak is BadNameError."""
    if value is None or isinstance(value, str):
        return value, {}
    unknown = set(value) - set(LANGUAGES)
    if unknown:
        raise BadNameError(max=64)
    others = {lang: v for lang, v in value.items() if lang != default_language}
    return value.get(default_language), others


def merged(
    current: Texts, field: str, given: Mapping[str, str], check: Callable[[str], str]
) -> Texts:
    """`current` with `field` set per language, each text checked (and cleaned) by `check`;
    an empty text removes that translation."""
    result = {lang: dict(fields) for lang, fields in (current or {}).items()}
    for language, value in given.items():
        entry = result.setdefault(language, {})
        if value.strip():
            entry[field] = check(value)
        else:
            entry.pop(field, None)
        if not entry:
            del result[language]
    return result
