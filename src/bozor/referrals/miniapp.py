"""Referrals in the Mini App: my link and its QR code, my invited and confirmed figures week by
week, the leaderboard, and my rewards with claim (the service's rules: only the owner, once)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import segno
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse

from bozor.db import utcnow
from bozor.miniapp.web import SessionDep, ViewerDep, answer, render, runtime_of, view_router
from bozor.referrals import rewards, service
from bozor.settings import Settings

WEEKS = 8
LEADERS = 10


@dataclass(frozen=True, slots=True)
class Week:
    starts: date
    invited: int
    confirmed: int


def weekly(referrals: list[service.ReferralRow], *, weeks: int, today: date) -> list[Week]:
    """Invited (by sign-up) and confirmed (by confirmation) per week, oldest first."""
    first = today - timedelta(days=today.weekday() + 7 * (weeks - 1))
    invited, confirmed = [0] * weeks, [0] * weeks

    def slot(when: datetime | None) -> int | None:
        if when is None:
            return None
        index = (when.date() - first).days // 7
        return index if 0 <= index < weeks else None

    for row in referrals:
        if (i := slot(row.referral.created_at)) is not None:
            invited[i] += 1
        if (i := slot(row.referral.confirmed_at)) is not None:
            confirmed[i] += 1
    return [Week(first + timedelta(days=7 * i), invited[i], confirmed[i]) for i in range(weeks)]


def create_miniapp_router(settings: Settings) -> APIRouter:
    router = view_router("/referrals")

    @router.get("")
    async def referrals(request: Request, viewer: ViewerDep, session: SessionDep) -> HTMLResponse:
        """My link, its QR code, my figures over time, the leaderboard and my rewards."""
        me = await runtime_of(request).bot.me()
        link = f"https://t.me/{me.username}?start={viewer.user.referral_code}"
        now = utcnow()
        since = now - timedelta(days=7 * WEEKS + 7)
        mine = await service.list_referrals(
            session=session,
            where=service.ReferralFilter(referrer=viewer.user, since=since),
            limit=None,
        )
        weeks = weekly(mine, weeks=WEEKS, today=now.date())
        return render(
            viewer,
            "referrals/overview.html",
            path="/referrals",
            back="/",
            link=link,
            qr=segno.make(link, error="m").svg_data_uri(scale=5, border=2),
            figures=await service.stats(session=session, user_id=viewer.user.id),
            weeks=weeks,
            most=max([1] + [w.invited for w in weeks]),
            leaders=await service.leaderboard(session=session, limit=LEADERS),
            rewards=await rewards.list_rewards(session=session, user_id=viewer.user.id),
            totals=await rewards.totals(session=session, user_id=viewer.user.id),
        )

    @router.post("/rewards/{reward_id}/claim")
    async def claim(viewer: ViewerDep, session: SessionDep, reward_id: int) -> JSONResponse:
        """Claim one of my rewards: its points go to my balance."""
        await rewards.claim(
            session=session, user=viewer.user, reward_id=reward_id, settings=settings
        )
        await session.commit()
        return answer(go="/referrals")

    return router
