"""The reference's scenarios end to end: the real bot, the emulator over HTTP, a real database."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from sqlalchemy import select, update

from bozor.audit.models import AuditRecord
from bozor.lotteries.models import Account, Win, WinStatus
from bozor.testing import ADMIN_ID, Harness


@pytest.fixture
def bozor_overrides(channel: int) -> dict[str, Any]:
    return {"lottery_channel": str(channel), "outbox_chat_interval": 0}


async def say(bozor: Harness, user_id: int, text: str, contains: str | None = None) -> str:
    sent = await bozor.driver.send_message(user_id, text)
    answer = await bozor.driver.wait_for_message(
        user_id, after_message_id=sent["message_id"], contains=contains
    )
    return str(answer.get("text") or answer.get("caption") or "")


async def admin(bozor: Harness) -> int:
    return await bozor.user("Admin", user_id=ADMIN_ID)


async def register(bozor: Harness, user_id: int, card: str) -> str:
    """Registers through /register, sharing the phone by the button; the verification code."""
    assert "club card" in await say(bozor, user_id, "/register")
    assert "phone" in await say(bozor, user_id, card)
    sent = await bozor.driver.send_contact(user_id, "+998901234567")
    answer = await bozor.driver.wait_for_message(
        user_id, after_message_id=sent["message_id"], contains="verification code"
    )
    match = re.search(r"verification code: ([A-Z0-9]{8})", answer["text"])
    assert match is not None
    return match.group(1)


async def new_lottery(bozor: Harness, admin_id: int, *prizes: str) -> int:
    body = "\n".join(f"{i}. {p}" for i, p in enumerate(prizes, start=1))
    text = await say(bozor, admin_id, f"/new_lottery New Year draw\n{body}")
    match = re.search(r"Lottery #(\d+)", text)
    assert match is not None, text
    return int(match.group(1))


async def test_registration_shows_state_and_refuses_bad_input(bozor: Harness) -> None:
    alice = await bozor.user("Alice")
    await say(bozor, alice, "/register")
    assert "not a club card number" in await say(bozor, alice, "22x3")
    await say(bozor, alice, "2223")
    assert "not a phone number" in await say(bozor, alice, "call me")
    answer = await say(bozor, alice, "Skip")
    code = re.search(r"verification code: ([A-Z0-9]{8})", answer)
    assert code is not None and "Save it" in answer
    state = await say(bozor, alice, "/register")
    assert "You are registered" in state and code.group(1) in state and "2223" in state
    bob = await bozor.user("Bob")
    await say(bozor, bob, "/register")
    assert "already registered with this club card" in await say(bozor, bob, "2223")


async def test_scenario_1_full_cycle_and_someone_elses_button(bozor: Harness, channel: int) -> None:
    boss, alice, mallory = await admin(bozor), await bozor.user("Alice"), await bozor.user("Mal")
    code = await register(bozor, alice, "2223")
    await register(bozor, mallory, "4445")
    lottery_id = await new_lottery(bozor, boss, "iPhone 15")
    assert "not an account number" in await say(
        bozor, boss, f"/add_account 2223 11-22-33 {lottery_id}"
    )
    added = await say(bozor, boss, f"/add_account 2223 11-22-33-44-55-66-77 {lottery_id}")
    assert "added to club card 2223" in added
    await bozor.driver.wait_for_message(alice, contains="Added to your profile")
    results = await say(bozor, boss, f"/draw {lottery_id}", contains="Results")
    assert "11-22-33-44-55-66-77" in results and "Seed:" in results
    notice = await bozor.driver.wait_for_message(alice, contains="CONGRATULATIONS")
    assert "iPhone 15" in notice["text"] and code in notice["text"] and "24 hours" in notice["text"]
    [[button]] = notice["reply_markup"]["inline_keyboard"]
    assert button["callback_data"].startswith("confirm_win_")
    # Mallory forges a press of Alice's button (callback data is up to the client): refused
    mine = await bozor.driver.send_message(mallory, "/lotteries")
    own = await bozor.driver.wait_for_message(mallory, after_message_id=mine["message_id"])
    forged = {
        "callback_query": {
            "id": "forged-1",
            "from": {"id": mallory, "is_bot": False, "first_name": "Mal"},
            "message": own,
            "chat_instance": "1",
            "data": button["callback_data"],
        }
    }
    await bozor.driver.push_update(forged)
    await asyncio.sleep(1)
    async with bozor.db() as session:
        assert (await session.scalar(select(Win.status))) == WinStatus.PENDING
    # the admin verifies with the code; the winner is told; a second verification is refused
    verified = await say(bozor, boss, f"/verify_winner {code.lower()} {lottery_id}")
    assert "Confirmed for club card 2223" in verified
    await bozor.driver.wait_for_message(alice, contains="is confirmed")
    assert "no win waiting" in await say(bozor, boss, f"/verify_winner {code} {lottery_id}")
    status = await say(bozor, boss, f"/winner_status {lottery_id}")
    assert "✅" in status and "card 2223" in status
    await bozor.driver.wait_for_message(channel, contains="11-22-33-44-55-66-77")
    async with bozor.db() as session:
        actions = list(
            await session.scalars(
                select(AuditRecord.action)
                .where(AuditRecord.area == "lotteries")
                .order_by(AuditRecord.id)
            )
        )
    assert {"win_created", "notified", "confirmed", "drawn"} <= set(actions)


async def test_scenario_2_unowned_account_wins_then_owner_binds(
    bozor: Harness, channel: int
) -> None:
    boss, bob = await admin(bozor), await bozor.user("Bob")
    lottery_id = await new_lottery(bozor, boss, "TV", "Kettle")
    await say(bozor, boss, "/add_accounts")
    picker = await bozor.driver.wait_for_message(boss, contains="Which lottery")
    await bozor.driver.press_button(
        boss, picker["message_id"], callback_data=f"lot_pick:{lottery_id}"
    )
    await bozor.driver.wait_for_message(boss, contains="Send the accounts")
    csv_file = b"account\n33-44-55-66-77-88-99\n"
    sent = await bozor.driver.send_document(boss, csv_file, "accounts.csv")
    imported = await bozor.driver.wait_for_message(
        boss, after_message_id=sent["message_id"], contains="line(s) read"
    )
    assert "1 new account" in imported["text"]
    await say(bozor, boss, f"/draw {lottery_id}", contains="Results")
    announced = await bozor.driver.wait_for_message(channel, contains="33-44-55-66-77-88-99")
    assert "TV" in announced["text"]
    # the owner registers, the admin binds the account, the usual confirmation follows
    code = await register(bozor, bob, "5555")
    await say(bozor, boss, "/add_account 5555 33-44-55-66-77-88-99")
    notice = await bozor.driver.wait_for_message(bob, contains="CONGRATULATIONS")
    [[button]] = notice["reply_markup"]["inline_keyboard"]
    query = await bozor.driver.press_button(
        bob, notice["message_id"], callback_data=button["callback_data"]
    )
    answer = await bozor.driver.callback_answer(query)
    assert answer is not None and "Confirmed" in answer["text"]
    query = await bozor.driver.press_button(
        bob, notice["message_id"], callback_data=button["callback_data"]
    )
    answer = await bozor.driver.callback_answer(query)
    assert answer is not None and "already confirmed" in answer["text"]
    assert "no win waiting" in await say(bozor, boss, f"/verify_winner {code} {lottery_id}")


async def test_expired_win_cannot_be_confirmed_and_is_redrawn(bozor: Harness) -> None:
    boss, alice = await admin(bozor), await bozor.user("Alice")
    await register(bozor, alice, "2223")
    lottery_id = await new_lottery(bozor, boss, "Car")
    mine, other = "11-22-33-44-55-66-77", "11-22-33-44-55-66-78"
    await say(bozor, boss, f"/add_account 2223 {mine} {lottery_id}")
    await say(bozor, boss, f"/add_account - {other} {lottery_id}")
    await say(bozor, boss, f"/draw {lottery_id}", contains="Results")
    async with bozor.db() as session:
        winner = await session.scalar(
            select(Account.number).join(Win, Win.account_id == Account.id)
        )
        await session.execute(update(Win).values(deadline_at=Win.created_at))
        await session.commit()
    unclaimed = await say(bozor, boss, f"/check_unclaimed {lottery_id}")
    assert "❌" in unclaimed and f"/redraw {lottery_id}" in unclaimed
    if winner == mine:  # Alice was told; her button no longer confirms
        notice = await bozor.driver.wait_for_message(alice, contains="CONGRATULATIONS")
        [[button]] = notice["reply_markup"]["inline_keyboard"]
        query = await bozor.driver.press_button(
            alice, notice["message_id"], callback_data=button["callback_data"]
        )
        answer = await bozor.driver.callback_answer(query)
        assert answer is not None and "run out" in answer["text"]
    redrawn = await say(bozor, boss, f"/redraw {lottery_id}", contains="Redraw")
    assert (other if winner == mine else mine) in redrawn  # never the previous winner
    assert "Nothing to redraw" in await say(bozor, boss, f"/redraw {lottery_id}")
    status = await say(bozor, boss, f"/winner_status {lottery_id}")
    assert "⏳" in status and "❌" not in status
    async with bozor.db() as session:
        actions = set(
            await session.scalars(select(AuditRecord.action).where(AuditRecord.area == "lotteries"))
        )
    assert {"expired", "redrawn"} <= actions


async def test_members_cannot_use_admin_commands(bozor: Harness) -> None:
    eve = await bozor.user("Eve")
    answer = await say(bozor, eve, "/draw 1")
    assert "Results" not in answer
