"""The one place texts are fitted to Telegram's limits, and the safety net on the bot."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bozor.emulator import Emulator, EmulatorDriver
from bozor.telegram import FloodGate, ResilientRequests, create_bot
from bozor.telegram_limits import BUTTON, TOAST, cut, fit_button, fit_param, fit_toast
from bozor.testing import TEST_BOT_TOKEN, bozor_settings


def test_cut_keeps_short_texts_and_cuts_long_ones_with_an_ellipsis() -> None:
    assert cut("short", 10) == "short"
    assert cut("x" * 10, 10) == "x" * 10
    assert cut("abcdefghijk", 10) == "abcdefghi…"
    assert cut("word word word", 11) == "word word…"  # no space left before the ellipsis


def test_cut_never_splits_a_grapheme() -> None:
    family = "👨\u200d👩\u200d👧"  # one grapheme, five code points
    cut_text = cut("ab" + family + "cd", 6)
    assert cut_text == "ab…"
    accented = "e\u0301" * 5  # é as e + combining acute
    assert cut(accented, 4) == "e\u0301…"


def test_fit_toast_and_button() -> None:
    assert len(fit_toast("y" * 500)) == TOAST
    label = fit_button("A   name\nwith  spaces " + "z" * 100)
    assert len(label) == BUTTON and label.startswith("A name with spaces") and label[-1] == "…"


def test_fit_param_cuts_the_title_not_the_sentence() -> None:
    def render(title: str) -> str:
        return f"Confirmed: “{title}”. An admin will contact you."

    assert fit_param(render, "Short") == render("Short")
    text = fit_param(render, "T" * 300)
    assert len(text) == TOAST and text.endswith("”. An admin will contact you.")
    assert "…" in text


async def test_the_bot_cuts_a_callback_answer_telegram_would_refuse(emulator: Emulator) -> None:
    """A handler that forgot to fit its toast: the member still sees it (cut), not nothing."""
    settings = bozor_settings(emulator, "sqlite+aiosqlite:///:memory:")
    bot = create_bot(settings, ResilientRequests(FloodGate()))
    try:
        async with EmulatorDriver(emulator.url, TEST_BOT_TOKEN) as driver:
            alice = await driver.create_user("Alice")
            await driver.send_start(alice)
            sent = await bot.send_message(
                alice,
                "press",
                reply_markup=InlineKeyboardMarkup(
                    inline_keyboard=[[InlineKeyboardButton(text="go", callback_data="go")]]
                ),
            )
            query = await driver.press_button(alice, sent.message_id, callback_data="go")
            assert await bot.answer_callback_query(query, "w" * 300, show_alert=True)
            answer = await driver.callback_answer(query)
            assert answer is not None and answer["text"] == "w" * (TOAST - 1) + "…"
    finally:
        await bot.session.close()
