"""Campaigns: named promotions whose links carry the campaign to clicks and referrals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import distinct, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bozor.db import upsert_insert, utcnow
from bozor.errors import ConflictError, NotFoundError
from bozor.referrals.codes import new_referral_code
from bozor.referrals.models import Campaign, Click, Referral, ReferralLink, ReferralStatus
from bozor.users.models import User


@dataclass(frozen=True, slots=True)
class CampaignFigures:
    clicks: int
    unique_clicks: int
    signups: int
    confirmed: int


async def create(
    *, session: AsyncSession, slug: str, name: str, ends_at: datetime | None = None
) -> Campaign:
    campaign = Campaign(slug=slug, name=name, ends_at=ends_at, active=True, created_at=utcnow())
    try:
        async with session.begin_nested():
            session.add(campaign)
            await session.flush()
    except IntegrityError:
        raise ConflictError("campaign.taken") from None
    return campaign


async def by_slug(*, session: AsyncSession, slug: str) -> Campaign:
    campaign = await session.scalar(select(Campaign).where(Campaign.slug == slug))
    if campaign is None:
        raise NotFoundError("campaign.not_found")
    return campaign


async def list_all(*, session: AsyncSession) -> list[Campaign]:
    return list(await session.scalars(select(Campaign).order_by(Campaign.id)))


def is_running(campaign: Campaign) -> bool:
    return campaign.active and (campaign.ends_at is None or campaign.ends_at > utcnow())


async def link_code(*, session: AsyncSession, user: User, campaign: Campaign) -> str:
    """The user's code for this campaign, made on first use (also under concurrency)."""
    existing = await session.scalar(
        select(ReferralLink.code).where(
            ReferralLink.user_id == user.id, ReferralLink.campaign_id == campaign.id
        )
    )
    if existing is not None:
        return existing
    if not is_running(campaign):
        raise ConflictError("campaign.inactive")
    await session.execute(
        upsert_insert(session, ReferralLink)
        .values(
            code=new_referral_code(),
            user_id=user.id,
            campaign_id=campaign.id,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["user_id", "campaign_id"])
    )
    code = await session.scalar(
        select(ReferralLink.code).where(
            ReferralLink.user_id == user.id, ReferralLink.campaign_id == campaign.id
        )
    )
    assert code is not None
    return code


async def figures(*, session: AsyncSession, campaign_id: int) -> CampaignFigures:
    """Clicks, sign-ups and confirmations a campaign brought."""
    clicks = (
        await session.execute(
            select(
                func.count().filter(Click.is_bot.is_(False)),
                func.count(distinct(Click.visitor)).filter(Click.is_bot.is_(False)),
            ).where(Click.campaign_id == campaign_id)
        )
    ).one()
    referrals = (
        await session.execute(
            select(
                func.count(),
                func.count().filter(Referral.status == ReferralStatus.CONFIRMED),
            ).where(Referral.campaign_id == campaign_id)
        )
    ).one()
    return CampaignFigures(int(clicks[0]), int(clicks[1]), int(referrals[0]), int(referrals[1]))
