"""A message Telegram accepted while its ad changed: the message's record (written by the
outbox's after-send hook) and the change's edits must not miss each other.

Each test holds the change's transaction open while the record is written (`while_open`), then
commits: on PostgreSQL, without the ad's row lock, both would commit having seen neither."""

from __future__ import annotations

from datetime import UTC, datetime

from aiogram.types import Chat, Message
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from tests.classifieds.helpers import published

from bozor.classifieds import categories, notify, service
from bozor.classifieds.bot import renderers
from bozor.classifieds.models import Ad, ChannelPost, PostKind
from bozor.classifieds.settings import ClassifiedsSettings
from bozor.outbox.models import OutboxMessage
from bozor.testing import ADMIN_ID, Harness, while_open
from bozor.users import service as users_service
from bozor.users.models import User


async def submitted(bozor: Harness, name: str, *, approve: bool) -> tuple[User, Ad]:
    """A user and their ad "Bicycle", in review or (with `approve`) published."""
    telegram_id = await bozor.user(name)
    await bozor.start(telegram_id)
    [ad_id] = await published(bozor, telegram_id, ["Bicycle"], approve=approve)
    async with bozor.db() as session:
        user = await users_service.get_by_telegram_id(session=session, telegram_id=telegram_id)
        ad = await session.get(Ad, ad_id)
    assert user is not None and ad is not None
    return user, ad


async def test_a_post_sent_while_its_ad_is_sold_is_stamped(bozor: Harness) -> None:
    user, ad = await submitted(bozor, "Sardor", approve=True)
    channel = ClassifiedsSettings.of(bozor.settings).channel_id
    assert channel is not None

    async def repost_recorded(session: AsyncSession) -> None:
        await service.record_post(
            session=session,
            ad_id=ad.id,
            version=1,
            kind=PostKind.REPOST,
            chat_id=channel,
            message_id=10_000,
            has_photos=False,
            url="https://t.me/c/1/10000",
        )

    await while_open(
        bozor.db,
        lambda session: service.mark_sold(session=session, ad_id=ad.id, user=user),
        repost_recorded,
    )
    async with bozor.db() as session:
        posts = await session.scalars(select(ChannelPost).where(ChannelPost.ad_id == ad.id))
        assert {(post.kind, post.message_id, post.stamp) for post in posts} >= {
            (PostKind.REPOST, 10_000, "sold")
        }


async def test_a_review_copy_sent_while_the_ad_is_decided_shows_the_decision(
    bozor: Harness,
) -> None:
    _, ad = await submitted(bozor, "Malika", approve=False)
    async with bozor.db() as session:
        review = await renderers.admin_review(
            session,
            ADMIN_ID,
            [{"ad_id": ad.id, "version": ad.version}],
            kinds=categories.of(bozor.settings),
        )
    assert review is not None and review.on_sent is not None
    on_sent = review.on_sent
    copy = Message(
        message_id=20_000,
        date=datetime.now(UTC),
        chat=Chat(id=ADMIN_ID, type="private"),
        text="review",
    )

    async def decided(session: AsyncSession) -> None:
        await service.decide(
            session=session,
            ad_id=ad.id,
            approve=False,
            reason="spam",
            admin_name="Other admin",
            admin_chat_id=None,
            channel=ClassifiedsSettings.of(bozor.settings).channel_id,
        )

    await while_open(bozor.db, decided, lambda session: on_sent(session, [copy]))
    async with bozor.db() as session:
        edits = [
            row.params
            for row in await session.scalars(
                select(OutboxMessage).where(OutboxMessage.kind == notify.ADMIN_DECIDED)
            )
        ]
    assert {"ad_id": ad.id, "version": ad.version, "message_id": 20_000} in edits
