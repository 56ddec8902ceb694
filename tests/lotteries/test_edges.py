"""Rough edges members and admins met in the draws: toasts, stale buttons, empty redraws."""

from __future__ import annotations

import re

from tests.lotteries.test_bot import (  # noqa: F401  (fixtures used by name)
    admin,
    bozor_overrides,
    channel,
    register,
    say,
)

from bozor.telegram_limits import TOAST
from bozor.testing import Harness

LONG_TITLE = "Grand New Year draw of the Fergana valley club " + "with many prizes " * 9


async def lottery_with(bozor: Harness, admin_id: int, title: str, *prizes: str) -> int:
    body = "\n".join(f"{i}. {p}" for i, p in enumerate(prizes, start=1))
    text = await say(bozor, admin_id, f"/new_lottery {title}\n{body}")
    match = re.search(r"Lottery #(\d+)", text)
    assert match is not None, text
    return int(match.group(1))


async def test_confirming_a_win_in_a_long_titled_lottery_shows_the_whole_toast(
    bozor: Harness,
) -> None:
    assert 190 < len(LONG_TITLE.strip()) <= 200
    boss, alice = await admin(bozor), await bozor.user("Alice")
    await register(bozor, alice, "2223")
    lottery_id = await lottery_with(bozor, boss, LONG_TITLE, "iPhone 15")
    await say(bozor, boss, f"/add_account 2223 11-22-33-44-55-66-77 {lottery_id}")
    await say(bozor, boss, f"/draw {lottery_id}", contains="Results")
    notice = await bozor.driver.wait_for_message(alice, contains="CONGRATULATIONS")
    [[button]] = notice["reply_markup"]["inline_keyboard"]
    query = await bozor.driver.press_button(
        alice, notice["message_id"], callback_data=button["callback_data"]
    )
    answer = await bozor.driver.callback_answer(query, timeout=15)
    assert answer is not None, "the confirmation toast was refused by Telegram"
    text = answer["text"]
    assert len(text) <= TOAST
    # the title is cut, not the sentence: the account and what happens next are still there
    assert "Grand New Year draw" in text and "…" in text
    assert "11-22-33-44-55-66-77" in text and text.endswith("about the prize.")
