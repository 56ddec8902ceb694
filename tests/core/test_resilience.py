"""Telegram failures are expected: 429 honoured, 5xx retried, errors answered politely,
bursts throttled — and nothing half-saved."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select, text

from bozor.referrals.models import Referral
from bozor.testing import ADMIN_ID, Harness, eventually
from bozor.users.models import User


async def test_429_retry_after_is_honoured(bozor: Harness) -> None:
    member = await bozor.user("Aziz")
    await bozor.start(member)
    await bozor.driver.inject_fault("sendMessage", error_code=429, retry_after=1, times=1)
    sent = await bozor.driver.send_message(member, "/help")
    answer = await bozor.driver.wait_for_message(
        member, after_message_id=sent["message_id"], timeout=10
    )
    assert "/ref" in answer["text"]
    assert (await bozor.driver.stats())["rate_limited"] >= 1


async def test_server_errors_are_retried(bozor: Harness) -> None:
    member = await bozor.user("Aziz")
    await bozor.start(member)
    await bozor.driver.inject_fault("sendMessage", error_code=502, times=2)
    sent = await bozor.driver.send_message(member, "/help")
    answer = await bozor.driver.wait_for_message(
        member, after_message_id=sent["message_id"], timeout=10
    )
    assert "/ref" in answer["text"]


@pytest.fixture
def bozor_overrides() -> dict[str, Any]:
    return {"throttle_burst": 4, "throttle_rate": 0.5}


async def break_outbox_writes(bozor: Harness, broken: bool) -> None:
    """A real database failure in the middle of a transaction: outbox inserts abort."""
    async with bozor.db() as session:
        postgres = session.get_bind().dialect.name == "postgresql"
        if broken and postgres:
            await session.execute(
                text(
                    "CREATE FUNCTION fail_outbox() RETURNS trigger AS $$ BEGIN "
                    "RAISE EXCEPTION 'disk on fire'; END $$ LANGUAGE plpgsql"
                )
            )
            await session.execute(
                text(
                    "CREATE TRIGGER fail_outbox BEFORE INSERT ON outbox "
                    "FOR EACH ROW EXECUTE FUNCTION fail_outbox()"
                )
            )
        elif broken:
            await session.execute(
                text(
                    "CREATE TRIGGER fail_outbox BEFORE INSERT ON outbox "
                    "BEGIN SELECT RAISE(ABORT, 'disk on fire'); END"
                )
            )
        else:
            await session.execute(
                text("DROP TRIGGER fail_outbox" + (" ON outbox" if postgres else ""))
            )
        await session.commit()


async def test_failure_is_answered_politely_and_nothing_is_half_saved(bozor: Harness) -> None:
    alice, bob = await bozor.user("Alice"), await bozor.user("Bob")
    await bozor.start(alice)
    async with bozor.db() as session:
        code = await session.scalar(select(User.referral_code).where(User.telegram_id == alice))
    await break_outbox_writes(bozor, broken=True)
    answer = await bozor.start(bob, code)  # user row and referral written, then the failure
    assert "Something went wrong" in answer["text"]
    async with bozor.db() as session:
        assert await session.scalar(select(func.count()).select_from(Referral)) == 0
        assert await session.scalar(select(User).where(User.telegram_id == bob)) is None
    # Bob tries again once the database is healthy, and it works: he is still a new user.
    await break_outbox_writes(bozor, broken=False)
    answer = await bozor.start(bob, code)
    assert "invitation from Alice" in answer["text"]


async def test_bursts_from_one_user_are_throttled(bozor: Harness) -> None:
    member = await bozor.user("Spammer")
    await bozor.start(member)
    for _ in range(15):
        await bozor.driver.send_message(member, "/help")
    await bozor.driver.wait_for_message(member, contains="Too many messages")
    other = await bozor.user("Calm")
    assert "Welcome" in (await bozor.start(other))["text"], "others are not slowed down"
    helps = [m for m in await bozor.driver.bot_messages(member) if "/ref" in (m.get("text") or "")]
    assert 1 <= len(helps) < 15


async def test_admins_are_not_throttled(bozor: Harness) -> None:
    admin = await bozor.user("Admin", user_id=ADMIN_ID)
    await bozor.start(admin)
    for _ in range(15):
        await bozor.driver.send_message(admin, "/help")

    async def all_answered() -> bool:
        texts = [m.get("text") or "" for m in await bozor.driver.bot_messages(admin)]
        return sum(bool(text.startswith("I am ")) for text in texts) == 15  # /help answers

    await eventually(all_answered)
    texts = [m.get("text") or "" for m in await bozor.driver.bot_messages(admin)]
    assert not any("Too many messages" in text for text in texts)
