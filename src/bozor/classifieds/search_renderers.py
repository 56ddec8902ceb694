"""Outbox renderers of saved-search alerts and relayed buyer–seller messages, and how a
saved search reads."""

from __future__ import annotations

from functools import partial
from typing import Any

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bozor.classifieds.categories import Categories
from bozor.classifieds.contact import CONTACT_MESSAGE
from bozor.classifieds.models import Ad, AdState, ChannelPost
from bozor.classifieds.saved_searches import SEARCH_ALERT
from bozor.classifieds.search_models import ContactMessage, ContactThread, SavedSearch
from bozor.classifieds.texts import format_price
from bozor.i18n import Translator
from bozor.miniapp.buttons import open_app_button
from bozor.outbox.worker import Outgoing, Renderer
from bozor.settings import Settings
from bozor.telegram_limits import fit_button
from bozor.users import service as users_service
from bozor.users.models import User

UNSUBSCRIBE = "ss:off:"  # + saved search id
SHOW_AD = "ad:v:"  # + ad id
REPLY = "cm:r:"  # + thread id


def describe(t: Translator, saved: SavedSearch, kinds: Categories) -> str:
    """A saved search in a few words: "Electronics · Fergana · up to 1 000 000 UZS · iphone"."""
    parts = []
    if saved.category:
        parts.append(kinds.name(t.language, saved.category))
    if saved.region:
        parts.append(saved.region)
    low, high = saved.price_min, saved.price_max
    if low is not None and high is not None:
        parts.append(
            t(
                "adsearch.price_between",
                low=format_price(t, low, saved.currency),
                high=format_price(t, high, saved.currency),
            )
        )
    elif low is not None:
        parts.append(t("adsearch.price_from", price=format_price(t, low, saved.currency)))
    elif high is not None:
        parts.append(t("adsearch.price_to", price=format_price(t, high, saved.currency)))
    if saved.text:
        parts.append(saved.text)
    return " · ".join(parts) or t("adsearch.any")


async def _reader(session: AsyncSession, chat_id: int) -> Translator:
    user = await users_service.get_by_telegram_id(session=session, telegram_id=chat_id)
    return Translator(users_service.language_of(user))


def _button(text: str, **kwargs: Any) -> list[InlineKeyboardButton]:
    return [InlineKeyboardButton(text=fit_button(text), **kwargs)]


async def search_alert(
    session: AsyncSession,
    chat_id: int,
    batch: list[dict[str, Any]],
    *,
    settings: Settings,
    kinds: Categories,
) -> Outgoing | None:
    """The alert that a new ad matches a saved search, with the ad (in the chat, in the
    channel and, when it is set up, in the Mini App) and a one-tap unsubscribe. Not sent if
    the ad was closed meanwhile."""
    params = batch[-1]
    ad = await session.get(Ad, int(params["ad_id"]))
    if ad is None or ad.state != AdState.PUBLISHED:
        return None
    saved = await session.get(SavedSearch, int(params["saved_search_id"]))
    if saved is None:  # unsubscribed meanwhile
        return None
    t = await _reader(session, chat_id)
    rows = [_button(t("adsearch.alert_show"), callback_data=f"{SHOW_AD}{ad.id}")]
    url = await session.scalar(
        select(ChannelPost.url)
        .where(ChannelPost.ad_id == ad.id, ChannelPost.stamp.is_(None))
        .order_by(ChannelPost.id.desc())
        .limit(1)
    )
    if url:
        rows.append(_button(t("adsearch.alert_post"), url=url))
    if (app := open_app_button(settings, t, f"classifieds/ad/{ad.id}")) is not None:
        rows.append([app])
    rows.append(_button(t("adsearch.alert_unsubscribe"), callback_data=f"{UNSUBSCRIBE}{saved.id}"))
    text = t(
        "adsearch.alert",
        search=describe(t, saved, kinds),
        title=ad.title,
        price=format_price(t, ad.price, ad.currency),
        region=ad.region,
    )
    return Outgoing(text, InlineKeyboardMarkup(inline_keyboard=rows))


async def contact_message(
    session: AsyncSession, chat_id: int, batch: list[dict[str, Any]]
) -> Outgoing | None:
    """A relayed message, as plain text (nothing the sender typed is read as markup), with
    a Reply button."""
    message = await session.get(ContactMessage, int(batch[-1]["message_id"]))
    if message is None:
        return None
    thread = await session.get(ContactThread, message.thread_id)
    ad = await session.get(Ad, thread.ad_id) if thread else None
    if thread is None or ad is None:
        return None
    t = await _reader(session, chat_id)
    if message.from_buyer:
        buyer = await session.get(User, message.sender_id)
        text = t(
            "adsearch.to_seller",
            name=buyer.first_name if buyer and buyer.first_name else "—",
            id=ad.id,
            title=ad.title,
            text=message.text,
        )
    else:
        text = t("adsearch.to_buyer", title=ad.title, text=message.text)
    markup = InlineKeyboardMarkup(
        inline_keyboard=[_button(t("adsearch.reply_button"), callback_data=f"{REPLY}{thread.id}")]
    )
    return Outgoing(text, markup)


def create_renderers(settings: Settings, kinds: Categories) -> dict[str, Renderer]:
    return {
        SEARCH_ALERT: partial(search_alert, settings=settings, kinds=kinds),
        CONTACT_MESSAGE: contact_message,
    }
