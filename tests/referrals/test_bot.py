"""The referral bot end to end: real bot, emulator over HTTP, real database."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from sqlalchemy import func, select

from bozor.outbox.models import OutboxMessage, OutboxStatus
from bozor.referrals.models import Referral, ReferralStatus
from bozor.testing import Harness, eventually, reply_buttons
from bozor.users.models import User

LINK_RE = re.compile(r"https://t\.me/(\w+)\?start=([A-Za-z0-9]+)")


@pytest.fixture
def bozor_overrides() -> dict[str, Any]:
    # A burst of hundreds of sign-ups through one link is held for review by default
    # (tests/referrals/test_review.py); here every one must simply count.
    return {"velocity_burst": 0}


async def ref_figures(bozor: Harness, user_id: int) -> dict[str, str]:
    caption = (await bozor.show_ref(user_id))["caption"]
    return dict(re.findall(r"(Invited|Confirmed|Your rank): (\S+)", caption))


async def referrals_of(bozor: Harness, telegram_id: int) -> list[Referral]:
    async with bozor.db() as session:
        referrer = await session.scalar(select(User).where(User.telegram_id == telegram_id))
        assert referrer is not None
        return list(
            await session.scalars(select(Referral).where(Referral.referrer_id == referrer.id))
        )


async def notified_total(bozor: Harness, chat_id: int, expected: int, timeout: float = 20) -> int:
    """Sum the people announced in the referrer's notifications until `expected` is reached."""
    deadline = asyncio.get_running_loop().time() + timeout
    total = 0
    while True:
        total = 0
        for message in await bozor.driver.bot_messages(chat_id):
            text = message.get("text") or ""
            if "joined through your link" in text:
                many = re.search(r"(\d+) new (?:people|person)", text)
                total += int(many.group(1)) if many else 1
        if total >= expected or asyncio.get_running_loop().time() > deadline:
            return total
        await asyncio.sleep(0.2)


async def test_start_stores_the_user_and_welcomes(bozor: Harness) -> None:
    alice = await bozor.user("Alice", last_name="Smith", username="alice", language_code="en")
    answer = await bozor.start(alice)
    assert "Welcome" in answer["text"] and "Alice" in answer["text"]
    keyboard = await reply_buttons(bozor, alice)
    assert "🤝 Friends" in keyboard and "🌐 Language" in keyboard
    async with bozor.db() as session:
        user = await session.scalar(select(User).where(User.telegram_id == alice))
    assert user is not None
    assert (user.first_name, user.last_name, user.username) == ("Alice", "Smith", "alice")
    assert user.telegram_language == "en" and not user.is_blocked


async def test_user_details_are_kept_up_to_date(bozor: Harness) -> None:
    alice = await bozor.user("Alice", username="alice")
    await bozor.start(alice)
    update = await bozor.driver.send_message(alice, "/help")
    renamed: dict[str, Any] = {
        "update_id": 0,
        "message": {
            **update,
            "message_id": update["message_id"] + 100,
            "from": {**update["from"], "first_name": "Alicia", "username": "alicia"},
        },
    }
    renamed.pop("update_id")
    await bozor.driver.push_update(renamed)
    await bozor.driver.wait_for_messages(alice, 3)

    async def renamed_in_the_database() -> bool:
        # The reply can reach the chat before the update's transaction has committed.
        async with bozor.db() as session:
            user = await session.scalar(select(User).where(User.telegram_id == alice))
        return user is not None and (user.first_name, user.username) == ("Alicia", "alicia")

    await eventually(renamed_in_the_database)


async def test_invited_friend_is_credited_once_and_referrer_told(bozor: Harness) -> None:
    alice, bob = await bozor.user("Alice"), await bozor.user("Bob")
    await bozor.start(alice)
    code = await bozor.referral_code(alice)
    assert len(code) >= 8 and str(alice) not in code

    answer = await bozor.start(bob, code)
    assert "invitation from Alice" in answer["text"] and "Welcome" in answer["text"]
    note = await bozor.driver.wait_for_message(alice, contains="Bob joined through your link")
    assert "Confirmed referrals: 1" in note["text"]
    assert await ref_figures(bozor, alice) == {"Invited": "1", "Confirmed": "1", "Your rank": "1"}
    [referral] = await referrals_of(bozor, alice)
    assert referral.status == ReferralStatus.CONFIRMED


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ("ZZZZZZZZZZ", "not valid"),  # well-formed, nobody's code
        ("bad!code", "not valid"),  # malformed
        ("x", "not valid"),  # too short to be a code
        ("abc_def", "not valid"),  # no feature's payload either
    ],
)
async def test_unknown_or_malformed_code_is_refused_but_welcomed(
    bozor: Harness, payload: str, expected: str
) -> None:
    bob = await bozor.user("Bob")
    answer = await bozor.start(bob, payload)
    assert expected in answer["text"] and "Welcome" in answer["text"]
    async with bozor.db() as session:
        assert await session.scalar(select(func.count()).select_from(Referral)) == 0


