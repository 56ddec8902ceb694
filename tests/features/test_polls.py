"""The worked example of docs/architecture.md: a feature added with one package (tests/features/
polls: its manifest, table, service, handlers and texts) and one line in the features list."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bozor.emulator import Emulator
from bozor.featurekit import Feature
from bozor.features import FEATURES
from bozor.settings import SettingsError
from bozor.testing import ADMIN_ID, Harness, reply_buttons, start_bozor


@pytest.fixture
def polls(monkeypatch: pytest.MonkeyPatch) -> Feature:
    """The polls feature's manifest (its package lives beside this test)."""
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    feature = importlib.import_module("polls.feature").FEATURE
    assert isinstance(feature, Feature)
    return feature


@pytest.fixture
async def poll_table(db: async_sessionmaker[AsyncSession], polls: Feature) -> AsyncIterator[None]:
    """The poll's table: what its migration would create."""
    base = importlib.import_module("polls.models").PollsBase
    engine = db.kw["bind"]
    assert isinstance(engine, AsyncEngine)
    async with engine.begin() as connection:
        await connection.run_sync(base.metadata.create_all)
    yield
    async with engine.begin() as connection:
        await connection.run_sync(base.metadata.drop_all)


@pytest.fixture
async def with_polls(
    emulator: Emulator,
    database_url: str,
    db: async_sessionmaker[AsyncSession],
    polls: Feature,
    poll_table: None,
) -> AsyncIterator[Harness]:
    features = (*FEATURES, polls)  # the one line a feature adds to bozor/features.py
    async with start_bozor(
        emulator, database_url, db, admin_ids=[ADMIN_ID], manifests=features
    ) as harness:
        yield harness


async def test_the_bot_answers_the_new_feature_in_every_language(
    with_polls: Harness, db: async_sessionmaker[AsyncSession]
) -> None:
    bozor = with_polls
    commands = [c["command"] for c in await bozor.driver.commands(language_code="ru")]
    assert commands[-4:] == ["my_ads", "poll", "help", "language"]
    member = await bozor.driver.create_user("Olga", language_code="ru")
    await bozor.start(member)
    assert "🗳 Опрос" in await reply_buttons(bozor, member)
    sent = await bozor.driver.send_message(member, "/poll")
    question = await bozor.driver.wait_for_message(member, after_message_id=sent["message_id"])
    assert question["text"] == "Чай или кофе?"
    query = await bozor.driver.press_button(
        member, question["message_id"], callback_data="poll:coffee"
    )
    answer = await bozor.driver.callback_answer(query)
    assert answer is not None and answer["text"] == "Спасибо! Чай 0, кофе 1."
    votes = importlib.import_module("polls.models").Vote
    async with db() as session:
        assert (await session.scalars(select(votes.choice))).all() == ["coffee"]
    english = await bozor.driver.create_user("Tom", language_code="en")
    sent = await bozor.driver.send_message(english, "🗳 Poll")  # the menu button
    question = await bozor.driver.wait_for_message(english, after_message_id=sent["message_id"])
    assert question["text"] == "Tea or coffee?"


async def test_without_its_line_the_feature_is_not_there(bozor: Harness) -> None:
    commands = [c["command"] for c in await bozor.driver.commands(language_code="en")]
    assert "poll" not in commands
    member = await bozor.driver.create_user("Tom", language_code="en")
    sent = await bozor.driver.send_message(member, "/poll")
    answer = await bozor.driver.wait_for_message(member, after_message_id=sent["message_id"])
    assert answer["text"] == "I did not understand that. Press a button below or send /help."


async def test_its_settings_are_its_own(
    emulator: Emulator,
    database_url: str,
    db: async_sessionmaker[AsyncSession],
    polls: Feature,
    poll_table: None,
) -> None:
    """The manifest's `settings` (PollSettings, POLL_*): given like the core's, read at
    start-up, and a wrong value stops it naming the variable."""
    features = (*FEATURES, polls)
    with pytest.raises(SettingsError, match=r"^POLL_SHOW_COUNTS: Input should be a valid boolean"):
        async with start_bozor(
            emulator, database_url, db, manifests=features, poll_show_counts="?"
        ):
            pass
    async with start_bozor(
        emulator, database_url, db, manifests=features, poll_show_counts=False
    ) as bozor:
        member = await bozor.driver.create_user("Tom", language_code="en")
        sent = await bozor.driver.send_message(member, "/poll")
        question = await bozor.driver.wait_for_message(member, after_message_id=sent["message_id"])
        query = await bozor.driver.press_button(
            member, question["message_id"], callback_data="poll:tea"
        )
        answer = await bozor.driver.callback_answer(query)
        assert answer is not None and answer["text"] == "Thanks for your vote!"
