"""Rough edges members and admins met in the draws: toasts, stale buttons, empty redraws."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from tests.lotteries.test_bot import admin, register, say

from bozor.audit.models import AuditRecord
from bozor.db import utcnow
from bozor.lotteries.models import Win, WinStatus
from bozor.telegram_limits import TOAST
from bozor.testing import Harness, eventually

CLAIM_HOURS = 2


@pytest.fixture
def bozor_overrides(channel: int) -> dict[str, Any]:
    return {
        "lottery_channel": str(channel),
        "outbox_chat_interval": 0,
        "lottery_claim_hours": CLAIM_HOURS,
    }


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


# ------------------------------------------------------------------ buttons


async def _won(bozor: Harness, boss: int, member: int, number: str) -> tuple[int, dict[str, Any]]:
    """A lottery whose only account (the member's) won; the lottery id and the notice."""
    lottery_id = await lottery_with(bozor, boss, "Spring draw", "Kettle")
    await say(bozor, boss, f"/add_account 2223 {number} {lottery_id}")
    await say(bozor, boss, f"/draw {lottery_id}", contains="Results")
    notice = await bozor.driver.wait_for_message(member, contains="CONGRATULATIONS")
    return lottery_id, notice


async def _press(bozor: Harness, user: int, message: dict[str, Any], data: str) -> str:
    query = await bozor.driver.press_button(user, message["message_id"], callback_data=data)
    answer = await bozor.driver.callback_answer(query, timeout=15)
    assert answer is not None, f"the press of {data!r} was never answered"
    return str(answer.get("text") or "")


async def test_the_confirm_button_goes_once_the_win_is_confirmed(bozor: Harness) -> None:
    boss, alice = await admin(bozor), await bozor.user("Alice")
    await register(bozor, alice, "2223")
    _, notice = await _won(bozor, boss, alice, "11-22-33-44-55-66-77")
    [[button]] = notice["reply_markup"]["inline_keyboard"]
    assert "Confirmed" in await _press(bozor, alice, notice, button["callback_data"])

    async def no_buttons() -> bool:
        [message] = [
            m
            for m in await bozor.driver.bot_messages(alice)
            if m["message_id"] == notice["message_id"]
        ]
        return "reply_markup" not in message and "CONGRATULATIONS" in message["text"]

    await eventually(no_buttons, timeout=15)


async def test_a_win_confirmed_by_the_admin_loses_its_button_when_pressed(bozor: Harness) -> None:
    boss, alice = await admin(bozor), await bozor.user("Alice")
    code = await register(bozor, alice, "2223")
    lottery_id, notice = await _won(bozor, boss, alice, "11-22-33-44-55-66-77")
    await say(bozor, boss, f"/verify_winner {code} {lottery_id}", contains="Confirmed")
    [[button]] = notice["reply_markup"]["inline_keyboard"]
    assert "already confirmed" in await _press(bozor, alice, notice, button["callback_data"])

    async def no_buttons() -> bool:
        [message] = [
            m
            for m in await bozor.driver.bot_messages(alice)
            if m["message_id"] == notice["message_id"]
        ]
        return "reply_markup" not in message

    await eventually(no_buttons, timeout=15)


async def test_a_stale_lottery_picker_answers_that_it_is_out_of_date(bozor: Harness) -> None:
    boss = await admin(bozor)
    lottery_id = await lottery_with(bozor, boss, "Spring draw", "Kettle")
    await say(bozor, boss, "/add_accounts")
    picker = await bozor.driver.wait_for_message(boss, contains="Which lottery")
    await say(bozor, boss, "/cancel")
    toast = await _press(bozor, boss, picker, f"lot_pick:{lottery_id}")
    assert "out of date" in toast


async def test_every_unknown_button_is_answered(bozor: Harness) -> None:
    alice = await bozor.user("Alice")
    sent = await bozor.driver.send_message(alice, "/lotteries")
    own = await bozor.driver.wait_for_message(alice, after_message_id=sent["message_id"])
    update = {
        "callback_query": {
            "id": "stale-1",
            "from": {"id": alice, "is_bot": False, "first_name": "Alice"},
            "message": own,
            "chat_instance": "1",
            "data": "gone:42",
        }
    }
    await bozor.driver.push_update(update)
    answer = await bozor.driver.callback_answer("stale-1", timeout=15)
    assert answer is not None and "out of date" in answer["text"]


# ------------------------------------------------------------------ edge cases


async def test_redraw_with_no_eligible_account_left_is_refused_and_changes_nothing(
    bozor: Harness, channel: int
) -> None:
    boss, alice = await admin(bozor), await bozor.user("Alice")
    await register(bozor, alice, "2223")
    lottery_id, _ = await _won(bozor, boss, alice, "11-22-33-44-55-66-77")
    async with bozor.db() as session:
        await session.execute(update(Win).values(deadline_at=Win.created_at))
        await session.commit()
    before = len(await bozor.driver.bot_messages(channel))
    answer = await say(bozor, boss, f"/redraw {lottery_id}")
    assert "No account left" in answer and "Nothing was changed" in answer
    async with bozor.db() as session:
        statuses = list(await session.scalars(select(Win.status)))
        actions = set(
            await session.scalars(select(AuditRecord.action).where(AuditRecord.area == "lotteries"))
        )
    assert len(statuses) == 1 and statuses[0] in (WinStatus.PENDING, WinStatus.EXPIRED)
    assert "redrawn" not in actions
    await asyncio.sleep(1)  # the channel would have had its post by now
    assert len(await bozor.driver.bot_messages(channel)) == before


async def test_confirming_the_win_of_a_removed_account_says_it_was_removed(
    bozor: Harness,
) -> None:
    boss, alice = await admin(bozor), await bozor.user("Alice")
    await register(bozor, alice, "2223")
    _, notice = await _won(bozor, boss, alice, "11-22-33-44-55-66-77")
    await say(bozor, boss, "/remove_account 11-22-33-44-55-66-77", contains="removed")
    [[button]] = notice["reply_markup"]["inline_keyboard"]
    toast = await _press(bozor, alice, notice, button["callback_data"])
    assert "removed" in toast and "run out" not in toast


async def test_unclaimed_report_uses_the_claim_window(bozor: Harness) -> None:
    boss, alice = await admin(bozor), await bozor.user("Alice")
    await register(bozor, alice, "2223")
    await _won(bozor, boss, alice, "11-22-33-44-55-66-77")
    async with bozor.db() as session:  # drawn 3 hours ago, with the 2-hour window of this module
        ago = utcnow() - timedelta(hours=3)
        await session.execute(
            update(Win).values(created_at=ago, deadline_at=ago + timedelta(hours=CLAIM_HOURS))
        )
        await session.commit()
    sent = await bozor.driver.send_message(boss, "/lottery_report unclaimed")
    answer = await bozor.driver.wait_for_message(
        boss, after_message_id=sent["message_id"], predicate=lambda m: "document" in m
    )
    data = await bozor.driver.get_file_bytes(answer["document"]["file_id"])
    assert "11-22-33-44-55-66-77" in data.decode()


async def test_re_adding_an_account_tells_its_owner_once(bozor: Harness) -> None:
    boss, alice = await admin(bozor), await bozor.user("Alice")
    await register(bozor, alice, "2223")
    first = await say(bozor, boss, "/add_account 2223 11-22-33-44-55-66-77")
    assert "its owner has been told" in first
    await bozor.driver.wait_for_message(alice, contains="Added to your profile")
    again = await say(bozor, boss, "/add_account 2223 11-22-33-44-55-66-77")
    assert "already" in again and "told" not in again
    await asyncio.sleep(1)  # the outbox sends within a fraction of a second
    notices = [
        m for m in await bozor.driver.bot_messages(alice) if "Added to your profile" in m["text"]
    ]
    assert len(notices) == 1


async def test_an_account_without_owner_gets_a_proper_sentence(bozor: Harness) -> None:
    boss = await admin(bozor)
    answer = await say(bozor, boss, "/add_account - 11-22-33-44-55-66-77")
    assert "—" not in answer and "without a club card" in answer