async def test_self_referral_is_refused(bozor: Harness) -> None:
    alice = await bozor.user("Alice")
    await bozor.start(alice)
    code = await bozor.referral_code(alice)
    answer = await bozor.start(alice, code)
    assert "cannot invite yourself" in answer["text"]
    assert await referrals_of(bozor, alice) == []


async def test_existing_user_cannot_be_referred(bozor: Harness) -> None:
    alice, bob = await bozor.user("Alice"), await bozor.user("Bob")
    await bozor.start(alice)
    await bozor.start(bob)
    code = await bozor.referral_code(alice)
    answer = await bozor.start(bob, code)
    assert "already use this bot" in answer["text"] and "Welcome back" in answer["text"]
    assert await referrals_of(bozor, alice) == []


async def test_second_referrer_is_refused(bozor: Harness) -> None:
    alice, carol, bob = (
        await bozor.user("Alice"),
        await bozor.user("Carol"),
        await bozor.user("Bob"),
    )
    await bozor.start(alice)
    await bozor.start(carol)
    alice_code, carol_code = await bozor.referral_code(alice), await bozor.referral_code(carol)
    await bozor.start(bob, alice_code)
    answer = await bozor.start(bob, carol_code)
    assert "already invited" in answer["text"]
    assert len(await referrals_of(bozor, alice)) == 1
    assert await referrals_of(bozor, carol) == []


# Above the reference's 200; every friend's sign-up commits in the same few seconds. Timeouts are
# generous: CI machines are shared, and only the counts are asserted, never the time.
FRIENDS = 300


@pytest.mark.timeout(300)
async def test_many_new_users_at_once_are_all_counted(bozor: Harness) -> None:
    """The reference stored 200 referred users with a count of 5; Bozor counts every one."""
    alice = await bozor.user("Alice")
    await bozor.start(alice)
    code = await bozor.referral_code(alice)
    friends = [await bozor.user(f"Friend{i}") for i in range(FRIENDS)]

    await asyncio.gather(*(bozor.driver.send_start(friend, code) for friend in friends))
    replies = await asyncio.gather(
        *(bozor.driver.wait_for_message(f, contains="Welcome", timeout=150) for f in friends)
    )
    assert all("invitation from Alice" in reply["text"] for reply in replies)
    referrals = await referrals_of(bozor, alice)
    assert len(referrals) == FRIENDS
    assert {r.status for r in referrals} == {ReferralStatus.CONFIRMED}
    assert await notified_total(bozor, alice, FRIENDS, timeout=90) == FRIENDS, (
        "every friend announced exactly once"
    )
    notes = [m for m in await bozor.driver.bot_messages(alice) if "joined" in (m.get("text") or "")]
    assert len(notes) < 50, "a burst is coalesced into few messages, not one per friend"
    assert (await ref_figures(bozor, alice))["Confirmed"] == str(FRIENDS)


async def test_same_update_delivered_twice_is_credited_once(bozor: Harness) -> None:
    alice, bob = await bozor.user("Alice"), await bozor.user("Bob")
    await bozor.start(alice)
    code = await bozor.referral_code(alice)
    sent = await bozor.driver.send_start(bob, code)
    await bozor.driver.wait_for_message(bob, after_message_id=sent["message_id"])
    await bozor.driver.redeliver(
        sent["update_id"]
        if "update_id" in sent
        else (await bozor.driver.last_update())["update_id"]
    )
    await bozor.driver.send_message(bob, "/help")
    await bozor.driver.wait_for_message(bob, contains="/ref")
    welcomes = [
        m for m in await bozor.driver.bot_messages(bob) if "Welcome" in (m.get("text") or "")
    ]
    assert len(welcomes) == 1, "the re-delivered update was not handled again"
    assert len(await referrals_of(bozor, alice)) == 1


async def test_two_quick_starts_from_one_new_user(bozor: Harness) -> None:
    alice, bob = await bozor.user("Alice"), await bozor.user("Bob")
    await bozor.start(alice)
    code = await bozor.referral_code(alice)
    await asyncio.gather(bozor.driver.send_start(bob, code), bozor.driver.send_start(bob, code))
    replies = await bozor.driver.wait_for_messages(bob, 2)
    texts = " | ".join(reply["text"] for reply in replies)
    assert "went wrong" not in texts
    assert texts.count("invitation from Alice") == 1
    assert len(await referrals_of(bozor, alice)) == 1
    assert await notified_total(bozor, alice, 1) == 1


