"""The catalogues merged from the core's folder and each feature's `locales/`."""

from __future__ import annotations

import re
import tomllib
from importlib import resources

from bozor.features import FEATURES
from bozor.i18n import LANGUAGES, catalogue


def test_every_language_has_the_same_keys() -> None:
    keys = {language: set(catalogue(language)) for language in LANGUAGES}
    assert keys["ru"] == keys["en"]
    assert keys["uz"] == keys["en"]


def test_each_feature_brings_its_texts_in_every_language() -> None:
    for feature in FEATURES:
        assert feature.locales is not None
        for language in LANGUAGES:
            texts = tomllib.loads(feature.locales.joinpath(f"{language}.toml").read_text("utf-8"))
            flat = catalogue(language)
            for key in texts.get("commands", {}):
                assert f"commands.{key}" in flat


def test_the_core_catalogue_holds_no_feature_table() -> None:
    core = tomllib.loads(resources.files("bozor.i18n").joinpath("en.toml").read_text("utf-8"))
    assert not {"referral", "lottery", "shop", "ads"} & set(core)
    assert not {"ref", "buy", "post_ad", "register"} & set(core["commands"])


# Words a Russian or Uzbek text once kept in English (or transliterated), as patterns; each
# with the translation the other texts of the same feature use.
TERMS = {
    "ru": {r"seed": "зерно", r"сид(а|у|ом|е)?": "зерно"},
    "uz": {r"seed": "urugʻ"},
}
PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


def test_no_russian_or_uzbek_text_keeps_an_english_term() -> None:
    leftovers = [
        f"{language} {key}: {found.group(0)!r} (say {word})"
        for language, terms in TERMS.items()
        for key, entry in catalogue(language).items()
        for text in ([entry] if isinstance(entry, str) else list(entry.values()))
        for term, word in terms.items()
        if (found := re.search(rf"(?<!\w){term}(?!\w)", PLACEHOLDER.sub("", text), re.I))
    ]
    assert not leftovers, "\n".join(leftovers)
