"""Admin routes of the referral programme: rewards, review, listing and export, campaigns."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bozor import csv_export
from bozor.api.auth import AdminDep, SessionDep
from bozor.api.deps import RuntimeDep, SettingsDep
from bozor.api.problems import responses
from bozor.errors import NotFoundError
from bozor.referrals import campaigns, clicks, rewards, service
from bozor.referrals.hooks import RewardPolicy, Tier
from bozor.referrals.models import Campaign, ReferralStatus
from bozor.referrals.schemas import (
    NO_NUL,
    CampaignCreate,
    CampaignRead,
    CampaignUpdate,
    ProgramSchema,
    ReferralPage,
    ReferralRead,
    RejectCreate,
    TierSchema,
    UTCDatetime,
)
from bozor.users import service as users_service

router = APIRouter(
    prefix="/api/v1/admin", tags=["admin: referrals"], responses=responses(401, 403, 429)
)
ReferralId = Annotated[int, Path(ge=1, le=2**63 - 1)]
CSV_COLUMNS = (
    "id",
    "referrer_id",
    "referred_id",
    "status",
    "reason",
    "source",
    "campaign",
    "created_at",
    "confirmed_at",
)


def _program(policy: RewardPolicy) -> ProgramSchema:
    return ProgramSchema(
        per_referral=policy.per_referral,
        welcome=policy.welcome,
        tiers=[
            TierSchema(name=t.name, threshold=t.threshold, amount=t.amount) for t in policy.tiers
        ],
    )


@router.get("/reward-program")
async def get_reward_program(
    request: Request, settings: SettingsDep, session: SessionDep, _: AdminDep
) -> ProgramSchema:
    """The reward amounts and tiers in force."""
    return _program(await rewards.current_policy(session, settings))


@router.put("/reward-program")
async def put_reward_program(
    body: ProgramSchema, request: Request, settings: SettingsDep, session: SessionDep, _: AdminDep
) -> ProgramSchema:
    """Set the amounts and tiers for referrals confirmed from now on (granted rewards stay).
    Other instances follow within seconds."""
    policy = RewardPolicy(
        per_referral=body.per_referral,
        welcome=body.welcome,
        tiers=tuple(
            sorted(
                (Tier(t.name, t.threshold, t.amount) for t in body.tiers), key=lambda t: t.threshold
            )
        ),
    )
    policy = await rewards.set_program(session=session, settings=settings, policy=policy)
    await session.commit()
    return _program(policy)


@router.delete("/reward-program")
async def reset_reward_program(
    request: Request, settings: SettingsDep, session: SessionDep, _: AdminDep
) -> ProgramSchema:
    """Back to the amounts and tiers in the settings."""
    policy = await rewards.set_program(session=session, settings=settings, policy=None)
    await session.commit()
    return _program(policy)


async def _filter(
    session: AsyncSession,
    status: ReferralStatus | None,
    referrer_id: str | None,
    campaign: str | None,
    since: datetime | None,
    until: datetime | None,
) -> service.ReferralFilter | None:
    """The filter; None when it names a referrer nobody is (nothing can match)."""
    referrer = None
    if referrer_id is not None:
        referrer = await users_service.find_by_api_id(session=session, api_id=referrer_id)
        if referrer is None:
            return None
    campaign_id = None
    if campaign is not None:
        campaign_id = (await campaigns.by_slug(session=session, slug=campaign)).id
    return service.ReferralFilter(status, referrer, campaign_id, since, until)


def _read(row: service.ReferralRow) -> ReferralRead:
    referral = row.referral
    return ReferralRead(
        id=referral.id,
        referrer_id=row.referrer_id,
        referred_id=row.referred_id,
        status=referral.status,
        reason=referral.reason,
        source=referral.source,
        campaign=row.campaign,
        created_at=referral.created_at,
        confirmed_at=referral.confirmed_at,
    )


async def csv_lines(
    factory: async_sessionmaker[AsyncSession], where: service.ReferralFilter | None
) -> AsyncIterator[str]:
    """Matching referrals as CSV text (header first), read page by page in a session of its
    own (the API's export and the dashboard's share it). None: the header only."""
    buffer = io.StringIO()
    writer = csv_export.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    if where is not None:
        before: int | None = None
        async with factory() as reader:
            while rows := await service.list_referrals(
                session=reader, where=where, before_id=before, limit=1000
            ):
                for row in rows:
                    item = _read(row)
                    writer.writerow(
                        [
                            item.id,
                            item.referrer_id,
                            item.referred_id,
                            item.status,
                            item.reason,
                            item.source,
                            item.campaign,
                            item.created_at,
                            item.confirmed_at,
                        ]
                    )
                before = rows[-1].referral.id
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
    yield buffer.getvalue()


Status = Annotated[ReferralStatus | None, Query(description="Only referrals in this state.")]
ReferrerId = Annotated[
    str | None, Query(max_length=128, pattern=NO_NUL, description="Only this referrer's.")
]
CampaignQuery = Annotated[
    str | None, Query(max_length=64, pattern=NO_NUL, description="A campaign's slug.")
]
Since = Annotated[UTCDatetime | None, Query(description="Created at or after (ISO 8601).")]
Until = Annotated[UTCDatetime | None, Query(description="Created before (ISO 8601).")]


@router.get("/referrals", responses=responses(404))
async def list_referrals(
    session: SessionDep,
    _: AdminDep,
    status: Status = None,
    referrer_id: ReferrerId = None,
    campaign: CampaignQuery = None,
    since: Since = None,
    until: Until = None,
    cursor: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> ReferralPage:
    """Referrals, newest first, a page at a time (`status=review` is the review queue)."""
    where = await _filter(session, status, referrer_id, campaign, since, until)
    if where is None:
        return ReferralPage(items=[], next_cursor=None)
    rows = await service.list_referrals(
        session=session, where=where, before_id=cursor, limit=limit + 1
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return ReferralPage(
        items=[_read(row) for row in rows], next_cursor=rows[-1].referral.id if more else None
    )


@router.get(
    "/referrals.csv",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/csv": {}}, "description": "One referral per line."},
        **responses(404),
    },
)
async def export_referrals(
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
    _: AdminDep,
    status: Status = None,
    referrer_id: ReferrerId = None,
    campaign: CampaignQuery = None,
    since: Since = None,
    until: Until = None,
) -> StreamingResponse:
    """Every matching referral as CSV (same filters as the list), streamed page by page."""
    where = await _filter(session, status, referrer_id, campaign, since, until)
    factory = runtime.session_factory
    return StreamingResponse(
        csv_lines(factory, where),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="referrals.csv"'},
    )


async def _decided(session: AsyncSession, referral_id: int) -> ReferralRead:
    rows = await service.list_referrals(
        session=session, where=service.ReferralFilter(), before_id=referral_id + 1, limit=1
    )
    if not rows or rows[0].referral.id != referral_id:
        raise NotFoundError("referral.not_found")
    return _read(rows[0])


@router.post("/referrals/{referral_id}/approve", responses=responses(404, 409))
async def approve_referral(
    referral_id: ReferralId,
    request: Request,
    settings: SettingsDep,
    session: SessionDep,
    _: AdminDep,
) -> ReferralRead:
    """Confirm a referral that is pending or held for review; rewards follow."""
    await service.review(session=session, referral_id=referral_id, approve=True, settings=settings)
    await session.commit()
    return await _decided(session, referral_id)


@router.post("/referrals/{referral_id}/reject", responses=responses(404, 409))
async def reject_referral(
    referral_id: ReferralId,
    body: RejectCreate,
    request: Request,
    settings: SettingsDep,
    session: SessionDep,
    _: AdminDep,
) -> ReferralRead:
    """Reject a referral that is pending or held for review, saying why. The user stays
    referred (a user is referred once, ever), and nobody is rewarded for it."""
    await service.review(
        session=session,
        referral_id=referral_id,
        approve=False,
        reason=body.reason,
        settings=settings,
    )
    await session.commit()
    return await _decided(session, referral_id)


async def _campaign_read(session: AsyncSession, campaign: Campaign) -> CampaignRead:
    figures = await campaigns.figures(session=session, campaign_id=campaign.id)
    return CampaignRead(
        id=campaign.id,
        slug=campaign.slug,
        name=campaign.name,
        active=campaign.active,
        ends_at=campaign.ends_at,
        created_at=campaign.created_at,
        clicks=figures.clicks,
        unique_clicks=figures.unique_clicks,
        signups=figures.signups,
        confirmed=figures.confirmed,
    )


CampaignSlug = Annotated[str, Path(max_length=64, pattern=NO_NUL)]


@router.post("/campaigns", status_code=201, responses=responses(409))
async def create_campaign(body: CampaignCreate, session: SessionDep, _: AdminDep) -> CampaignRead:
    """A campaign: links made for it (generate-link with `campaign`) carry it along."""
    campaign = await campaigns.create(
        session=session, slug=body.slug, name=body.name, ends_at=body.ends_at
    )
    await session.commit()
    return await _campaign_read(session, campaign)


@router.get("/campaigns")
async def list_campaigns(
    request: Request, runtime: RuntimeDep, session: SessionDep, _: AdminDep
) -> list[CampaignRead]:
    await runtime.service(clicks.ClickBuffer).flush(session)
    return [
        await _campaign_read(session, campaign)
        for campaign in await campaigns.list_all(session=session)
    ]


@router.get("/campaigns/{slug}", responses=responses(404))
async def get_campaign(
    slug: CampaignSlug, request: Request, runtime: RuntimeDep, session: SessionDep, _: AdminDep
) -> CampaignRead:
    """A campaign with its clicks, sign-ups and confirmations."""
    await runtime.service(clicks.ClickBuffer).flush(session)  # the clicks of the last moments too
    return await _campaign_read(session, await campaigns.by_slug(session=session, slug=slug))


@router.patch("/campaigns/{slug}", responses=responses(404))
async def update_campaign(
    slug: CampaignSlug, body: CampaignUpdate, session: SessionDep, _: AdminDep
) -> CampaignRead:
    campaign = await campaigns.by_slug(session=session, slug=slug)
    if body.name is not None:
        campaign.name = body.name
    if body.active is not None:
        campaign.active = body.active
    if "ends_at" in body.model_fields_set:
        campaign.ends_at = body.ends_at
    await session.commit()
    return await _campaign_read(session, campaign)
