"""The demo's sample draws (`bozor.lotteries.demo`) keep docs/demo.md's promises whatever the
draws pick: the "Autumn grand draw" has a winner in every place who registered in the bot,
exactly one win confirmed by an admin, and the "Welcome draw" leaves Bobur and Olga a win to
confirm with the button."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select

from bozor.demo.personas import DEMO_ADMIN_ID
from bozor.demo.seeding import DemoContext, Person
from bozor.lotteries import demo, wins
from bozor.lotteries.models import Win, WinStatus
from bozor.testing import Harness


async def people(bozor: Harness, names: list[str]) -> list[Person]:
    return [Person(await bozor.user(name, language_code="en"), name, "en") for name in names]


async def test_the_sample_draws_keep_the_docs_promises(bozor: Harness) -> None:
    bobur, olga, alice = await people(bozor, ["Bobur", "Olga", "Alice"])
    crowd = await people(bozor, [f"Member {i}" for i in range(8)])
    personas = {"bobur": bobur, "olga": olga, "alice": alice}
    ctx = DemoContext(bozor.settings, bozor.db, bozor.driver, personas, crowd, None)
    await demo.seed(ctx)
    async with bozor.db() as session:
        grand = await wins.places(session=session, lottery_id=ctx.facts["lottery:grand"])
        welcome = await wins.places(session=session, lottery_id=ctx.facts["lottery:welcome"])
        confirmed = list(
            await session.scalars(select(Win).where(Win.status == WinStatus.CONFIRMED))
        )

    assert len(grand) == 3
    assert all(place.owner_telegram_id is not None for place in grand)
    assert Counter(place.status for place in grand) == {
        WinStatus.CONFIRMED: 1,
        WinStatus.PENDING: 2,
    }
    assert len(confirmed) == 1
    assert confirmed[0].lottery_id == ctx.facts["lottery:grand"]
    assert (confirmed[0].confirmed_by, confirmed[0].confirmed_via) == (DEMO_ADMIN_ID, "admin")

    assert {p.owner_telegram_id for p in welcome} == {bobur.telegram_id, olga.telegram_id}
    assert all(p.status == WinStatus.PENDING for p in welcome)
