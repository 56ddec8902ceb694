"""Sample data for `bozor demo`: a registry of seeders, one per feature.

A seeder is `async def seed(ctx: DemoContext) -> None` in the feature's own `demo.py`. It
writes through the feature's services (so the data obeys the same rules as real data) and may
backdate timestamps afterwards, so that figures over time look lived-in. Seeders run in the
order of `seeders()`, each only when its feature is switched on; a later one may use what an
earlier one made (the crowd's users exist once `referrals` has run, for instance).

Adding a feature's sample data (shop, classifieds...): write `bozor/<feature>/demo.py` with
`seed(ctx)`, and add one line to `seeders()` below.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bozor.db import utcnow
from bozor.emulator import EmulatorDriver
from bozor.settings import Settings
from bozor.users import service as users_service
from bozor.users.models import User


@dataclass(frozen=True, slots=True)
class Person:
    """A Telegram user of the demo (a persona or one of the crowd)."""

    telegram_id: int
    first_name: str
    language: str
    username: str | None = None


@dataclass
class DemoContext:
    settings: Settings
    db: async_sessionmaker[AsyncSession]
    driver: EmulatorDriver
    personas: dict[str, Person]  # by persona key ("alice", "admin"...)
    crowd: list[Person]
    channel_id: int | None
    rng: random.Random = field(default_factory=lambda: random.Random(20261123))
    now: datetime = field(default_factory=utcnow)
    # What seeders tell the visitor (shown in the web chat's "try this" panel), in order.
    hints: list[str] = field(default_factory=list)
    # Facts a seeder leaves for later seeders and for tests (e.g. {"lottery:welcome": 2}).
    facts: dict[str, Any] = field(default_factory=dict)

    async def user(self, session: AsyncSession, person: Person) -> User:
        """The person's user row, stored on first use (as the bot does on first contact)."""
        user, _ = await users_service.upsert_from_telegram(
            session=session,
            profile=users_service.TelegramProfile(
                telegram_id=person.telegram_id,
                first_name=person.first_name,
                username=person.username,
                language_code=person.language,
            ),
        )
        return user

    async def persona(self, session: AsyncSession, key: str) -> User:
        return await self.user(session, self.personas[key])


Seeder = Callable[[DemoContext], Awaitable[None]]


def seeders() -> dict[str, Seeder]:
    """Feature name → its seeder, in the order they run."""
    from bozor.classifieds import demo as classifieds_demo
    from bozor.lotteries import demo as lotteries_demo
    from bozor.referrals import demo as referrals_demo
    from bozor.shop import demo as shop_demo

    return {
        "referrals": referrals_demo.seed,
        "lotteries": lotteries_demo.seed,
        "shop": shop_demo.seed,
        "classifieds": classifieds_demo.seed,
    }


async def seed_all(ctx: DemoContext) -> None:
    """Run every enabled feature's seeder, in order."""
    for name, seeder in seeders().items():
        if name in ctx.settings.features:
            await seeder(ctx)
