"""Outbox renderers: each turns a queued row into the message as it should read when sent."""

from __future__ import annotations

from functools import partial
from typing import Any

from aiogram.types import InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from bozor.classifieds import categories, notify, search_renderers, service
from bozor.classifieds.bot.texts_and_keyboards import (
    decided_text,
    reason_text,
    review_keyboard,
    review_text,
)
from bozor.classifieds.categories import Categories
from bozor.classifieds.models import Ad, AdminCopy, AdState, ChannelPost, PostKind
from bozor.classifieds.texts import caption, id_tag, post_url
from bozor.db import upsert_insert
from bozor.i18n import Translator
from bozor.outbox.worker import Outgoing, Renderer
from bozor.settings import Settings
from bozor.users import service as users_service
from bozor.users.models import User


async def _reader(session: AsyncSession, chat_id: int) -> Translator:
    user = await users_service.get_by_telegram_id(session=session, telegram_id=chat_id)
    return Translator(users_service.language_of(user))


async def _ad(session: AsyncSession, params: dict[str, Any]) -> Ad | None:
    return await session.get(Ad, int(params["ad_id"]))


async def admin_photos(
    session: AsyncSession, chat_id: int, batch: list[dict[str, Any]]
) -> Outgoing | None:
    params = batch[-1]
    ad = await _ad(session, params)
    if ad is None or ad.state != AdState.REVIEW or ad.version != int(params["version"]):
        return None
    photos = await service.photos(session=session, ad_id=ad.id)
    if not photos:
        return None
    return Outgoing(id_tag(ad.language, ad.id), photos=tuple(p.file_id for p in photos))


async def admin_review(
    session: AsyncSession, chat_id: int, batch: list[dict[str, Any]], *, kinds: Categories
) -> Outgoing | None:
    params = batch[-1]
    ad = await _ad(session, params)
    if ad is None:
        return None
    version = int(params["version"])
    t = await _reader(session, chat_id)
    owner = await session.get(User, ad.user_id)
    if ad.state != AdState.REVIEW or ad.version != version:
        return Outgoing(decided_text(t, ad, owner, version, kinds))

    async def remember(hook_session: AsyncSession, sent: list[Message]) -> None:
        table = AdminCopy.__table__
        assert isinstance(table, Table)
        for message in sent[:1]:
            await hook_session.execute(
                upsert_insert(hook_session, table)
                .values(
                    ad_id=ad.id, version=version, chat_id=chat_id, message_id=message.message_id
                )
                .on_conflict_do_nothing(index_elements=["ad_id", "version", "chat_id"])
            )
        # Decided while this copy was on its way: show it at once.
        fresh = await service.locked_after_write(hook_session, ad.id)
        if fresh is not None and (fresh.state != AdState.REVIEW or fresh.version != version):
            await notify.decided(
                session=hook_session, ad=fresh, version=version, skip_chat=None, only_chat=chat_id
            )

    return Outgoing(
        review_text(t, ad, owner, kinds),
        review_keyboard(t, ad.id, version),
        on_sent=remember,
    )


async def admin_decided(
    session: AsyncSession, chat_id: int, batch: list[dict[str, Any]], *, kinds: Categories
) -> Outgoing | None:
    params = batch[-1]
    ad = await _ad(session, params)
    if ad is None:
        return None
    t = await _reader(session, chat_id)
    owner = await session.get(User, ad.user_id)
    text = decided_text(t, ad, owner, int(params["version"]), kinds)
    return Outgoing(text, edit_message_id=int(params["message_id"]))


