"""Texts in English, Russian and Uzbek: Telegram's language picks one, /language changes it."""

from __future__ import annotations

from string import Formatter

import pytest
from sqlalchemy import select

from bozor.i18n import LANGUAGES, catalogue, plural_category
from bozor.testing import Harness, reply_buttons
from bozor.users.models import User


def _placeholders(entry: str | dict[str, str]) -> set[str]:
    texts = entry.values() if isinstance(entry, dict) else [entry]
    return {name for text in texts for _, name, _, _ in Formatter().parse(text) if name}


def test_every_text_exists_in_every_language() -> None:
    english = catalogue("en")
    for language in LANGUAGES:
        texts = catalogue(language)
        assert set(texts) == set(english), language
        for key, entry in texts.items():
            assert entry, f"{language}:{key} is empty"
            assert _placeholders(entry) == _placeholders(english[key]), f"{language}:{key}"
            if isinstance(english[key], dict):
                assert isinstance(entry, dict), f"{language}:{key} must have plural forms"
                needed = {plural_category(language, n) for n in range(200)}
                assert needed <= set(entry), f"{language}:{key} lacks {needed - set(entry)}"


@pytest.mark.parametrize(
    ("language_code", "greeting"),
    [("ru", "Добро пожаловать"), ("uz", "xush kelibsiz"), ("en", "Welcome"), ("de", "Welcome")],
)
async def test_telegram_language_picks_the_texts(
    bozor: Harness, language_code: str, greeting: str
) -> None:
    member = await bozor.user("Aziz", language_code=language_code)
    answer = await bozor.start(member)
    assert greeting in answer["text"]


async def test_language_can_be_changed(bozor: Harness) -> None:
    member = await bozor.user("Aziz", language_code="ru")
    await bozor.start(member)
    sent = await bozor.driver.send_message(member, "/language")
    picker = await bozor.driver.wait_for_message(member, after_message_id=sent["message_id"])
    assert picker["text"] == "🌐 Выберите язык:"
    await bozor.driver.press_button(member, picker["message_id"], callback_data="lang:uz")
    await bozor.driver.wait_for_message(member, after_message_id=picker["message_id"])
    keyboard = await reply_buttons(bozor, member)
    assert "🤝 Doʻstlar" in keyboard
    edited = next(
        m for m in await bozor.driver.messages(member) if m["message_id"] == picker["message_id"]
    )
    assert edited["text"] == "✅ Til oʻzbekchaga oʻzgartirildi."
    async with bozor.db() as session:
        user = await session.scalar(select(User).where(User.telegram_id == member))
    assert user is not None and user.language == "uz"
    answer = await bozor.start(member)
    assert "Qaytganingiz bilan" in answer["text"]
    # The translated menu button works in the new language.
    await bozor.driver.press_reply_button(member, "❓ Yordam")
    await bozor.driver.wait_for_message(member, contains="/ref — havolangiz va QR-kod")


async def test_command_menu_registered_per_language(bozor: Harness) -> None:
    for language, description in (
        ("en", "Your invitation link"),
        ("ru", "Ваша пригласительная ссылка"),
        ("uz", "Taklif havolangiz"),
    ):
        commands = {
            c["command"]: c["description"]
            for c in await bozor.driver.commands(language_code=language)
        }
        assert commands["ref"] == description
        assert list(commands) == [
            "start",
            "ref",
            "top",
            "register",
            "my_account",
            "lotteries",
            "buy",
            "purchases",
            "bonuses",
            "support",
            "paysupport",
            "terms",
            "post_ad",
            "my_ads",
            "help",
            "language",
        ]
    assert await bozor.driver.commands()  # the default menu for other languages


async def test_unknown_text_gets_a_way_forward(bozor: Harness) -> None:
    member = await bozor.user("Aziz")
    await bozor.start(member)
    sent = await bozor.driver.send_message(member, "what is this?")
    answer = await bozor.driver.wait_for_message(member, after_message_id=sent["message_id"])
    assert "did not understand" in answer["text"] and await reply_buttons(bozor, member)
