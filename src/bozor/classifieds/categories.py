"""The ad categories of CLASSIFIEDS_CATEGORIES: their usual price ranges, their names in each
language and their hashtags.

One entry per category, comma-separated: `slug[:usual min:usual max][:names]`.
- `slug`: `[a-z][a-z0-9_]*`, what is stored with an ad and passed in filters;
- the usual range in so'm (`0:0` or none: no range);
- names, `|`-separated: `Name` for every language, and/or `ru=Имя`, `uz=Nom`, `en=Name` for
  one. E.g. `home_garden:0:0:Home and garden|ru=Дом и сад|uz=Uy va bogʻ`, `pets:Pets`.

A category's name in a language is, in this order: the operator's name for that language;
the operator's name for every language; Bozor's own translation (`ads.category.<slug>`, for
the built-in categories); the operator's name in the default language, or any they gave; the
slug made readable ("home_garden" → "Home garden").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache

from bozor.classifieds.settings import ClassifiedsSettings
from bozor.i18n import LANGUAGES, Translator, catalogue
from bozor.settings import Settings

EVERY = ""  # the key of the name given for every language


@dataclass(frozen=True, slots=True)
class Category:
    slug: str
    usual_min: int = 0  # in UZS; 0 and 0: no usual range
    usual_max: int = 0
    names: Mapping[str, str] = field(default_factory=dict)  # language (or EVERY) → name


@dataclass(frozen=True, slots=True)
class Categories:
    """The categories an operator configured, in their order, named in each language."""

    items: tuple[Category, ...]
    default_language: str

    @property
    def slugs(self) -> tuple[str, ...]:
        return tuple(c.slug for c in self.items)

    def get(self, slug: str) -> Category | None:
        return next((c for c in self.items if c.slug == slug), None)

    def name(self, language: str, slug: str) -> str:
        """The category's name in `language` (also for a slug no longer configured)."""
        category = self.get(slug)
        names = category.names if category is not None else {}
        own = names.get(language) or names.get(EVERY)
        if own:
            return own
        key = f"ads.category.{slug}"
        if key in catalogue(language):
            return Translator(language)(key)
        fallback = names.get(self.default_language) or next(iter(names.values()), "")
        return fallback or slug.replace("_", " ").capitalize()

    def hashtag(self, language: str, slug: str) -> str:
        """The category's hashtag in `language`: its name's letters and digits, words joined
        by `_` (as Telegram reads a hashtag: `#Дом_и_сад`); the slug's when the name has no
        letter (Telegram takes no hashtag of digits only)."""
        return hashtag(self.name(language, slug)) or hashtag(slug)


def hashtag(text: str) -> str:
    """`#` and the words of `text` joined by `_`, keeping only what Telegram counts as part of
    a hashtag (letters, digits, `_`); "" when no letter is left."""
    words = [
        "".join(
            ch for ch in word if ch == "_" or unicodedata.category(ch)[0] == "L" or ch.isdecimal()
        )
        for word in re.split(r"[^\w]+|_", text)
    ]
    tag = "_".join(word for word in words if word)
    return f"#{tag}" if any(unicodedata.category(ch)[0] == "L" for ch in tag) else ""


_ENTRY = re.compile(
    r"(?P<slug>[a-z][a-z0-9_]{0,30})(?::(?P<low>\d{1,15}):(?P<high>\d{1,15}))?(?::(?P<names>.*))?",
    re.DOTALL,
)
_LANGUAGE = re.compile(r"(?P<language>[a-z]{2})=(?P<name>.*)", re.DOTALL)
NAME_MAX = 40  # a name is a button's label: two fit side by side on a phone


def parse(spec: str, languages: tuple[str, ...]) -> tuple[Category, ...]:
    """CLASSIFIEDS_CATEGORIES read; ValueError with a one-line reason when it is wrong."""
    parsed: list[Category] = []
    for part in spec.split(","):
        entry = _ENTRY.fullmatch(part.strip())
        if entry is None:
            raise ValueError(
                f"{part.strip()!r}: slug[:min:max][:names], the slug in a-z, 0-9 and _ "
                "(e.g. electronics:1:1000000,home_garden:0:0:Home and garden|ru=Дом и сад)"
            )
        slug = entry["slug"]
        if any(c.slug == slug for c in parsed):
            raise ValueError(f"the category {slug!r} is named twice")
        names: dict[str, str] = {}
        for piece in entry["names"].split("|") if entry["names"] is not None else []:
            labelled = _LANGUAGE.fullmatch(piece.strip())
            language, name = (
                (labelled["language"], labelled["name"].strip())
                if labelled
                else (EVERY, piece.strip())
            )
            if labelled and language not in languages:
                raise ValueError(
                    f"{slug}: unknown language {language!r} (one of {', '.join(languages)})"
                )
            if not name or len(name) > NAME_MAX:
                raise ValueError(f"{slug}: a name of 1 to {NAME_MAX} characters, not {name!r}")
            if language in names:
                which = f"in {language}" if language else "for every language"
                raise ValueError(f"{slug}: two names {which}")
            names[language] = name
        low, high = int(entry["low"] or 0), int(entry["high"] or 0)
        parsed.append(Category(slug, low, high, names))
    return tuple(parsed)


@cache
def _of(spec: str, default_language: str) -> Categories:
    return Categories(parse(spec, LANGUAGES), default_language)


def of(settings: Settings) -> Categories:
    """The categories the settings configure (parsed once per value)."""
    return _of(ClassifiedsSettings.of(settings).categories, settings.default_language)
