"""Sample referrals for `bozor demo`: a referral tree grown over three weeks, with clicks.

Written through the referral service (rules, rewards, notifications as usual), then
backdated so the dashboard's funnel over time has a history.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import insert, update

from bozor.demo.seeding import DemoContext
from bozor.referrals import service
from bozor.referrals.models import Click, Referral, ReferralStatus
from bozor.users.models import User

DAYS = 21
USER_AGENT = "Mozilla/5.0 (Linux; Android 14) Demo"


async def seed(ctx: DemoContext) -> None:
    """Alice, Olga and Bobur invite most of the crowd; some of the crowd invite others."""
    rng = ctx.rng
    async with ctx.db() as session:
        referrers: list[tuple[User, float]] = [
            (await ctx.persona(session, "alice"), 6.0),
            (await ctx.persona(session, "olga"), 3.5),
            (await ctx.persona(session, "bobur"), 2.0),
        ]
        clicks: list[dict[str, object]] = []
        joined = sorted(rng.uniform(0.1, DAYS) for _ in ctx.crowd)[::-1]  # oldest first
        pending: list[int] = []
        for person, days_ago in zip(ctx.crowd, joined, strict=True):
            referrer = rng.choices([r for r, _ in referrers], [w for _, w in referrers])[0]
            user = await ctx.user(session, person)
            wait = rng.random() < 0.2  # still to confirm (e.g. a channel subscription)
            referral, _ = await service.register_referral(
                session=session,
                referred=user,
                code=referrer.referral_code,
                # they started the bot a moment ago (the demo's set-up): an existing user
                # joining through a link, as the API allows, with the cycle check
                referred_is_new=False,
                allow_existing=True,
                settings=ctx.settings,
                needs_confirmation=wait,
            )
            joined_at = ctx.now - timedelta(days=days_ago)
            confirmed_at = None if wait else joined_at + timedelta(minutes=rng.uniform(1, 600))
            await session.execute(
                update(Referral)
                .where(Referral.id == referral.id)
                .values(created_at=joined_at, confirmed_at=confirmed_at)
                .execution_options(synchronize_session=False)
            )
            await session.execute(
                update(User)
                .where(User.id == user.id)
                .values(created_at=joined_at, last_seen_at=joined_at, updated_at=joined_at)
                .execution_options(synchronize_session=False)
            )
            if wait:
                pending.append(referral.id)
            # The click that brought them, and visits that did not convert.
            for extra in range(1 + rng.randint(0, 3)):
                clicked_at = joined_at - timedelta(minutes=rng.uniform(1, 240) + extra * 600)
                clicks.append(_click(referrer.id, clicked_at))
            referrers.append((user, 0.6))  # newcomers invite a few friends of their own
        for held in pending[1:3]:  # as the velocity check holds bursts from one visitor
            await session.execute(
                update(Referral)
                .where(Referral.id == held)
                .values(status=ReferralStatus.REVIEW, reason="velocity: 4 sign-ups, one visitor")
                .execution_options(synchronize_session=False)
            )
        if pending:
            await service.review(
                session=session,
                referral_id=pending[0],
                approve=False,
                reason="Duplicate account (same phone as an earlier member)",
                settings=ctx.settings,
            )
        await session.execute(insert(Click), clicks)
        await session.commit()
    ctx.hints.append("demo.hint.referral")


def _click(referrer_id: int, at: datetime) -> dict[str, object]:
    return {
        "referrer_id": referrer_id,
        "visitor": secrets.token_hex(16),
        "is_bot": False,
        "user_agent": USER_AGENT,
        "referer": None,
        "utm": {},
        "source": "redirect",
        "campaign_id": None,
        "created_at": at,
    }
