"""Translation catalogues (English, Russian, Uzbek Latin) and plural rules.

Catalogues are TOML files: the core's beside this module (`en.toml`, and parts such as
`web.en.toml`), and each feature's in its own `locales/` folder (`Feature.locales`), merged
into one catalogue per language. The folders of Bozor's packages are found at first use;
another feature's are added when its manifest is assembled (`add_catalogues`). A table whose
keys are plural categories (`one`, `few`, `many`, `other`) is a plural entry, chosen by the
`count` parameter.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from importlib.abc import Traversable
from typing import Any

LANGUAGES = ("en", "ru", "uz")
DEFAULT_LANGUAGE = "en"
LANGUAGE_NAMES = {"en": "🇬🇧 English", "ru": "🇷🇺 Русский", "uz": "🇺🇿 Oʻzbekcha"}
_PLURAL_KEYS = frozenset({"zero", "one", "few", "many", "other"})

Entry = str | dict[str, str]


def _flatten(table: dict[str, Any], prefix: str = "") -> dict[str, Entry]:
    flat: dict[str, Entry] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value and set(value) <= _PLURAL_KEYS:
            flat[name] = {k: str(v) for k, v in value.items()}
        elif isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = str(value)
    return flat


_ADDED: list[Traversable] = []  # folders of features outside Bozor's packages


def add_catalogues(folder: Traversable) -> None:
    """Merge a feature's `locales/` folder into the catalogues (once; later keys win)."""
    if folder not in _ADDED and folder not in _package_folders():
        _ADDED.append(folder)
        catalogue.cache_clear()


@cache
def _package_folders() -> tuple[Traversable, ...]:
    """This module's folder, then the `locales/` folder of each of Bozor's packages."""
    root = resources.files("bozor")
    found = [
        item.joinpath("locales")
        for item in sorted(root.iterdir(), key=lambda item: item.name)
        if item.is_dir() and item.joinpath("locales").is_dir()
    ]
    return (resources.files(__package__), *found)


@cache
def catalogue(language: str) -> dict[str, Entry]:
    """The language's texts: in each folder, `<language>.toml`, then every
    `<part>.<language>.toml` beside it (e.g. `web.en.toml`: the browser pages' texts)."""
    flat: dict[str, Entry] = {}
    for folder in (*_package_folders(), *_ADDED):
        main = folder.joinpath(f"{language}.toml")
        if main.is_file():
            flat.update(_flatten(tomllib.loads(main.read_text("utf-8"))))
        parts = sorted(
            (item for item in folder.iterdir() if item.name.endswith(f".{language}.toml")),
            key=lambda item: item.name,
        )
        for part in parts:
            flat.update(_flatten(tomllib.loads(part.read_text("utf-8"))))
    return flat


def plural_category(language: str, n: int) -> str:
    n = abs(n)
    if language == "ru":
        if n % 10 == 1 and n % 100 != 11:
            return "one"
        if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
            return "few"
        return "many"
    if language == "uz":
        return "other"
    return "one" if n == 1 else "other"


def pick_language(*candidates: str | None) -> str:
    """The first supported language among candidates (IETF tags such as `ru-RU` accepted)."""
    for candidate in candidates:
        if candidate:
            base = candidate.split("-")[0].lower()
            if base in LANGUAGES:
                return base
    return DEFAULT_LANGUAGE


class Translator:
    """Texts of one language; falls back to English, then to the key itself."""

    def __init__(self, language: str) -> None:
        self.language = language if language in LANGUAGES else DEFAULT_LANGUAGE

    def __call__(self, key: str, /, **params: Any) -> str:
        entry = catalogue(self.language).get(key) or catalogue(DEFAULT_LANGUAGE).get(key)
        if entry is None:
            return key
        if isinstance(entry, dict):
            count = int(params.get("count", 0))
            category = plural_category(self.language, count)
            entry = entry.get(category) or entry.get("other") or next(iter(entry.values()))
        return entry.format(**params) if params else entry


def all_translations(key: str) -> frozenset[str]:
    """Every language's text for a key: reply-keyboard buttons match in any language."""
    return frozenset(Translator(language)(key) for language in LANGUAGES)
