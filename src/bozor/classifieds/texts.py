"""How an ad reads: the channel caption (also the preview), prices, categories, links."""

from __future__ import annotations

import re
from functools import cache

from bozor.classifieds.categories import Categories
from bozor.classifieds.models import Ad
from bozor.i18n import LANGUAGES, Translator

STAMPS = ("sold", "withdrawn", "outdated")


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


def id_tag(language: str, ad_id: int) -> str:
    """An ad's hashtag in the channel's language: `#ad12`, `#объявление12`, `#eʼlon12`."""
    return f"#{Translator(language)('ads.id_tag')}{ad_id}"


@cache
def _id_prefixes() -> tuple[str, ...]:
    """What may stand before an ad's number: its hashtag's word in every language, also
    typed with a plain apostrophe or none (`eʼlon`, `e'lon`, `elon`), longest first."""
    found = {"ad"}
    for language in LANGUAGES:
        word = Translator(language)("ads.id_tag").casefold()
        found |= {word, re.sub(r"[ʼʻ’]", "'", word), re.sub(r"[ʼʻ’']", "", word)}
    return tuple(sorted(found, key=len, reverse=True))


def ad_number(text: str | None) -> int | None:
    """An ad's id as admins write it: `123`, `#123`, `ad123`, `#ad123`, or with the hashtag
    word of another language (`#объявление123`) (None otherwise)."""
    text = (text or "").strip().removeprefix("#").casefold()
    for prefix in _id_prefixes():
        if text.startswith(prefix):
            text = text.removeprefix(prefix)
            break
    return int(text) if text.isascii() and text.isdigit() and len(text) < 18 else None


def contact(ad: Ad) -> str:
    """How to reach the advertiser: the phone and/or the @username."""
    return " · ".join(
        part
        for part in (ad.contact_phone, f"@{ad.contact_username}" if ad.contact_username else None)
        if part
    )


def caption(t: Translator, ad: Ad, kinds: Categories, *, stamp: str | None = None) -> str:
    """The ad as the channel shows it (and as the preview shows it to its author), in `t`'s
    language, hashtags included."""
    lines = []
    if stamp:
        lines.append(t(f"ads.stamp.{stamp}"))
    lines += [
        f"{kinds.hashtag(t.language, ad.category)} {kinds.name(t.language, ad.category)}",
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
        lines.append(f"🆔 {id_tag(t.language, ad.id)}")
    return "\n".join(lines)


def post_url(chat_id: int, username: str | None, message_id: int) -> str:
    """A link to a channel message: public channels by name, private ones by t.me/c/."""
    if username:
        return f"https://t.me/{username}/{message_id}"
    return f"https://t.me/c/{str(chat_id).removeprefix('-100')}/{message_id}"