async def test_referrer_who_blocked_the_bot_is_recorded(bozor: Harness) -> None:
    alice, bob = await bozor.user("Alice"), await bozor.user("Bob")
    await bozor.start(alice)
    code = await bozor.referral_code(alice)
    await bozor.driver.block_bot(alice)
    await bozor.start(bob, code)  # Bob is still welcomed and credited to Alice

    async def alice_blocked() -> bool:
        async with bozor.db() as session:
            user = await session.scalar(select(User).where(User.telegram_id == alice))
            return bool(user and user.is_blocked)

    for _ in range(100):
        if await alice_blocked():
            break
        await asyncio.sleep(0.1)
    assert await alice_blocked()
    note = None
    for _ in range(100):  # the notification is tried, Telegram answers 403, it is given up
        async with bozor.db() as session:
            note = await session.scalar(select(OutboxMessage).where(OutboxMessage.chat_id == alice))
        if note is not None and note.status != OutboxStatus.PENDING:
            break
        await asyncio.sleep(0.1)
    assert note is not None and note.status == OutboxStatus.FAILED
    assert "blocked" in (note.last_error or "")
    assert len(await referrals_of(bozor, alice)) == 1

    await bozor.driver.unblock_bot(alice)
    await bozor.start(alice)
    assert not await alice_blocked(), "writing to the bot again clears the flag"


async def test_blocking_is_recorded_when_telegram_reports_it(bozor: Harness) -> None:
    """Telegram sends my_chat_member when a user blocks or unblocks the bot."""
    alice = await bozor.user("Alice")
    await bozor.start(alice)

    async def blocked() -> bool | None:
        async with bozor.db() as session:
            user = await session.scalar(select(User).where(User.telegram_id == alice))
            return None if user is None else user.is_blocked

    for action, expected in ((bozor.driver.block_bot, True), (bozor.driver.unblock_bot, False)):
        await action(alice)
        for _ in range(100):
            if await blocked() is expected:
                break
            await asyncio.sleep(0.05)
        assert await blocked() is expected


async def test_leaderboard_orders_by_confirmed_then_who_got_there_first(bozor: Harness) -> None:
    alice, carol, dave = [await bozor.user(name) for name in ("Alice", "Carol", "Dave")]
    codes = {}
    for member in (alice, carol, dave):
        await bozor.start(member)
        codes[member] = await bozor.referral_code(member)
    # Alice reaches 2 before Carol does; Dave has 1.
    for referrer, count in ((alice, 2), (carol, 2), (dave, 1)):
        for i in range(count):
            await bozor.start(await bozor.user(f"Guest{referrer}{i}"), codes[referrer])

    sent = await bozor.driver.send_message(dave, "/top")
    board = (
        await bozor.driver.wait_for_message(  # not the "someone joined" notice that may come too
            dave, after_message_id=sent["message_id"], contains="Your rank"
        )
    )["text"]
    lines = board.splitlines()
    assert lines[2:5] == ["1. Alice — 2", "2. Carol — 2", "3. Dave — 1"]
    assert "Your rank: 3 (1 confirmed)" in board
    assert (await ref_figures(bozor, carol))["Your rank"] == "2"

    newcomer = await bozor.user("Nina")
    await bozor.start(newcomer)
    sent = await bozor.driver.send_message(newcomer, "/top")
    mine = await bozor.driver.wait_for_message(newcomer, after_message_id=sent["message_id"])
    assert "no confirmed referrals yet" in mine["text"]


async def test_menu_buttons_open_link_and_leaderboard(bozor: Harness) -> None:
    alice = await bozor.user("Alice")
    await bozor.start(alice)
    sent = await bozor.driver.press_reply_button(alice, "🤝 Friends")  # the feature's submenu
    await bozor.driver.wait_for_message(alice, after_message_id=sent["message_id"])
    await bozor.driver.press_reply_button(alice, "🤝 Invite friends")
    link = await bozor.driver.wait_for_message(alice, predicate=lambda m: bool(m.get("photo")))
    assert LINK_RE.search(link["caption"])
    share = link["reply_markup"]["inline_keyboard"][0][0]
    assert share["url"].startswith("https://t.me/share/url?url=https%3A%2F%2Ft.me%2F")
    await bozor.driver.press_reply_button(alice, "🏆 Leaderboard")
    await bozor.driver.wait_for_message(alice, contains="No confirmed referrals yet")
