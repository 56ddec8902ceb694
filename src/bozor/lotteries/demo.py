"""Sample prize draws for `bozor demo`: members with club cards, registered and unregistered
accounts, a drawn lottery among the members' accounts (so every place has an owner, and one
win is always confirmed by an admin whatever the draw picks), a small one whose winners are
personas (so the visitor can press Confirm), and an open one waiting for its draw among every
account. Written through the lottery services."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bozor.demo.personas import DEMO_ADMIN_ID
from bozor.demo.seeding import DemoContext
from bozor.lotteries import accounts, operations, service, wins

UNREGISTERED_ACCOUNTS = 30
CARD_BASE = 700_100


def _number(i: int) -> str:
    digits = f"{i:014d}"
    return "-".join(digits[j : j + 2] for j in range(0, 14, 2))


async def seed(ctx: DemoContext) -> None:
    async with ctx.db() as session:
        numbers: list[str] = []
        cards: dict[str, str] = {}
        members = [ctx.personas[k] for k in ("bobur", "olga", "alice")] + ctx.crowd[:8]
        for i, person in enumerate(members):
            card = str(CARD_BASE + i)
            user = await ctx.user(session, person)
            await accounts.register(
                session=session, user=user, club_card=card, phone=f"+99890{1000000 + i}"
            )
            cards[str(person.telegram_id)] = card
            for j in range(2 if i == 0 else 1):
                number = _number(10_000 + i * 10 + j)
                await accounts.add_account(
                    session=session, club_card=card, number=number, actor=DEMO_ADMIN_ID
                )
                numbers.append(number)
        # Accounts the club knows whose owners have not registered in the bot (yet).
        unregistered = [_number(90_000 + i) for i in range(UNREGISTERED_ACCOUNTS)]
        for i, number in enumerate(unregistered):
            await accounts.add_account(
                session=session,
                club_card=str(CARD_BASE + 500 + i) if i % 3 else None,
                number=number,
                actor=DEMO_ADMIN_ID,
            )
        everyone = numbers + unregistered

        # Among the members' accounts only: the draw is random (its seed is secret), and the
        # confirmed win the docs promise needs a winner who registered in the bot.
        grand = await _lottery(
            ctx,
            session,
            "Autumn grand draw",
            ["Smartphone", "Wireless headphones", "100 000 so'm voucher"],
            numbers,
        )
        await _draw(ctx, session, grand)
        await _confirm_one(session, grand)
        bobur, olga = ctx.personas["bobur"], ctx.personas["olga"]
        welcome = await _lottery(
            ctx,
            session,
            "Welcome draw",
            ["Bozor mug", "Bozor T-shirt"],
            [_number(10_000), _number(10_010)],  # Bobur's first account and Olga's
        )
        await _draw(ctx, session, welcome)
        winter = await _lottery(
            ctx,
            session,
            "Winter draw",
            ["Laptop", "Smart watch", "Cinema tickets for two"],
            everyone,
            draw_in=timedelta(days=7),
        )
        await session.commit()
    ctx.facts.update(
        {
            "lottery:grand": grand,
            "lottery:welcome": welcome,
            "lottery:winter": winter,
            "lottery:welcome_winners": [bobur.telegram_id, olga.telegram_id],
        }
    )
    ctx.hints.append("demo.hint.lottery")


async def _lottery(
    ctx: DemoContext,
    session: AsyncSession,
    title: str,
    prizes: list[str],
    numbers: list[str],
    *,
    draw_in: timedelta | None = None,
) -> int:
    lottery = await service.create(
        session=session,
        title=title,
        prizes=prizes,
        draw_at=ctx.now + draw_in if draw_in else None,
        actor=DEMO_ADMIN_ID,
    )
    await service.import_accounts(
        session=session,
        lines=[service.ImportLine(i, None, n) for i, n in enumerate(numbers, start=1)],
        lottery_id=lottery.id,
        actor=DEMO_ADMIN_ID,
    )
    return int(lottery.id)


async def _draw(ctx: DemoContext, session: AsyncSession, lottery_id: int) -> None:
    """Draw as an admin would with /draw: winners told, results in the channel."""
    await operations.draw(
        session=session, settings=ctx.settings, lottery_id=lottery_id, actor=DEMO_ADMIN_ID
    )


async def _confirm_one(session: AsyncSession, lottery_id: int) -> None:
    """One winner already came to the office with their code: the admin confirms their win.
    An admin's confirmation takes all of a member's wins in the lottery, so the member is one
    who won a single place (of three places, at most two go to Bobur's two accounts)."""
    places = await wins.places(session=session, lottery_id=lottery_id)
    won = Counter(p.club_card for p in places)
    card = next(p.club_card for p in places if p.club_card is not None and won[p.club_card] == 1)
    member = await accounts.member_by_card(session=session, club_card=card)
    assert member is not None, "every account of the grand draw belongs to a member"
    await wins.confirm_by_admin(
        session=session, code=member.verification_code, lottery_id=lottery_id, admin=DEMO_ADMIN_ID
    )
