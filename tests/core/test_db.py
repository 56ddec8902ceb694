"""`InsertReturning`: an inserted row comes back as a persistent object of the session."""

from __future__ import annotations

from sqlalchemy import event, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bozor.db import InsertReturning
from bozor.users.models import User
from bozor.users.service import new_user_values

_INSERT_USER = InsertReturning(User, lambda insert, table: insert(table).on_conflict_do_nothing())


def _values(telegram_id: int, code: str) -> dict[str, object]:
    return new_user_values(telegram_id=telegram_id, first_name="Ann", referral_code=code)


async def test_the_row_is_a_persistent_object_whose_changes_are_saved(
    db: async_sessionmaker[AsyncSession],
) -> None:
    statements: list[str] = []
    async with db() as session:
        bind = (await session.connection()).sync_connection
        assert bind is not None

        @event.listens_for(bind, "before_cursor_execute")
        def record(*args: object) -> None:
            statements.append(str(args[2]).split()[0])

        user = await _INSERT_USER(session, _values(7, "AnnCode001"))
        assert user is not None
        assert inspect(user).persistent and not session.dirty and not session.new
        assert user.id and user.telegram_id == 7 and user.first_name == "Ann"
        assert await session.get(User, user.id) is user  # the identity map holds it
        user.first_name = "Anna"  # a handler changing the user it was given
        await session.commit()
    assert statements == ["INSERT", "UPDATE"]  # inserted once, the change saved once
    async with db() as session:
        stored = await session.scalar(select(User).where(User.telegram_id == 7))
        assert stored is not None and stored.first_name == "Anna"


async def test_a_conflict_returns_none_and_adds_nothing(
    db: async_sessionmaker[AsyncSession],
) -> None:
    async with db() as session:
        assert await _INSERT_USER(session, _values(8, "BenCode001")) is not None
        assert await _INSERT_USER(session, _values(8, "BenCode002")) is None
        assert not session.new
        await session.commit()
    async with db() as session:
        found = (await session.scalars(select(User).where(User.telegram_id == 8))).all()
        assert [user.referral_code for user in found] == ["BenCode001"]
