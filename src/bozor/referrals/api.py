"""The referral REST API: thin routes over the same service the bot uses."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import JSONResponse, RedirectResponse
from sqlalchemy.ext.asyncio import AsyncSession

from bozor.api.auth import Caller, SessionDep, require, signing_secret
from bozor.api.deps import RuntimeDep, SettingsDep, runtime_of, settings_of
from bozor.api.idempotency import IdempotencyKey, run_once
from bozor.api.problems import responses
from bozor.errors import NotFoundError
from bozor.ledger import service as ledger
from bozor.referrals import campaigns, clicks, rewards, service
from bozor.referrals.clicks import Visit
from bozor.referrals.exceptions import UnknownCodeError
from bozor.referrals.models import Campaign, Referral
from bozor.referrals.schemas import (
    ClaimCreate,
    ClaimRead,
    ClickCreate,
    ClickRead,
    LinkCreate,
    LinkRead,
    ReferralCreate,
    ReferralRead,
    ReferralResult,
    RewardRead,
    RewardsRead,
    StatsRead,
)
from bozor.referrals.scopes import SCOPE
from bozor.referrals.settings import ReferralSettings
from bozor.settings import Settings
from bozor.users import service as users_service
from bozor.users.models import User

router = APIRouter(prefix="/api/v1", tags=["referrals"], responses=responses(401, 403, 429))
public = APIRouter(tags=["links"], responses=responses(429))

IntegratorDep = Annotated[Caller, Depends(require(SCOPE))]


def _secret(request: Request) -> str:
    return signing_secret(settings_of(request))


def _base_url(settings: Settings) -> str:
    return settings.public_url or f"http://{settings.http_host}:{settings.http_port}"


async def _user(session: SessionDep, api_id: str) -> User:
    user = await users_service.find_by_api_id(session=session, api_id=api_id)
    if user is None:
        raise NotFoundError("error.not_found")
    return user


@router.post("/generate-link", responses=responses(404, 409))
async def generate_link(
    body: LinkCreate,
    request: Request,
    runtime: RuntimeDep,
    settings: SettingsDep,
    session: SessionDep,
    _: IntegratorDep,
) -> LinkRead:
    """The referral link of a user (created on first use), optionally for a campaign."""
    if body.user_id.startswith("tg:"):
        user = await _user(session, body.user_id)
    else:
        user, _created = await users_service.get_or_create_external(
            session=session, external_id=body.user_id
        )
    code = user.referral_code
    if body.campaign is not None:
        campaign = await campaigns.by_slug(session=session, slug=body.campaign)
        code = await campaigns.link_code(session=session, user=user, campaign=campaign)
    await session.commit()
    me = await runtime.bot.me()
    return LinkRead(
        user_id=body.user_id,
        code=code,
        web_link=f"{_base_url(settings)}/r/{code}",
        telegram_link=f"https://t.me/{me.username}?start={code}",
        campaign=body.campaign,
    )


@router.post("/track-click", status_code=status.HTTP_201_CREATED)
async def track_click(
    body: ClickCreate, request: Request, session: SessionDep, _: IntegratorDep
) -> ClickRead:
    """Record a click your own site received on a referral link."""
    ip = body.ip or (request.client.host if request.client else "")
    user_agent = (
        request.headers.get("user-agent", "") if body.user_agent is None else body.user_agent
    )
    visit = Visit(ip, user_agent, body.referer, body.utm)
    click, _owner = await clicks.record_click(
        session=session, code=body.code, visit=visit, secret=_secret(request), source="api"
    )
    await session.commit()
    return ClickRead(click_id=click.id, counted=not click.is_bot)


@public.get(
    "/r/{code}",
    status_code=status.HTTP_302_FOUND,
    response_class=RedirectResponse,
    responses={302: {"description": "To the landing page or the bot"}, **responses(404)},
)
async def follow_link(code: str, request: Request) -> RedirectResponse:
    """A referral link: records the click, then redirects (no sign-in needed). Clicks are
    written in batches a few milliseconds later; the figures include them at once."""
    runtime = runtime_of(request)  # not a dependency: the busiest route skips their resolution
    owner = service.known_owner(code)
    if owner is None:
        try:
            async with runtime.session_factory() as session:
                owner = await service.find_referrer(session=session, code=code)
        except UnknownCodeError:
            raise NotFoundError("error.not_found") from None  # for a link, simply not there
    visit = Visit(
        ip=request.client.host if request.client else "",
        user_agent=request.headers.get("user-agent", ""),
        referer=request.headers.get("referer"),
        utm={k: v for k, v in request.query_params.items() if k in clicks.UTM_KEYS},
    )
    runtime.service(clicks.ClickBuffer).add(
        clicks.click_row(owner, visit, _secret(request), "redirect")
    )
    landing = ReferralSettings.of(runtime.settings).landing_url
    if landing:
        target = landing.replace("{code}", code)
    else:
        me = await runtime.bot.me()
        target = f"https://t.me/{me.username}?start={code}"
    return RedirectResponse(
        target, status_code=302, headers={"Cache-Control": "no-store", "Referrer-Policy": "origin"}
    )


async def _register(
    body: ReferralCreate, session: AsyncSession, settings: Settings
) -> ReferralRead:
    if body.user_id.startswith("tg:"):
        referred, created = await _user(session, body.user_id), False
    else:
        referred, created = await users_service.get_or_create_external(
            session=session, external_id=body.user_id, probably_new=True
        )
    referral, referrer = await service.register_referral(
        session=session,
        referred=referred,
        code=body.code,
        referred_is_new=created,
        allow_existing=True,  # the integrator decides who is signing up
        source="api",
        click_id=body.click_id,
        settings=settings,
    )
    campaign = await session.get(Campaign, referral.campaign_id) if referral.campaign_id else None
    return referral_read(referral, referrer.api_id, users_service.api_id_of(referred), campaign)


def referral_read(
    referral: Referral, referrer_id: str, referred_id: str, campaign: Campaign | None
) -> ReferralRead:
    return ReferralRead(
        id=referral.id,
        referrer_id=referrer_id,
        referred_id=referred_id,
        status=referral.status,
        reason=referral.reason,
        source=referral.source,
        campaign=campaign.slug if campaign else None,
        created_at=referral.created_at,
        confirmed_at=referral.confirmed_at,
    )


_REFERRAL_RESPONSES: dict[int | str, dict[str, Any]] = {
    201: {"model": ReferralResult, "description": "Recorded (or replayed for a repeated key)."},
    **responses(403, 404, 409),
}


@router.post(
    "/verify-referral",
    status_code=status.HTTP_201_CREATED,
    response_model=ReferralResult,
    responses=_REFERRAL_RESPONSES,
)
async def verify_referral(
    body: ReferralCreate,
    request: Request,
    session: SessionDep,
    caller: IntegratorDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """A user signed up through a code: check the rules and record the referral once.

    Depending on the rules it is `confirmed` (rewards granted), `pending` or held for
    `review`; a refusal is a problem response saying why.
    """
    return await _verify(body, request, session, caller, idempotency_key)


@router.post(
    "/process-referral",
    status_code=status.HTTP_201_CREATED,
    response_model=ReferralResult,
    responses=_REFERRAL_RESPONSES,
)
async def process_referral(
    body: ReferralCreate,
    request: Request,
    session: SessionDep,
    caller: IntegratorDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """The same as /verify-referral (the reference names both)."""
    return await _verify(body, request, session, caller, idempotency_key)


async def _verify(
    body: ReferralCreate,
    request: Request,
    session: AsyncSession,
    caller: Caller,
    key: str | None,
) -> JSONResponse:
    settings = settings_of(request)

    async def work(session: AsyncSession) -> ReferralResult:
        read = await _register(body, session, settings)
        return ReferralResult.model_validate(read, from_attributes=True)

    return await run_once(
        session=session,
        request=request,
        caller=caller,
        key=key,
        body=body,
        status_code=201,
        work=work,
    )


@router.get("/referral-stats/{user_id}", responses=responses(404))
async def referral_stats(
    user_id: str, request: Request, runtime: RuntimeDep, session: SessionDep, _: IntegratorDep
) -> StatsRead:
    """Live figures of one referrer."""
    await runtime.service(clicks.ClickBuffer).flush(session)  # the clicks of the last moments too
    user = await _user(session, user_id)
    figures = await service.stats(session=session, user_id=user.id)
    visits = await clicks.click_stats(session=session, user_id=user.id)
    points = await rewards.totals(session=session, user_id=user.id)
    return StatsRead(
        user_id=user_id,
        clicks=visits.clicks,
        unique_clicks=visits.unique_clicks,
        bot_clicks=visits.bot_clicks,
        invited=figures.invited,
        confirmed=figures.confirmed,
        pending=figures.pending,
        signup_rate=_rate(figures.invited, visits.unique_clicks),
        confirmation_rate=_rate(figures.confirmed, figures.invited),
        rank=figures.rank,
        rewards_earned=points.earned,
        rewards_claimed=points.claimed,
    )


@router.get("/rewards/{user_id}", responses=responses(404))
async def list_rewards(user_id: str, session: SessionDep, _: IntegratorDep) -> RewardsRead:
    """What a user has earned, and their bonus balance."""
    user = await _user(session, user_id)
    earned = await rewards.list_rewards(session=session, user_id=user.id)
    return RewardsRead(
        user_id=user_id,
        balance=await ledger.balance(session=session, user_id=user.id),
        rewards=[RewardRead.model_validate(reward, from_attributes=True) for reward in earned],
    )


@router.post("/claim-reward", response_model=ClaimRead, responses=responses(403, 404, 409))
async def claim_reward(
    body: ClaimCreate,
    request: Request,
    settings: SettingsDep,
    session: SessionDep,
    caller: IntegratorDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Claim a reward for its owner, once; its points join the user's balance."""

    async def work(session: AsyncSession) -> ClaimRead:
        user = await _user(session, body.user_id)
        reward = await rewards.claim(
            session=session, user=user, reward_id=body.reward_id, settings=settings
        )
        balance = await ledger.balance(session=session, user_id=user.id)
        return ClaimRead(
            reward=RewardRead.model_validate(reward, from_attributes=True), balance=balance
        )

    return await run_once(
        session=session,
        request=request,
        caller=caller,
        key=idempotency_key,
        body=body,
        status_code=200,
        work=work,
    )


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None
