"""Categories an operator adds through CLASSIFIEDS_CATEGORIES carry their names (one for every
language and/or one per language), and every face shows a name, never the slug: the bot's
picker, the channel post (with hashtags in the channel's language), the Mini App and the
dashboard. Today's values (`slug:min:max`) keep working."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import httpx
import pytest
from tests.classifieds.helpers import press
from tests.factories import ad_draft, approved, submitted_ad
from tests.miniapp.conftest import as_user

from bozor.classifieds import categories
from bozor.classifieds.texts import ad_number
from bozor.featurekit import read_settings
from bozor.features import enabled
from bozor.i18n import LANGUAGES
from bozor.settings import SettingsError, load_settings
from bozor.testing import Harness, free_port

PASSWORD = "category names password"
SPEC = (
    "electronics:1:1000000000,"
    "home_garden:0:0:Home and garden|ru=Дом и сад|uz=Uy va bogʻ,"
    "pets:Pets|ru=Животные,"
    "kids_toys:0:0,"
    "other:0:0"
)


def valid_hashtag(tag: str) -> bool:
    """As Telegram reads a hashtag: `#`, then letters, digits and `_`, at least one letter."""
    body = tag.removeprefix("#")
    return (
        tag.startswith("#")
        and bool(body)
        and all(ch == "_" or ch.isdecimal() or unicodedata.category(ch)[0] == "L" for ch in body)
        and any(unicodedata.category(ch)[0] == "L" for ch in body)
    )


def test_todays_values_read_as_before() -> None:
    default = load_settings()
    kinds = categories.of(default)
    assert kinds.slugs[:2] == ("electronics", "vehicles")
    assert (kinds.get("electronics").usual_min, kinds.get("electronics").usual_max) == (  # type: ignore[union-attr]
        1,
        1_000_000_000,
    )
    assert kinds.name("ru", "home") == "Дом и сад"
    assert kinds.name("uz", "realty") == "Koʻchmas mulk"


def test_names_per_language_and_for_every_language() -> None:
    kinds = categories.of(load_settings(classifieds_categories=SPEC, default_language="ru"))
    assert kinds.slugs == ("electronics", "home_garden", "pets", "kids_toys", "other")
    assert [kinds.name(lang, "home_garden") for lang in LANGUAGES] == [
        "Home and garden",
        "Дом и сад",
        "Uy va bogʻ",
    ]
    # A name without a language is every language's but those named.
    assert [kinds.name(lang, "pets") for lang in LANGUAGES] == ["Pets", "Животные", "Pets"]
    assert kinds.get("pets").usual_max == 0  # type: ignore[union-attr]  # no range given
    # No name: Bozor's translation when it has one, else the slug made readable.
    assert kinds.name("uz", "electronics") == "Elektronika"
    assert kinds.name("ru", "kids_toys") == "Kids toys"
    # A slug no longer configured (older ads) still reads as a name.
    assert kinds.name("ru", "vehicles") == "Транспорт"


@pytest.mark.parametrize(
    ("language", "slug", "tag"),
    [
        ("en", "home_garden", "#Home_and_garden"),
        ("ru", "home_garden", "#Дом_и_сад"),
        ("uz", "home_garden", "#Uy_va_bogʻ"),
        ("ru", "electronics", "#Электроника"),
        ("uz", "realty", "#Koʻchmas_mulk"),
        ("ru", "kids_toys", "#Kids_toys"),
    ],
)
def test_hashtags_follow_the_language_and_stay_valid(language: str, slug: str, tag: str) -> None:
    kinds = categories.of(load_settings(classifieds_categories=SPEC))
    assert kinds.hashtag(language, slug) == tag
    assert valid_hashtag(tag)


def test_a_name_with_no_letter_falls_back_to_the_slugs_hashtag() -> None:
    kinds = categories.of(load_settings(classifieds_categories="cars:0:0:🚗 2024,other:0:0"))
    assert kinds.name("en", "cars") == "🚗 2024"
    assert kinds.hashtag("en", "cars") == "#cars"
    assert categories.hashtag("Home & garden, 50%") == "#Home_garden_50"


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ("pets:0:0:xx=Pets", "unknown language"),
        ("pets:Pets,pets:0:0", "named twice"),
        ("pets:0:0:Pets|Animals", "two names"),
        ("pets:0:0:ru=", "a name of 1 to"),
        ("pets:" + "x" * 41, "a name of 1 to"),
    ],
)
def test_wrong_names_are_refused_with_a_reason(spec: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        categories.parse(spec, LANGUAGES)


def test_the_settings_refuse_what_is_no_category() -> None:
    for spec in ("Pets:0:0", "pets:0:0,,other"):
        settings = load_settings(classifieds_categories=spec)
        with pytest.raises(SettingsError, match="CLASSIFIEDS_CATEGORIES"):
            read_settings(settings, enabled(settings))


def test_admins_may_type_an_ads_hashtag_in_any_language() -> None:
    for typed in ("#ad12", "12", "#объявление12", "#eʼlon12", "e'lon12", "elon12", "#ОБЪЯВЛЕНИЕ12"):
        assert ad_number(typed) == 12, typed
    assert ad_number("#abc12") is None


@pytest.fixture
def bozor_overrides(bozor_overrides: dict[str, Any]) -> dict[str, Any]:
    return {
        **bozor_overrides,
        "classifieds_categories": SPEC,
        "default_language": "ru",  # the channel's language
        "http_port": free_port(),
        "dashboard_password": PASSWORD,
    }


async def picker_labels(bozor: Harness, seller: int) -> tuple[dict[str, Any], dict[str, str]]:
    sent = await bozor.driver.send_message(seller, "/post_ad")
    picker = await bozor.driver.wait_for_message(
        seller,
        after_message_id=sent["message_id"],
        predicate=lambda m: any(
            b.get("callback_data", "").startswith("adc:")
            for row in m.get("reply_markup", {}).get("inline_keyboard", [])
            for b in row
        ),
    )
    labels = {
        b["callback_data"]: b["text"]
        for row in picker["reply_markup"]["inline_keyboard"]
        for b in row
        if b.get("callback_data", "").startswith("adc:")
    }
    return picker, labels


async def test_the_picker_and_the_channel_show_the_operators_names(
    bozor: Harness, channel: int
) -> None:
    seen = {}
    for language in LANGUAGES:
        seller = await bozor.user(f"Seller {language}", language_code=language)
        await bozor.start(seller)
        picker, labels = await picker_labels(bozor, seller)
        seen[language] = labels
        if language == "uz":
            await press(bozor, seller, picker, "adc:home_garden")
            chosen = await bozor.driver.wait_for_edit(
                seller, picker["message_id"], contains="Uy va bogʻ", timeout=30
            )
            assert chosen["text"].endswith(": Uy va bogʻ"), chosen["text"]
    assert [seen[lang]["adc:home_garden"] for lang in LANGUAGES] == [
        "Home and garden",
        "Дом и сад",
        "Uy va bogʻ",
    ]
    assert [seen[lang]["adc:pets"] for lang in LANGUAGES] == ["Pets", "Животные", "Pets"]
    assert seen["ru"]["adc:kids_toys"] == "Kids toys"

    owner = await bozor.user("Owner", language_code="uz")
    await bozor.start(owner)
    ad_id = await submitted_ad(bozor, owner, ad_draft("Garden chairs", category="home_garden"))
    await approved(bozor, ad_id)
    post = await bozor.driver.wait_for_message(channel, contains="Garden chairs", timeout=15)
    text = str(post.get("text") or post.get("caption"))
    assert text.splitlines()[0] == "#Дом_и_сад Дом и сад", text
    assert text.splitlines()[-1] == f"🆔 #объявление{ad_id}", text

    # The Mini App, in the viewer's language.
    base = f"http://127.0.0.1:{bozor.settings.http_port}"
    async with httpx.AsyncClient(base_url=base) as web:
        for language, name, tag in (
            ("en", "Home and garden", "#ad"),
            ("uz", "Uy va bogʻ", "#eʼlon"),
        ):
            headers = as_user(owner, language_code=language)
            listing = await web.get("/app/api/classifieds", headers=headers)
            assert listing.status_code == 200, listing.text
            assert f"{name} · 📍" in listing.text
            assert "home_garden ·" not in listing.text
            assert f'value="home_garden">{name}</option>' in listing.text
            page = await web.get(f"/app/api/classifieds/ad/{ad_id}", headers=headers)
            assert f"{name} · 📍" in page.text and f"· {tag}{ad_id}</p>" in page.text

        # The dashboard, in Russian.
        web.cookies.set("bozor_dashboard_language", "ru")
        signin = await web.get("/dashboard/signin")
        csrf = re.search(r'name="csrf" value="([^"]+)"', signin.text)
        assert csrf is not None
        answer = await web.post(
            "/dashboard/signin",
            data={"csrf": csrf.group(1), "secret": PASSWORD, "next": "/dashboard/classifieds"},
        )
        assert answer.status_code == 303, answer.text
        card = await web.get(f"/dashboard/classifieds/ads/{ad_id}")
        assert card.status_code == 200, card.text
        assert "<dd>Дом и сад</dd>" in card.text, card.text
