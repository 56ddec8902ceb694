"""Outbox messages of the classifieds feature, written in the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bozor.classifieds.models import Ad, AdminCopy, ChannelPost, PostKind
from bozor.outbox import service as outbox

ADMIN_PHOTOS = "ads.admin_photos"
ADMIN_REVIEW = "ads.admin_review"
ADMIN_DECIDED = "ads.admin_decided"
CHANNEL_POST = "ads.channel_post"
STAMP = "ads.stamp"
PUBLISHED = "ads.published"
REJECTED = "ads.rejected"
SOLD_CHECK = "ads.sold_check"
EXPIRED = "ads.expired"


async def review(*, session: AsyncSession, ad: Ad, admins: Sequence[int], photos: int) -> None:
    """Every admin gets the ad's photos, then the review message with Approve / Reject."""
    for admin in admins:
        if photos:
            await outbox.enqueue(
                session=session,
                chat_id=admin,
                kind=ADMIN_PHOTOS,
                params={"ad_id": ad.id, "version": ad.version},
            )
        await outbox.enqueue(
            session=session,
            chat_id=admin,
            kind=ADMIN_REVIEW,
            params={"ad_id": ad.id, "version": ad.version},
        )


async def decided(
    *,
    session: AsyncSession,
    ad: Ad,
    version: int,
    skip_chat: int | None,
    only_chat: int | None = None,
) -> None:
    """Edit the review messages of the other admins to show who decided (`only_chat`: just
    that admin's copy, one that arrived after the decision)."""
    copies = await session.scalars(
        select(AdminCopy).where(AdminCopy.ad_id == ad.id, AdminCopy.version == version)
    )
    for copy in copies:
        if copy.chat_id != skip_chat and only_chat in (None, copy.chat_id):
            await outbox.enqueue(
                session=session,
                chat_id=copy.chat_id,
                kind=ADMIN_DECIDED,
                params={"ad_id": ad.id, "version": version, "message_id": copy.message_id},
            )


async def channel_post(*, session: AsyncSession, ad: Ad, channel: int, kind: PostKind) -> None:
    await outbox.enqueue(
        session=session,
        chat_id=channel,
        kind=CHANNEL_POST,
        params={"ad_id": ad.id, "version": ad.version, "kind": kind.value},
    )


async def stamp(
    *, session: AsyncSession, ad_id: int, stamp: str, before_version: int | None = None
) -> None:
    """Mark the ad's channel posts (SOLD, withdrawn, expired, outdated) in their captions."""
    query = select(ChannelPost).where(ChannelPost.ad_id == ad_id, ChannelPost.stamp.is_(None))
    if before_version is not None:
        query = query.where(ChannelPost.version < before_version)
    for post in await session.scalars(query):
        post.stamp = stamp
        await outbox.enqueue(
            session=session, chat_id=post.chat_id, kind=STAMP, params={"post_id": post.id}
        )


async def owner(
    *, session: AsyncSession, telegram_id: int | None, kind: str, **params: object
) -> None:
    if telegram_id is not None:
        await outbox.enqueue(session=session, chat_id=telegram_id, kind=kind, params=dict(params))
