"""How an ad reads: the channel caption (also the preview), prices, categories, links."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from bozor.classifieds.models import Ad
from bozor.i18n import Translator, catalogue

STAMPS = ("sold", "withdrawn", "outdated")


@dataclass(frozen=True, slots=True)
class Category:
    slug: str
    usual_min: int  # in UZS; 0 and 0: no usual range
    usual_max: int


@cache
def categories(spec: str) -> tuple[Category, ...]:
    """CLASSIFIEDS_CATEGORIES parsed: `slug:min:max,...`."""
    parsed = []
    for part in spec.split(","):
        slug, low, high = (piece.strip() for piece in part.split(":"))
        parsed.append(Category(slug, int(low), int(high)))
    return tuple(parsed)


def category_name(t: Translator, slug: str) -> str:
    key = f"ads.category.{slug}"
    return t(key) if key in catalogue(t.language) else slug.replace("_", " ").capitalize()


def format_price(t: Translator, price: int | None, currency: str | None) -> str:
    if price is None:
        return t("ads.negotiable")
    return f"{price:,}".replace(",", " ") + f" {currency or 'UZS'}"


_NUMBER = re.compile(r"^\s*(\d[\d\s.,']*)\s*([^\d\s].*)?$")
_CURRENCIES = {
    "uzs": "UZS",
    "sum": "UZS",
    "som": "UZS",
    "so'm": "UZS",
    "soʻm": "UZS",
    "сум": "UZS",
    "сўм": "UZS",
    "usd": "USD",
    "$": "USD",
    "dollar": "USD",
    "доллар": "USD",
    "у.е.": "USD",
}


def parse_price(text: str) -> tuple[int, str] | None:
    """`1 500 000`, `1,500,000 so'm`, `300$`, `$300`, `300 USD` → (amount, currency)."""
    text = text.strip()
    if text.startswith("$"):
        text = text[1:] + " $"
    match = _NUMBER.match(text)
    if match is None:
        return None
    digits = re.sub(r"[\s.,']", "", match.group(1))
    if not digits.isdigit() or len(digits) > 15:
        return None
    unit = (match.group(2) or "uzs").strip().lower()
    currency = _CURRENCIES.get(unit)
    if currency is None:
        return None
    return int(digits), currency


def ad_number(text: str | None) -> int | None:
    """An ad's id as admins write it: `123`, `#123`, `ad123` or `#ad123` (None otherwise)."""
    text = (text or "").strip().removeprefix("#").removeprefix("ad")
    return int(text) if text.isascii() and text.isdigit() and len(text) < 18 else None


def hashtag(slug: str) -> str:
    return "#" + re.sub(r"\W", "_", slug)


def contact(ad: Ad) -> str:
    """How to reach the advertiser: the phone and/or the @username."""
    return " · ".join(
        part
        for part in (ad.contact_phone, f"@{ad.contact_username}" if ad.contact_username else None)
        if part
    )


def caption(t: Translator, ad: Ad, *, stamp: str | None = None) -> str:
    """The ad as the channel shows it (and as the preview shows it to its author)."""
    lines = []
    if stamp:
        lines.append(t(f"ads.stamp.{stamp}"))
    lines += [
        f"{hashtag(ad.category)} {category_name(t, ad.category)}",
        "",
        f"📌 {ad.title}",
        "",
        ad.description,
        "",
        f"💰 {format_price(t, ad.price, ad.currency)}",
        f"📍 {ad.region}",
        f"📞 {contact(ad)}",
    ]
    if ad.id is not None:
        lines.append(f"🆔 #ad{ad.id}")
    return "\n".join(lines)


def post_url(chat_id: int, username: str | None, message_id: int) -> str:
    """A link to a channel message: public channels by name, private ones by t.me/c/."""
    if username:
        return f"https://t.me/{username}/{message_id}"
    return f"https://t.me/c/{str(chat_id).removeprefix('-100')}/{message_id}"
