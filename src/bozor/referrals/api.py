"""The referral REST API: thin routes over the same service the bot uses."""

from __future__ import annotations

from fastapi import APIRouter, Request, status

from bozor.api.auth import IntegratorDep, SessionDep
from bozor.errors import NotFoundError
from bozor.referrals import service
from bozor.referrals.models import Referral
from bozor.referrals.schemas import LinkCreate, LinkRead, ReferralCreate, ReferralRead, StatsRead
from bozor.users import service as users_service
from bozor.users.models import User

router = APIRouter(prefix="/api/v1", tags=["referrals"])


async def _user(session: SessionDep, api_id: str) -> User:
    user = await users_service.find_by_api_id(session=session, api_id=api_id)
    if user is None:
        raise NotFoundError("error.not_found")
    return user


@router.post("/generate-link")
async def generate_link(
    body: LinkCreate, request: Request, session: SessionDep, _: IntegratorDep
) -> LinkRead:
    """The referral link of a user (created on first use)."""
    if body.user_id.startswith("tg:"):
        user = await _user(session, body.user_id)
    else:
        user, _created = await users_service.get_or_create_external(
            session=session, external_id=body.user_id
        )
    await session.commit()
    me = await request.app.state.runtime.bot.me()
    return LinkRead(
        user_id=body.user_id,
        code=user.referral_code,
        telegram_link=f"https://t.me/{me.username}?start={user.referral_code}",
    )


async def _register(body: ReferralCreate, session: SessionDep) -> ReferralRead:
    if body.user_id.startswith("tg:"):
        referred, created = await _user(session, body.user_id), False
    else:
        referred, created = await users_service.get_or_create_external(
            session=session, external_id=body.user_id
        )
    referral, _owner = await service.register_referral(
        session=session,
        referred=referred,
        code=body.code,
        referred_is_new=created,
        allow_existing=True,  # the integrator decides who is signing up
        source="api",
    )
    referrer = await session.get_one(User, referral.referrer_id)
    await session.commit()
    return _read(referral, referrer, referred)


def _read(referral: Referral, referrer: User, referred: User) -> ReferralRead:
    return ReferralRead(
        id=referral.id,
        referrer_id=users_service.api_id_of(referrer),
        referred_id=users_service.api_id_of(referred),
        status=referral.status,
        created_at=referral.created_at,
        confirmed_at=referral.confirmed_at,
    )


@router.post("/verify-referral", status_code=status.HTTP_201_CREATED)
async def verify_referral(
    body: ReferralCreate, session: SessionDep, _: IntegratorDep
) -> ReferralRead:
    """A user signed up through a code: check the rules and record the referral once."""
    return await _register(body, session)


@router.post("/process-referral", status_code=status.HTTP_201_CREATED)
async def process_referral(
    body: ReferralCreate, session: SessionDep, _: IntegratorDep
) -> ReferralRead:
    """The same as /verify-referral (the reference names both)."""
    return await _register(body, session)


@router.get("/referral-stats/{user_id}")
async def referral_stats(user_id: str, session: SessionDep, _: IntegratorDep) -> StatsRead:
    """Live figures of one referrer."""
    user = await _user(session, user_id)
    figures = await service.stats(session=session, user_id=user.id)
    return StatsRead(
        user_id=user_id,
        invited=figures.invited,
        confirmed=figures.confirmed,
        pending=figures.pending,
        rank=figures.rank,
    )