async def channel_post(
    session: AsyncSession, chat_id: int, batch: list[dict[str, Any]], *, kinds: Categories
) -> Outgoing | None:
    params = batch[-1]
    ad = await _ad(session, params)
    version = int(params["version"])
    if ad is None or ad.state != AdState.PUBLISHED or ad.version != version:
        return None  # sold, withdrawn or changed before the post went out
    photos = tuple(p.file_id for p in await service.photos(session=session, ad_id=ad.id))
    kind = PostKind(str(params["kind"]))
    ad_id = ad.id

    async def record(hook_session: AsyncSession, sent: list[Message]) -> None:
        if not sent:
            return
        first = sent[0]
        await service.record_post(
            session=hook_session,
            ad_id=ad_id,
            version=version,
            kind=kind,
            chat_id=chat_id,
            message_id=first.message_id,
            has_photos=bool(photos),
            url=post_url(chat_id, first.chat.username, first.message_id),
        )

    return Outgoing(caption(Translator(ad.language), ad, kinds), photos=photos, on_sent=record)


async def stamp(
    session: AsyncSession, chat_id: int, batch: list[dict[str, Any]], *, kinds: Categories
) -> Outgoing | None:
    post = await session.get(ChannelPost, int(batch[-1]["post_id"]))
    if post is None or post.stamp is None:
        return None
    ad = await session.get(Ad, post.ad_id)
    if ad is None:
        return None
    text = caption(Translator(ad.language), ad, kinds, stamp=post.stamp)
    return Outgoing(text, edit_message_id=post.message_id, edit_caption=post.has_photos)


async def published(
    session: AsyncSession, chat_id: int, batch: list[dict[str, Any]]
) -> Outgoing | None:
    params = batch[-1]
    ad = await _ad(session, params)
    if ad is None:
        return None
    t = await _reader(session, chat_id)
    url = str(params.get("url") or "")
    key = "ads.published_link" if url else "ads.published"
    return Outgoing(t(key, id=ad.id, title=ad.title, url=url))


async def rejected(
    session: AsyncSession, chat_id: int, batch: list[dict[str, Any]]
) -> Outgoing | None:
    ad = await _ad(session, batch[-1])
    if ad is None:
        return None
    t = await _reader(session, chat_id)
    return Outgoing(
        t("ads.rejected_notice", id=ad.id, title=ad.title, reason=reason_text(t, ad.reject_reason))
    )


async def sold_check(
    session: AsyncSession, chat_id: int, batch: list[dict[str, Any]]
) -> Outgoing | None:
    params = batch[-1]
    ad = await _ad(session, params)
    if ad is None or ad.state != AdState.PUBLISHED:
        return None
    t = await _reader(session, chat_id)
    check_id = int(params["check_id"])
    builder = InlineKeyboardBuilder()
    builder.button(text=t("ads.check_yes"), callback_data=f"sc:y:{check_id}")
    builder.button(text=t("ads.check_no"), callback_data=f"sc:n:{check_id}")
    builder.adjust(2)
    markup: InlineKeyboardMarkup = builder.as_markup()
    return Outgoing(t("ads.check_question", id=ad.id, title=ad.title), markup)


async def expired(
    session: AsyncSession, chat_id: int, batch: list[dict[str, Any]]
) -> Outgoing | None:
    ad = await _ad(session, batch[-1])
    if ad is None:
        return None
    t = await _reader(session, chat_id)
    return Outgoing(t("ads.expired_notice", id=ad.id, title=ad.title))


def create_renderers(settings: Settings) -> dict[str, Renderer]:
    """The feature's renderers; those that name a category know the configured names."""
    kinds = categories.of(settings)
    return {
        notify.ADMIN_PHOTOS: admin_photos,
        notify.ADMIN_REVIEW: partial(admin_review, kinds=kinds),
        notify.ADMIN_DECIDED: partial(admin_decided, kinds=kinds),
        notify.CHANNEL_POST: partial(channel_post, kinds=kinds),
        notify.STAMP: partial(stamp, kinds=kinds),
        notify.PUBLISHED: published,
        notify.REJECTED: rejected,
        notify.SOLD_CHECK: sold_check,
        notify.EXPIRED: expired,
        **search_renderers.create_renderers(settings, kinds),
    }
