"""The ad search on both databases: each filter, their combinations, full-text search kept
in step with edits, keyset pages, and only published ads ever shown."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tests import factories

from bozor.classifieds import search, service
from bozor.classifieds.models import Ad, AdState
from bozor.classifieds.search import AdFilters, Cursor
from bozor.db import dialect_name, utcnow
from bozor.errors import InvalidInputError
from bozor.testing import Harness
from bozor.users.models import User

START = utcnow() - timedelta(days=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

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


# Uzbek Latin writes oʻ and gʻ with U+02BB; people type ', `, ‘ or ’ instead, or nothing.
UZBEK = [
    ("Oʻzbek tili darslari", "Har kuni, Fargʻonada."),
    ("O'zbekcha lug'at", "Yangi, 2024."),
    ("O‘zbekiston xaritasi", "Katta, devorga."),
    ("O`zbek milliy taomlari", "Kitob, rasmli."),
    ("O’zbek dosti", "Roman, yangi."),
    ("Ozbek tili kitobi", "Apostrofsiz yozilgan."),
    ("Rus tili", "Boshqa kitob."),
]


async def test_apostrophe_variants_find_each_other(db: async_sessionmaker[AsyncSession]) -> None:
    async with db() as session:
        owner = await _user(session, 503)
        for i, (title, description) in enumerate(UZBEK):
            at = START + timedelta(minutes=i)
            session.add(
                Ad(
                    user_id=owner.id,
                    state=AdState.PUBLISHED,
                    category="other",
                    title=title,
                    description=description,
                    region="Fergana",
                    published_at=at,
                    updated_at=at,
                )
            )
        await session.commit()
    uzbek = [title for title, _ in UZBEK[:6]][::-1]
    for typed in ("o'zbek", "o‘zbek", "oʻzbek", "o`zbek", "o’zbek", "oʼzbek", "ozbek", "OʻZBEK"):
        assert await _titles(db, AdFilters(text=typed)) == uzbek, typed
    for typed in ("lug'at", "lugʻat", "lug‘a", "lugat"):
        assert await _titles(db, AdFilters(text=typed)) == ["O'zbekcha lug'at"], typed
    assert await _titles(db, AdFilters(text="fargʻona o'zbek")) == ["Oʻzbek tili darslari"]
    assert await _titles(db, AdFilters(text="zbek")) == []  # a word, not its tail
    # the saved searches' matcher agrees, and "oʻzbek" and "o'zbek" are one saved search
    for title, description in UZBEK:
        ad = Ad(state=AdState.PUBLISHED, title=title, description=description, category="x")
        assert search.matches(AdFilters(text="o‘zbek"), ad) == (title in uzbek)
    assert search.words("O'zbek gʻisht") == search.words("oʻzbek g`isht") == ["ozbek", "gisht"]


async def _walk(db: async_sessionmaker[AsyncSession], filters: AdFilters, limit: int) -> list[int]:
    """Every page of a search, `limit` a page, through the cursors: the ids in order."""
    seen: list[int] = []
    cursor: str | None = None
    while True:
        async with db() as session:
            page = await search.search(session=session, filters=filters, cursor=cursor, limit=limit)
        seen += [ad.id for ad in page.ads]
        assert len(page.ads) == limit or page.next_cursor is None
        cursor = page.next_cursor
        if cursor is None:
            return seen


async def _feed_in_step(db: async_sessionmaker[AsyncSession]) -> None:
    """SQLite: the text index and its feed hold exactly the published ads, each with its
    filters' columns and a key in its publication millisecond."""
    async with db() as session:
        if dialect_name(session) != "sqlite":
            return
        feed = (
            await session.execute(
                text(
                    "SELECT ad_id, key, category, region, price, currency "
                    "FROM classified_ads_fts_feed ORDER BY ad_id"
                )
            )
        ).all()
        ads = (
            await session.execute(
                select(Ad.id, Ad.published_at, Ad.category, Ad.region, Ad.price, Ad.currency)
                .where(Ad.state == AdState.PUBLISHED)
                .order_by(Ad.id)
            )
        ).all()
        assert [(r[0], *r[2:]) for r in feed] == [(a[0], *a[2:]) for a in ads]
        for row, ad in zip(feed, ads, strict=True):
            millisecond = (ad.published_at - EPOCH) // timedelta(milliseconds=1)
            assert row.key // search.FEED_SLOTS == millisecond
        indexed = await session.scalars(text("SELECT rowid FROM classified_ads_fts"))
        assert sorted(indexed) == sorted(row.key for row in feed)
        await session.execute(
            text("INSERT INTO classified_ads_fts(classified_ads_fts) VALUES ('integrity-check')")
        )


async def test_an_ad_published_in_a_seconds_last_half_millisecond_keeps_its_second(
    db: async_sessionmaker[AsyncSession],
) -> None:
    """SQLite's strftime('%s') rounds a time's fraction to the millisecond: 19.9996 s read as
    20 s. The feed key takes the whole seconds and the milliseconds apart, so it must not."""
    ids = await _ads(db)
    last_half = START.replace(microsecond=999_600)
    async with db() as session:
        await session.execute(update(Ad).where(Ad.id == ids[0]).values(published_at=last_half))
        await session.commit()
    await _feed_in_step(db)
    assert (await _walk(db, AdFilters(text="iPhone"), 1))[-1] == ids[0]  # still the oldest


