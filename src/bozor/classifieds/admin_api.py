"""Admin routes of the classifieds: the review queue, ad detail, approve / reject (the same
service functions as the bot's buttons, so the first decision wins either way), search and
bans."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from bozor.api.auth import AdminDep, SessionDep
from bozor.api.deps import SettingsDep
from bozor.api.problems import responses
from bozor.classifieds import service
from bozor.classifieds.exceptions import AdNotFoundError
from bozor.classifieds.models import Ad, AdState
from bozor.classifieds.schemas import (
    AdDetail,
    AdRead,
    ApproveBody,
    BanBody,
    BanRead,
    DecisionRead,
    Finding,
    PhotoRead,
    PostRead,
    RejectBody,
)
from bozor.classifieds.settings import ClassifiedsSettings
from bozor.errors import NotFoundError
from bozor.users.models import User

router = APIRouter(
    prefix="/api/v1/admin/classifieds",
    tags=["admin: classifieds"],
    responses=responses(401, 403, 429),
)
AdId = Annotated[int, Path(ge=1, le=2**63 - 1)]
TelegramId = Annotated[int, Path(ge=1, le=2**63 - 1)]


async def _read(session: SessionDep, ad: Ad) -> AdRead:
    owner = await session.get(User, ad.user_id)
    photos = await service.photos(session=session, ad_id=ad.id)
    return AdRead(
        id=ad.id,
        state=ad.state,
        version=ad.version,
        owner_telegram_id=owner.telegram_id if owner else None,
        owner_name=owner.full_name if owner else "—",
        category=ad.category,
        title=ad.title,
        description=ad.description,
        price=ad.price,
        currency=ad.currency,
        contact_phone=ad.contact_phone,
        contact_username=ad.contact_username,
        region=ad.region,
        submitted_at=ad.submitted_at,
        published_at=ad.published_at,
        closed_at=ad.closed_at,
        reject_reason=ad.reject_reason,
        decided_by=ad.decided_by,
        repost_count=ad.repost_count,
        findings=[Finding.model_validate(f) for f in ad.findings],
        photos=len(photos),
    )


@router.get("/queue")
async def get_queue(
    session: SessionDep,
    _: AdminDep,
    after_id: Annotated[int, Query(ge=0, le=2**63 - 1, description="Page on from this ad id.")] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[AdRead]:
    """Ads waiting for review, oldest first, with their pre-screening findings."""
    return [
        await _read(session, ad)
        for ad in await service.queue(session=session, limit=limit, after_id=after_id)
    ]


@router.get("/ads")
async def search_ads(
    session: SessionDep,
    _: AdminDep,
    telegram_id: Annotated[
        int | None, Query(ge=1, le=2**63 - 1, description="The owner's Telegram id.")
    ] = None,
    username: Annotated[
        str | None, Query(max_length=64, description="The owner's @username.")
    ] = None,
    state: Annotated[AdState | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[AdRead]:
    """Ads, newest first, optionally of one owner (by Telegram id or username) or state."""
    user_id: int | None = None
    if telegram_id is not None or username:
        who = str(telegram_id) if telegram_id is not None else str(username)
        owner = await service.find_user(session=session, who=who)
        if owner is None:
            return []
        user_id = owner.id
    ads = await service.search(session=session, user_id=user_id, state=state, limit=limit)
    return [await _read(session, ad) for ad in ads]


@router.get("/ads/{ad_id}", responses=responses(404))
async def get_ad(ad_id: AdId, session: SessionDep, _: AdminDep) -> AdDetail:
    """One ad with its photos, channel posts and decisions."""
    ad = await service.get(session=session, ad_id=ad_id)
    photos = await service.photos(session=session, ad_id=ad.id)
    posts = await service.posts(session=session, ad_id=ad.id)
    decisions = await service.decisions(session=session, ad_id=ad.id)
    return AdDetail(
        **(await _read(session, ad)).model_dump(),
        photo_list=[
            PhotoRead(position=p.position, file_id=p.file_id, storage_key=p.storage_key)
            for p in photos
        ],
        posts=[
            PostRead(kind=p.kind, url=p.url, created_at=p.created_at, stamp=p.stamp) for p in posts
        ],
        decisions=[
            DecisionRead(
                version=d.version,
                approved=d.approved,
                reason=d.reason,
                admin_name=d.admin_name,
                created_at=d.created_at,
            )
            for d in decisions
        ],
    )


@router.post("/ads/{ad_id}/approve", responses=responses(404, 409))
async def approve(
    ad_id: AdId,
    body: ApproveBody,
    request: Request,
    settings: SettingsDep,
    session: SessionDep,
    caller: AdminDep,
) -> AdRead:
    """Approve an ad under review: it is published to the channel and its owner told with the
    link. 409 when an admin decided first (or the ad changed since `version`)."""
    decided = await service.decide(
        session=session,
        ad_id=ad_id,
        approve=True,
        admin_name=f"API key #{caller.key_id}",
        admin_chat_id=None,
        channel=ClassifiedsSettings.of(settings).channel_id,
        version=body.version,
    )
    await session.commit()
    return await _read(session, decided.ad)


@router.post("/ads/{ad_id}/reject", responses=responses(404, 409, 422))
async def reject(
    ad_id: AdId,
    body: RejectBody,
    request: Request,
    settings: SettingsDep,
    session: SessionDep,
    caller: AdminDep,
) -> AdRead:
    """Reject an ad under review with a reason its owner is told. 409 when an admin decided
    first (or the ad changed since `version`)."""
    decided = await service.decide(
        session=session,
        ad_id=ad_id,
        approve=False,
        admin_name=f"API key #{caller.key_id}",
        admin_chat_id=None,
        channel=ClassifiedsSettings.of(settings).channel_id,
        reason=body.reason,
        version=body.version,
    )
    await session.commit()
    return await _read(session, decided.ad)


@router.get("/bans")
async def list_bans(session: SessionDep, _: AdminDep) -> list[BanRead]:
    """Users who may not post ads, newest ban first."""
    return [
        BanRead(
            telegram_id=user.telegram_id,
            reason=ban.reason,
            banned_by=ban.banned_by,
            created_at=ban.created_at,
        )
        for ban, user in await service.bans(session=session)
    ]


@router.post("/bans", responses=responses(404, 422))
async def ban_user(body: BanBody, session: SessionDep, caller: AdminDep) -> BanRead:
    """Stop a user (by Telegram id) from posting ads; banning twice changes nothing."""
    user = await service.find_user(session=session, who=str(body.telegram_id))
    if user is None:
        raise NotFoundError("ads.user_unknown")
    ban = await service.ban(
        session=session, user=user, reason=body.reason, by=f"API key #{caller.key_id}"
    )
    await session.commit()
    return BanRead(
        telegram_id=user.telegram_id,
        reason=ban.reason,
        banned_by=ban.banned_by,
        created_at=ban.created_at,
    )


@router.delete("/bans/{telegram_id}", status_code=204, responses=responses(404))
async def unban_user(telegram_id: TelegramId, session: SessionDep, _: AdminDep) -> None:
    """Let a banned user post ads again."""
    user = await service.find_user(session=session, who=str(telegram_id))
    if user is None or not await service.unban(session=session, user=user):
        raise AdNotFoundError(id=telegram_id)
    await session.commit()
