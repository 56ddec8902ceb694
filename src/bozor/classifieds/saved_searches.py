"""Saved searches: "tell me when a new ad matches this", and the alerts when one does.

An approved ad alerts each owner of a matching saved search once: one message per person
and ad, however many of their searches match, however often the ad is approved again (each
edit goes back to review) and however often Telegram delivers the approving update. The
`classified_ad_alerts` row is the proof: inserted with ON CONFLICT DO NOTHING, and only an
inserted row queues a message. The seller is not alerted about their own ad.
"""

from __future__ import annotations

import json

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bozor.classifieds.models import Ad, AdState
from bozor.classifieds.search import AdFilters, matches, region_spellings, words
from bozor.classifieds.search_models import AdAlert, SavedSearch
from bozor.db import serialize, upsert_insert
from bozor.errors import ConflictError, InvalidInputError, NotFoundError
from bozor.outbox import service as outbox
from bozor.users.models import User

SEARCH_ALERT = "ads.search_alert"  # the outbox kind of an alert


class SavedSearchLimitError(ConflictError):
    code = "adsearch.saved_limit"


class SavedSearchNotFoundError(NotFoundError):
    code = "adsearch.saved_not_found"


class EmptySearchError(InvalidInputError):
    """A search without any filter would alert on every ad."""

    code = "adsearch.saved_empty"


def filters_of(saved: SavedSearch) -> AdFilters:
    """The filters a saved search stands for."""
    return AdFilters(
        category=saved.category,
        region=saved.region,
        price_min=saved.price_min,
        price_max=saved.price_max,
        currency=saved.currency,
        text=saved.text,
    )


def key_of(filters: AdFilters) -> str:
    """The filters in one canonical string: two searches that find the same ads have one key
    (the region in any language, the words in any case and order)."""
    region = None
    if filters.region:
        region = "|".join(sorted(region_spellings(filters.region))).lower()
    return json.dumps(
        [
            filters.category,
            region,
            filters.price_min,
            filters.price_max,
            filters.currency if filters.priced else None,
            sorted(words(filters.text)),
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )


async def create(
    *, session: AsyncSession, user_id: int, filters: AdFilters, limit: int
) -> SavedSearch:
    """Save a search for a user; the same search saved again is the one saved before.
    Refused without any filter, and beyond `limit` searches per user."""
    if filters.empty:
        raise EmptySearchError()
    key = key_of(filters)
    if len(key) > 400:
        raise InvalidInputError("adsearch.text_too_long", max=100)
    # One at a time per user: two simultaneous saves cannot both pass the limit.
    await serialize(session, f"saved-searches:{user_id}", sqlite_table="classified_saved_searches")
    existing = await session.scalar(
        select(SavedSearch).where(SavedSearch.user_id == user_id, SavedSearch.key == key)
    )
    if existing is not None:
        return existing
    count = await session.scalar(select(func.count()).where(SavedSearch.user_id == user_id))
    if int(count or 0) >= limit:
        raise SavedSearchLimitError(limit=limit)
    saved = SavedSearch(
        user_id=user_id,
        key=key,
        category=filters.category,
        region=filters.region.strip() if filters.region else None,
        price_min=filters.price_min,
        price_max=filters.price_max,
        currency=filters.currency,
        text=" ".join(filters.text.split()) if filters.text else None,
    )
    session.add(saved)
    await session.flush()
    return saved


async def list_for(*, session: AsyncSession, user_id: int) -> list[SavedSearch]:
    """A user's saved searches, oldest first."""
    return list(
        await session.scalars(
            select(SavedSearch).where(SavedSearch.user_id == user_id).order_by(SavedSearch.id)
        )
    )


async def get_own(*, session: AsyncSession, user_id: int, saved_search_id: int) -> SavedSearch:
    """One of the user's saved searches (SavedSearchNotFoundError if not theirs or gone)."""
    saved = await session.get(SavedSearch, saved_search_id)
    if saved is None or saved.user_id != user_id:
        raise SavedSearchNotFoundError()
    return saved


async def remove(*, session: AsyncSession, user_id: int, saved_search_id: int) -> bool:
    """Delete one of the user's saved searches; False if it was not there (already deleted,
    or someone else's)."""
    result = await session.execute(
        delete(SavedSearch).where(SavedSearch.id == saved_search_id, SavedSearch.user_id == user_id)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def alert_matching(*, session: AsyncSession, ad: Ad) -> int:
    """Queue one alert for each owner of a saved search the (just published) ad matches,
    except its seller and people the bot cannot reach; how many were queued."""
    if ad.state != AdState.PUBLISHED:
        return 0
    rows = await session.execute(
        select(SavedSearch, User.telegram_id)
        .join(User, User.id == SavedSearch.user_id)
        .where(
            SavedSearch.user_id != ad.user_id,
            or_(SavedSearch.category.is_(None), SavedSearch.category == ad.category),
            User.telegram_id.is_not(None),
            User.is_blocked.is_(False),
            User.is_banned.is_(False),
        )
        .order_by(SavedSearch.id)
    )
    first: dict[int, tuple[SavedSearch, int]] = {}  # per user: their oldest matching search
    for saved, telegram_id in rows.all():
        if telegram_id is None:
            continue
        if saved.user_id not in first and matches(filters_of(saved), ad):
            first[saved.user_id] = (saved, telegram_id)
    if not first:
        return 0
    inserted = await session.scalars(
        upsert_insert(session, AdAlert.__table__)
        .values(
            [
                {"user_id": user_id, "ad_id": ad.id, "saved_search_id": saved.id}
                for user_id, (saved, _) in first.items()
            ]
        )
        .on_conflict_do_nothing(index_elements=["user_id", "ad_id"])
        .returning(AdAlert.user_id)
    )
    queued = 0
    for user_id in inserted.all():
        saved, telegram_id = first[user_id]
        await outbox.enqueue(
            session=session,
            chat_id=telegram_id,
            kind=SEARCH_ALERT,
            params={"ad_id": ad.id, "saved_search_id": saved.id},
        )
        queued += 1
    return queued