@pytest.mark.parametrize("scan_max", [search.SCAN_MAX, 2])
async def test_text_pages_follow_publication_order_on_every_path(
    db: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch, scan_max: int
) -> None:
    """Ads published in the same microsecond, the same millisecond, a millisecond apart and
    minutes apart, some not published: every text search with any other filters, walked in
    pages of any size, gives the matches in the order of the plain list (published_at,
    then id, newest first), each once. With SCAN_MAX 2 the selective searches go through
    every match at once after their first batch."""
    monkeypatch.setattr(search, "SCAN_MAX", scan_max)
    rng = random.Random(11)
    base = START.replace(microsecond=0)
    moments = [
        base + timedelta(microseconds=m)
        for m in (0, 0, 0, 1, 999, 1000, 1001, 1999, 2000, 5000, 60_000_000, 60_000_000)
    ]
    words = ["lamp", "chair", "lampshade", "table", "rare"]
    async with db() as session:
        owner = await _user(session, 504)
        for i in range(90):
            at = rng.choice(moments) + timedelta(minutes=rng.choice([0, 0, 5, 9]))
            state = AdState.PUBLISHED if i % 9 else rng.choice([AdState.REVIEW, AdState.SOLD])
            chosen = rng.sample(words[:4], 2) + (["rare"] if i % 17 == 0 else [])
            session.add(
                Ad(
                    user_id=owner.id,
                    state=state,
                    category=rng.choice(["home", "electronics"]),
                    title=" ".join(chosen).capitalize(),
                    description=f"Number {i}.",
                    region=rng.choice(["Fergana", "Фергана", "Tashkent"]),
                    price=rng.choice([None, 50_000, 500_000]),
                    currency="UZS",
                    published_at=at if state != AdState.REVIEW else None,
                    updated_at=at,
                )
            )
        await session.commit()
        everything = list(
            await session.scalars(select(Ad).order_by(Ad.published_at.desc(), Ad.id.desc()))
        )
    await _feed_in_step(db)
    cases = [
        AdFilters(text="lamp"),
        AdFilters(text="la"),
        AdFilters(text="lamp chair"),
        AdFilters(text="rare"),
        AdFilters(text="lamp", category="home"),
        AdFilters(text="chair", region="fergana", price_min=100_000),
        AdFilters(text="table", category="electronics", region="Tashkent", price_max=600_000),
    ]
    for filters in cases:
        expected = [ad.id for ad in everything if search.matches(filters, ad)]
        assert expected, filters
        for limit in (1, 3, 7, 50):
            assert await _walk(db, filters, limit) == expected, (filters, limit)


async def test_the_text_index_follows_each_ads_life(bozor: Harness) -> None:
    """Through the services: an ad enters the text search when approved, leaves it when
    withdrawn, sold or sent back to review by an edit, and comes back at the top, with its
    new text only, when approved again; a repost does not move it, a new publication time
    does."""
    alice = await bozor.user("Alice")
    await bozor.start(alice)
    lamps = await factories.published(bozor, alice, [f"Lamp {n}" for n in range(5)])
    [review] = await factories.published(bozor, alice, ["Lamp in review"], approve=False)
    lamp = AdFilters(text="lamp")
    assert await _walk(bozor.db, lamp, 2) == lamps[::-1]
    await _feed_in_step(bozor.db)

    user = await factories.stored_user(bozor, alice)
    async with bozor.db() as session:
        await service.withdraw(session=session, ad_id=lamps[1], user=user)
        await service.mark_sold(session=session, ad_id=lamps[2], user=user)
        # the oldest is edited: in review again, then approved with its new title
        edited = factories.ad_draft("Green shade", description="A lampshade, never used.")
        await service.submit(
            session=session, settings=bozor.settings, user=user, draft=edited, ad_id=lamps[0]
        )
        await session.commit()
    assert await _walk(bozor.db, lamp, 2) == [lamps[4], lamps[3]]
    await _feed_in_step(bozor.db)
    async with bozor.db() as session:
        for ad_id in (lamps[0], review):
            await factories.approve_ad(session, bozor, ad_id)
        # a repost changes when it was last posted, not when it was published
        await session.execute(
            update(Ad)
            .where(Ad.id == lamps[3])
            .values(last_posted_at=utcnow(), repost_count=Ad.repost_count + 1)
        )
        await session.commit()
    assert await _walk(bozor.db, lamp, 1) == [review, lamps[0], lamps[4], lamps[3]]
    assert await _walk(bozor.db, AdFilters(text="shade"), 1) == [lamps[0]]
    assert await _walk(bozor.db, AdFilters(text="green"), 1) == [lamps[0]]
    # Lamp 0's old text is gone from the index (its new description's "lampshade" is a lamp)
    assert lamps[0] not in await _walk(bozor.db, AdFilters(text="condition"), 1)
    await _feed_in_step(bozor.db)

    async with bozor.db() as session:  # published again later, and one backdated
        await session.execute(
            update(Ad).where(Ad.id == lamps[4]).values(published_at=START - timedelta(days=1))
        )
        await session.execute(update(Ad).where(Ad.id == lamps[3]).values(published_at=utcnow()))
        await session.commit()
    assert await _walk(bozor.db, lamp, 3) == [lamps[3], review, lamps[0], lamps[4]]
    assert await _walk(bozor.db, AdFilters(), 3) == [lamps[3], review, lamps[0], lamps[4]]
    await _feed_in_step(bozor.db)
