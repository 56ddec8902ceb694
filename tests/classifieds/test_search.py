"""The ad search on both databases: each filter, their combinations, full-text search kept
in step with edits, keyset pages, and only published ads ever shown."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bozor.classifieds import search
from bozor.classifieds.models import Ad, AdState
from bozor.classifieds.search import AdFilters, Cursor
from bozor.db import utcnow
from bozor.errors import InvalidInputError
from bozor.users.models import User

START = utcnow() - timedelta(days=1)

# title, description, category, region, price, currency
ADS: list[tuple[str, str, str, str, int | None, str | None]] = [
    (
        "iPhone 12, 128 GB",
        "Good condition, with the box.",
        "electronics",
        "Fergana",
        7_500_000,
        "UZS",
    ),
    (
        "Samsung Galaxy S21",
        "Screen like new, Wi-Fi works.",
        "electronics",
        "Фергана",
        5_000_000,
        "UZS",
    ),
    ("Диван угловой", "Почти новый, самовывоз из Ташкента.", "home", "Ташкент", 2_000_000, "UZS"),
    ("Oshxona stoli", "Yangi stol, Fargʻona shahrida.", "home", "Fargʻona", 900_000, "UZS"),
    ("Chevrolet Cobalt 2020", "Probeg 40 000 km.", "vehicles", "Tashkent", 11_000, "USD"),
    ("iPhone charger", "Original cable, never used.", "electronics", "Tashkent", 150_000, "UZS"),
    ("Репетитор английского", "Цена договорная, онлайн.", "services", "Samarkand", None, None),
]


async def _user(session: AsyncSession, telegram_id: int) -> User:
    user = User(
        telegram_id=telegram_id, first_name=f"U{telegram_id}", referral_code=f"c{telegram_id}"
    )
    session.add(user)
    await session.flush()
    return user


async def _ads(db: async_sessionmaker[AsyncSession]) -> list[int]:
    """The ADS, published a minute apart in order (the last is the newest); their ids."""
    ids = []
    async with db() as session:
        owner = await _user(session, 501)
        for i, (title, description, category, region, price, currency) in enumerate(ADS):
            at = START + timedelta(minutes=i)
            ad = Ad(
                user_id=owner.id,
                state=AdState.PUBLISHED,
                category=category,
                title=title,
                description=description,
                price=price,
                currency=currency,
                region=region,
                contact_phone="+998901234567",
                submitted_at=at,
                published_at=at,
                updated_at=at,
            )
            session.add(ad)
            await session.flush()
            ids.append(ad.id)
        await session.commit()
    return ids


async def _titles(db: async_sessionmaker[AsyncSession], filters: AdFilters) -> list[str]:
    async with db() as session:
        page = await search.search(session=session, filters=filters, limit=50)
        return [ad.title for ad in page.ads]


def _expected(**kwargs: object) -> list[str]:
    """What the filters should find among ADS, newest first, by `search.matches`."""
    filters = AdFilters(**kwargs)  # type: ignore[arg-type]
    found = []
    for title, description, category, region, price, currency in ADS:
        ad = Ad(
            state=AdState.PUBLISHED,
            title=title,
            description=description,
            category=category,
            region=region,
            price=price,
            currency=currency,
        )
        if search.matches(filters, ad):
            found.append(title)
    return found[::-1]


CASES: list[tuple[dict[str, object], list[str]]] = [
    ({}, [t for t, *_ in ADS][::-1]),
    ({"category": "electronics"}, ["iPhone charger", "Samsung Galaxy S21", "iPhone 12, 128 GB"]),
    # the same region typed in English, Russian or Uzbek, in any case
    ({"region": "fergana"}, ["Oshxona stoli", "Samsung Galaxy S21", "iPhone 12, 128 GB"]),
    ({"region": "Ташкент"}, ["iPhone charger", "Chevrolet Cobalt 2020", "Диван угловой"]),
    ({"region": "Moon"}, []),
    ({"price_min": 1_000_000}, ["Диван угловой", "Samsung Galaxy S21", "iPhone 12, 128 GB"]),
    ({"price_max": 1_000_000}, ["iPhone charger", "Oshxona stoli"]),
    ({"price_min": 10_000, "price_max": 20_000, "currency": "USD"}, ["Chevrolet Cobalt 2020"]),
    ({"text": "iphone"}, ["iPhone charger", "iPhone 12, 128 GB"]),
    ({"text": "IPHO"}, ["iPhone charger", "iPhone 12, 128 GB"]),  # a prefix, any case
    ({"text": "iphone 128"}, ["iPhone 12, 128 GB"]),  # every word
    ({"text": "ДИВАН"}, ["Диван угловой"]),  # Cyrillic, folded
    ({"text": "самовывоз"}, ["Диван угловой"]),  # the description too
    ({"text": "fargʻona"}, ["Oshxona stoli"]),  # the Uzbek letter ʻ
    ({"text": "wi-fi"}, ["Samsung Galaxy S21"]),
    ({"text": "x"}, [t for t, *_ in ADS][::-1]),  # one letter: ignored
    ({"text": "nothing-like-it"}, []),
    ({"text": "\"OR\" * NEAR( ) 'x' : & |"}, []),  # query syntax is just words
    ({"category": "electronics", "region": "Tashkent"}, ["iPhone charger"]),
    ({"category": "electronics", "text": "iphone", "price_max": 1_000_000}, ["iPhone charger"]),
    ({"category": "home", "region": "Fergana", "text": "stol", "price_min": 1}, ["Oshxona stoli"]),
    ({"category": "home", "region": "Fergana", "text": "stol", "price_min": 1_000_000}, []),
]


@pytest.mark.parametrize(("given", "titles"), CASES)
async def test_each_filter_and_their_combinations(
    db: async_sessionmaker[AsyncSession], given: dict[str, object], titles: list[str]
) -> None:
    await _ads(db)
    assert await _titles(db, AdFilters(**given)) == titles  # type: ignore[arg-type]
    # the Python matcher (saved searches' alerts) says the same as the database
    assert _expected(**given) == titles


async def test_only_published_ads_are_ever_found(db: async_sessionmaker[AsyncSession]) -> None:
    ids = await _ads(db)
    others = [state for state in AdState if state != AdState.PUBLISHED]
    async with db() as session:
        for ad_id, state in zip(ids, others, strict=False):
            await session.execute(update(Ad).where(Ad.id == ad_id).values(state=state))
        await session.commit()
    hidden = {ADS[i][0] for i in range(len(others))}
    for filters in (AdFilters(), AdFilters(text="iphone"), AdFilters(category="electronics")):
        found = await _titles(db, filters)
        assert found and not hidden & set(found)
    assert await _titles(db, AdFilters(text="samsung")) == []


async def test_the_text_index_follows_edits_and_deletions(
    db: async_sessionmaker[AsyncSession],
) -> None:
    ids = await _ads(db)
    async with db() as session:
        await session.execute(
            update(Ad).where(Ad.id == ids[0]).values(title="Xiaomi Redmi Note", description="Box.")
        )
        await session.execute(delete(Ad).where(Ad.id == ids[5]))
        await session.commit()
    assert await _titles(db, AdFilters(text="iphone")) == []
    assert await _titles(db, AdFilters(text="redmi")) == ["Xiaomi Redmi Note"]


async def test_pages_are_stable(db: async_sessionmaker[AsyncSession]) -> None:
    """Pages of 2 walk every ad once, newest first; an ad published meanwhile does not shift
    the next page, and ads published in the same microsecond are ordered by id."""
    ids = await _ads(db)
    async with db() as session:  # a tie with the newest ad
        same = await session.get(Ad, ids[-1])
        assert same is not None and same.published_at is not None
        await session.execute(
            update(Ad).where(Ad.id == ids[-2]).values(published_at=same.published_at)
        )
        await session.commit()
    seen: list[int] = []
    cursor: str | None = None
    for turn in range(10):
        async with db() as session:
            page = await search.search(session=session, filters=AdFilters(), cursor=cursor, limit=2)
            seen += [ad.id for ad in page.ads]
            if turn == 0:  # someone's ad is approved while this person reads
                owner = await session.get(Ad, ids[0])
                assert owner is not None
                session.add(
                    Ad(
                        user_id=owner.user_id,
                        state=AdState.PUBLISHED,
                        category="home",
                        title="Fresh",
                        description="Just approved.",
                        region="Tashkent",
                        published_at=utcnow(),
                    )
                )
                await session.commit()
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == ids[::-1]


async def test_a_price_bound_leaves_out_negotiable_and_other_currencies(
    db: async_sessionmaker[AsyncSession],
) -> None:
    await _ads(db)
    found = await _titles(db, AdFilters(price_min=0))
    assert "Репетитор английского" not in found  # negotiable
    assert "Chevrolet Cobalt 2020" not in found  # in USD
    assert len(found) == 5


def test_bad_input_is_refused_with_a_reason() -> None:
    with pytest.raises(InvalidInputError) as raised:
        AdFilters(price_min=10, price_max=5)
    assert raised.value.code == "adsearch.bad_price_range"
    with pytest.raises(InvalidInputError):
        AdFilters(price_min=-1)
    with pytest.raises(InvalidInputError):
        AdFilters(text="x" * 101)
    for bad in ("", "!!", "bm90LWEtY3Vyc29y", "MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3OC4x" * 3):
        with pytest.raises(InvalidInputError):
            Cursor.decode(bad)


def test_a_cursor_reads_back_to_the_microsecond() -> None:
    at = utcnow().replace(microsecond=999_999)
    assert Cursor.decode(Cursor(at, 42).encode()) == Cursor(at, 42)


async def test_pages_of_a_text_search_are_stable(db: async_sessionmaker[AsyncSession]) -> None:
    """A word found on every other ad: pages of 4 (found among the newest ads first, the
    last page through the text index) walk every match once, newest first."""
    async with db() as session:
        owner = await _user(session, 502)
        for i in range(30):
            at = START + timedelta(minutes=i)
            session.add(
                Ad(
                    user_id=owner.id,
                    state=AdState.PUBLISHED,
                    category="home",
                    title=f"Lamp {i}" if i % 2 else f"Chair {i}",
                    description="Pick up in Fergana.",
                    region="Fergana",
                    published_at=at,
                    updated_at=at,
                )
            )
        await session.commit()
    seen: list[str] = []
    cursor: str | None = None
    while True:
        async with db() as session:
            page = await search.search(
                session=session, filters=AdFilters(text="lamp"), cursor=cursor, limit=4
            )
        seen += [ad.title for ad in page.ads]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [f"Lamp {i}" for i in range(29, 0, -2)]
