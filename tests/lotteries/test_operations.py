"""Scheduled draws by the background job, the results channel named by @username, and the
admin commands for the audit log, handing prizes over and the reports."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from bozor.broadcasts.models import Broadcast, Delivery
from bozor.db import utcnow
from bozor.emulator import Emulator, EmulatorDriver
from bozor.lotteries.models import Account, AuditEntry, Lottery, LotteryState, Win
from bozor.lotteries.testing import make_lottery
from bozor.runtime import serve
from bozor.settings import SettingsError
from bozor.testing import (
    ADMIN_ID,
    TEST_BOT_TOKEN,
    Harness,
    bozor_settings,
    eventually,
)
from bozor.users.models import User

CHANNEL = "draws_results"


@pytest.fixture
async def channel(emulator: Emulator) -> int:
    async with EmulatorDriver(emulator.url, TEST_BOT_TOKEN) as driver:
        return await driver.create_channel("Draw results", username=CHANNEL)


@pytest.fixture
def bozor_overrides(channel: int) -> dict[str, Any]:
    # The channel by its public name, resolved to its id when Bozor starts.
    return {
        "lottery_channel": f"@{CHANNEL}",
        "lottery_job_interval": 0.1,
        "outbox_chat_interval": 0,
    }


async def say(bozor: Harness, user_id: int, text: str, contains: str | None = None) -> str:
    sent = await bozor.driver.send_message(user_id, text)
    answer = await bozor.driver.wait_for_message(
        user_id, after_message_id=sent["message_id"], contains=contains
    )
    return str(answer.get("text") or answer.get("caption") or "")


async def new_lottery(bozor: Harness, text: str) -> int:
    answer = await say(bozor, ADMIN_ID, text)
    match = re.search(r"Lottery #(\d+)", answer)
    assert match is not None, answer
    return int(match.group(1))


def minute(delta: timedelta) -> str:
    return (utcnow() + delta).strftime("%Y-%m-%d %H:%M")


async def test_scheduled_draws_are_made_by_the_job_and_announced_in_the_channel(
    bozor: Harness, channel: int
) -> None:
    await bozor.user("Admin", user_id=ADMIN_ID)
    due = await new_lottery(
        bozor, f"/new_lottery Due draw\n1. Kettle\ndraw: {minute(-timedelta(minutes=1))}"
    )
    later = await new_lottery(
        bozor, f"/new_lottery Later\n1. Mug\ndraw: {minute(timedelta(days=1))}"
    )
    # Created with a time already passed and no accounts: the job cannot draw it yet.
    notice = await bozor.driver.wait_for_message(ADMIN_ID, contains="could not be made")
    assert f"#{due}" in notice["text"] and "no active participating accounts" in notice["text"]
    async with bozor.db() as session:
        postponed = await session.get(Lottery, due)
        assert postponed is not None
        assert postponed.state == LotteryState.OPEN and postponed.draw_at is None
    # Told once, not on every run of the job.
    await asyncio.sleep(1)
    told = [
        m
        for m in await bozor.driver.messages(ADMIN_ID)
        if "could not be made" in (m.get("text") or "")
    ]
    assert len(told) == 1
    # With an account and a new time, the job draws it and the channel gets the results.
    await say(bozor, ADMIN_ID, f"/add_account - 11-22-33-44-55-66-77 {due}", contains="added")
    async with bozor.db() as session:
        lottery = await session.get(Lottery, due)
        assert lottery is not None
        lottery.draw_at = utcnow() - timedelta(seconds=1)
        await session.commit()
    posted = await bozor.driver.wait_for_message(channel, contains="11-22-33-44-55-66-77")
    assert "Due draw" in posted["text"] and "Kettle" in posted["text"]
    async with bozor.db() as session:
        assert (await session.get(Lottery, due)).state == LotteryState.DRAWN  # type: ignore[union-attr]
        assert (await session.get(Lottery, later)).state == LotteryState.OPEN  # type: ignore[union-attr]
        actions = list(
            await session.scalars(select(AuditEntry.action).where(AuditEntry.lottery_id == due))
        )
    assert actions.count("draw_postponed") == 1 and "drawn" in actions


async def test_a_channel_name_telegram_does_not_know_stops_start_up(
    emulator: Emulator, database_url: str
) -> None:
    settings = bozor_settings(emulator, database_url, lottery_channel="@no_such_channel")
    with pytest.raises(SettingsError) as caught:
        await serve(settings, stop=asyncio.Event())
    assert str(caught.value).startswith("LOTTERY_CHANNEL: Telegram cannot find @no_such_channel")


async def register(bozor: Harness, user_id: int, card: str) -> str:
    """Registers without a phone; the verification code."""
    await say(bozor, user_id, "/register")
    await say(bozor, user_id, card)
    answer = await say(bozor, user_id, "Skip", contains="verification code")
    match = re.search(r"verification code: ([A-Z0-9]{8})", answer)
    assert match is not None
    return match.group(1)


async def test_audit_log_hand_over_and_reports_in_the_bot(bozor: Harness) -> None:
    await bozor.user("Admin", user_id=ADMIN_ID)
    alice = await bozor.user("Alice")
    code = await register(bozor, alice, "2223")
    lottery_id = await new_lottery(bozor, "/new_lottery Spring\n1. Bike")
    await say(bozor, ADMIN_ID, f"/add_account 2223 11-22-33-44-55-66-77 {lottery_id}", "added")
    await say(bozor, ADMIN_ID, f"/draw {lottery_id}", contains="Results")
    async with bozor.db() as session:
        win = (await session.scalars(select(Win))).one()
    assert "Usage" in await say(bozor, ADMIN_ID, "/handed_over soon")
    assert "not confirmed yet" in await say(bozor, ADMIN_ID, f"/handed_over {win.id}")
    await say(bozor, ADMIN_ID, f"/verify_winner {code} {lottery_id}", contains="Confirmed")
    handed = await say(bozor, ADMIN_ID, f"/handed_over {win.id}")
    assert "recorded as handed over" in handed
    assert "already recorded as handed over" in await say(bozor, ADMIN_ID, f"/handed_over {win.id}")
    assert "no such win" in await say(bozor, ADMIN_ID, f"/handed_over {win.id + 1000}")
    log = await say(bozor, ADMIN_ID, f"/audit {lottery_id}", contains="Audit log")
    for action in ("drawn", "win_created", "confirmed", "handed_over"):
        assert action in log
    assert "seed=" not in log  # the audit view never shows the seed itself
    assert log.count("handed_over") == 1
    assert "Usage" in await say(bozor, ADMIN_ID, "/lottery_report everything")
    sent = await bozor.driver.send_message(ADMIN_ID, "/lottery_report wins_by_card")
    report = await bozor.driver.wait_for_message(ADMIN_ID, after_message_id=sent["message_id"])
    assert report["document"]["file_name"] == "wins_by_card.csv"
    assert "1 row" in report["caption"]
    data = await bozor.driver.get_file_bytes(report["document"]["file_id"])
    _header, row = list(csv.reader(io.StringIO(data.decode())))
    assert row[0] == "2223" and "1" in row[1:]


async def test_accounts_listed_removed_and_shown_to_their_owner(bozor: Harness) -> None:
    await bozor.user("Admin", user_id=ADMIN_ID)
    alice = await bozor.user("Alice")
    code = await register(bozor, alice, "2223")
    lottery_id = await new_lottery(bozor, "/new_lottery Summer\n1. Tent\n2. Lamp")
    for number in ("11-22-33-44-55-66-77", "11-22-33-44-55-66-78"):
        await say(bozor, ADMIN_ID, f"/add_account 2223 {number} {lottery_id}", "added")
    listed = await say(bozor, ADMIN_ID, f"/list_accounts {alice}")
    assert "11-22-33-44-55-66-77" in listed and "11-22-33-44-55-66-78" in listed
    assert "XX-XX-XX-XX-XX-XX-XX" in await say(bozor, ADMIN_ID, "/remove_account 11-22")
    removed = await say(bozor, ADMIN_ID, "/remove_account 11-22-33-44-55-66-78")
    assert "11-22-33-44-55-66-78" in removed
    await say(bozor, ADMIN_ID, f"/draw {lottery_id}", contains="Results")
    mine = await say(bozor, alice, "/my_account", contains="2223")
    assert "2223" in mine and code in mine
    assert "11-22-33-44-55-66-77" in mine and "Summer" in mine
    async with bozor.db() as session:
        winners = list(await session.scalars(select(Win.account_id)))
    assert len(winners) == 1, "the removed account left the draw; one account, one place"


async def test_participants_who_did_not_win_are_told_the_results_in_their_language(
    bozor: Harness,
) -> None:
    await bozor.user("Admin", user_id=ADMIN_ID)
    alice, boris, carol = [await bozor.user(name) for name in ("Alice", "Boris", "Carol")]
    for user, card in ((alice, "1001"), (boris, "1002"), (carol, "1003")):
        await register(bozor, user, card)
    async with bozor.db() as session:  # Boris reads the bot in Russian
        russian = (await session.scalars(select(User).where(User.telegram_id == boris))).one()
        russian.language = "ru"
        await session.commit()
    lottery_id = await new_lottery(bozor, "/new_lottery Autumn\n1. Bike")
    for card, number in (("1001", "11-22-33-44-55-66-01"), ("1002", "11-22-33-44-55-66-02")):
        await say(bozor, ADMIN_ID, f"/add_account {card} {number} {lottery_id}", "added")
    await say(bozor, ADMIN_ID, f"/add_account - 11-22-33-44-55-66-03 {lottery_id}", "added")
    await say(bozor, ADMIN_ID, f"/draw {lottery_id}", contains="Results")
    async with bozor.db() as session:
        won = (await session.scalars(select(Win))).one()
        winning = (await session.get(Account, won.account_id)).number  # type: ignore[union-attr]
        seed = (await session.get(Lottery, lottery_id)).seed  # type: ignore[union-attr]
    told = {
        alice: "did not win this time",
        boris: "не выиграли",
    }
    winner = {"11-22-33-44-55-66-01": alice, "11-22-33-44-55-66-02": boris}.get(winning)
    for user, words in told.items():
        if user == winner:
            continue  # the winner has their own message with the Confirm button
        notice = await bozor.driver.wait_for_message(user, contains=words, timeout=20)
        assert "Autumn" in notice["text"] and winning in notice["text"]
        assert seed and seed in notice["text"]  # the fairness data, seed revealed
    async with bozor.db() as session:
        sent = list(await session.scalars(select(Broadcast).where(Broadcast.source == "lotteries")))
        recipients = await session.scalar(select(func.count()).select_from(Delivery))
    expected = len([u for u in told if u != winner])
    assert len(sent) == expected and recipients == expected  # one per language; Carol: none
    await asyncio.sleep(0.5)
    assert not [m for m in await bozor.driver.messages(carol) if "Autumn" in (m.get("text") or "")]
    if winner is not None:
        texts = [m.get("text") or "" for m in await bozor.driver.messages(winner)]
        assert not [x for x in texts if "did not win" in x or "не выиграли" in x]


async def test_results_of_very_many_places_reach_the_channel_in_several_messages(
    bozor: Harness, channel: int
) -> None:
    places = 100  # the most a lottery may have: about 4,900 characters of results
    lottery_id = await make_lottery(bozor.db, participants=200, places=places)
    await bozor.user("Admin", user_id=ADMIN_ID)
    await say(bozor, ADMIN_ID, f"/draw {lottery_id}", contains="Results")
    async with bozor.db() as session:
        numbers = [
            number
            for (number,) in await session.execute(
                select(Account.number).join(Win, Win.account_id == Account.id)
            )
        ]
    assert len(numbers) == places

    async def posted() -> list[str]:
        return [str(m.get("text") or "") for m in await bozor.driver.messages(channel)]

    await eventually(lambda: _all_in(posted, numbers), timeout=20)
    texts = await posted()
    assert len(texts) >= 2 and all(len(text) <= 4096 for text in texts)
    assert "Prize 1" in texts[0] and "Test" in texts[0]  # the title first, in order
    joined = "\n".join(texts)
    assert all(joined.count(number) == 1 for number in numbers)  # each winner once

    async def to_admin() -> list[str]:  # the reply to /draw, then the rest
        return [str(m.get("text") or "") for m in await bozor.driver.bot_messages(ADMIN_ID)]

    await eventually(lambda: _all_in(to_admin, numbers), timeout=20)
    assert (await to_admin())[-len(texts) :] == texts  # the same parts, in order


async def _all_in(posted: Any, numbers: list[str]) -> bool:
    joined = "\n".join(await posted())
    return all(number in joined for number in numbers)
