"""The classifieds views of the Mini App over HTTP: search with filters and pages, an ad's
page and "Contact the seller", My ads, saved searches, photos; initData required."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, update

from bozor.classifieds import service
from bozor.classifieds.models import Ad, AdPhoto, AdState
from bozor.classifieds.schemas import AdDraft
from bozor.media.storage import content_key, create_storage
from bozor.testing import Harness
from bozor.users import service as users_service

from .conftest import as_user


@pytest.fixture
def bozor_overrides(bozor_overrides: dict[str, Any], tmp_path: Any) -> dict[str, Any]:
    return {
        **bozor_overrides,
        "media_dir": str(tmp_path / "media"),
        "classifieds_saved_searches": 2,
    }


async def _ads(bozor: Harness, owner: int, titles: list[str], *, approve: bool = True) -> list[int]:
    ids = []
    async with bozor.db() as session:
        user = await users_service.get_by_telegram_id(session=session, telegram_id=owner)
        assert user is not None
        for title in titles:
            draft = AdDraft(
                category="home",
                title=title,
                description=f"{title}, in good condition.",
                price=100_000,
                currency="UZS",
                contact_phone="+998901234567",
                region="Fergana",
            )
            ad = await service.submit(
                session=session, settings=bozor.settings, user=user, draft=draft
            )
            if approve:
                await service.decide(
                    session=session,
                    ad_id=ad.id,
                    approve=True,
                    admin_name="Admin",
                    admin_chat_id=None,
                    channel=None,
                )
            ids.append(ad.id)
        await session.commit()
    return ids


def _shown(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'data-testid="ad-(\d+)"', html)]


async def test_views_need_signed_init_data(bozor: Harness, app: httpx.AsyncClient) -> None:
    for path in ("/api/classifieds", "/api/classifieds/saved", "/api/classifieds/mine"):
        assert (await app.get(path)).status_code == 401
        assert (
            await app.get(path, headers={"X-Telegram-Init-Data": "user=%7B%7D&hash=00"})
        ).status_code == 401


async def test_search_filters_pages_and_the_ad_page(bozor: Harness, app: httpx.AsyncClient) -> None:
    alice = await bozor.user("Alice")
    await bozor.start(alice)
    bob = await bozor.user("Bob")
    lamps = await _ads(bozor, alice, [f"Lamp {n}" for n in range(12)])
    [sofa] = await _ads(bozor, alice, ["Sofa"])
    [hidden] = await _ads(bozor, alice, ["Lamp in review"], approve=False)

    first = await app.get("/api/classifieds", params={"q": "lamp"}, headers=as_user(bob))
    assert first.status_code == 200
    assert _shown(first.text) == lamps[::-1][:10]
    assert 'data-main-form="save-search"' in first.text  # MainButton saves this search
    more = re.search(r'href="/app(/classifieds\?[^"]+)" data-testid="more"', first.text)
    assert more is not None
    second = await app.get("/api" + more.group(1).replace("&amp;", "&"), headers=as_user(bob))
    assert _shown(second.text) == lamps[::-1][10:] and 'data-testid="more"' not in second.text

    everything = await app.get("/api/classifieds", headers=as_user(bob, language_code="ru"))
    assert sofa in _shown(everything.text) and hidden not in _shown(everything.text)
    assert "Объявления" in everything.text and "data-main-form" not in everything.text
    bad = await app.get("/api/classifieds", params={"price_min": "abc"}, headers=as_user(bob))
    assert "can&#39;t be negative" in bad.text or "negative" in bad.text

    # the search form goes to the list with its filters in the link
    went = await app.post(
        "/api/classifieds/search",
        data={"q": "sofa", "category": "home", "price_min": "", "currency": "UZS"},
        headers=as_user(bob),
    )
    assert went.json() == {"go": "/classifieds?category=home&q=sofa"}

    page = await app.get(f"/api/classifieds/ad/{sofa}", headers=as_user(bob))
    assert "Sofa" in page.text and 'data-testid="contact"' in page.text
    link = await app.post(f"/api/classifieds/ad/{sofa}/contact", headers=as_user(bob))
    assert re.fullmatch(rf"https://t\.me/\w+\?start=contact_{sofa}", link.json()["link"])
    own = await app.post(f"/api/classifieds/ad/{sofa}/contact", headers=as_user(alice))
    assert own.status_code == 403 and "your own ad" in own.text
    assert (await app.get(f"/api/classifieds/ad/{hidden}", headers=as_user(bob))).status_code == 404
    mine = await app.get(f"/api/classifieds/ad/{hidden}", headers=as_user(alice))
    assert mine.status_code == 200 and 'data-testid="ad-status"' in mine.text

    listing = await app.get("/api/classifieds/mine", headers=as_user(alice))
    assert f'data-testid="status-{hidden}"' in listing.text and "review" in listing.text.lower()


async def test_saved_searches_create_limit_and_delete(
    bozor: Harness, app: httpx.AsyncClient
) -> None:
    bob = await bozor.user("Bob")
    await bozor.start(bob)
    saved = await app.post(
        "/api/classifieds/saved", data={"q": "lamp", "region": "Fergana"}, headers=as_user(bob)
    )
    assert saved.json() == {"go": "/classifieds/saved"}
    await app.post("/api/classifieds/saved", data={"category": "home"}, headers=as_user(bob))
    over = await app.post(
        "/api/classifieds/saved", data={"q": "sofa"}, headers=as_user(bob, language_code="uz")
    )
    assert over.status_code == 409 and "saqlangan qidiruv bor" in over.text
    empty = await app.post("/api/classifieds/saved", data={"q": ""}, headers=as_user(bob))
    assert empty.status_code == 409 and "at least one filter" in empty.text

    listed = await app.get("/api/classifieds/saved", headers=as_user(bob))
    ids = [int(n) for n in re.findall(r'data-testid="delete-(\d+)"', listed.text)]
    assert (
        len(ids) == 2
        and "lamp" in listed.text
        and "/app/classifieds?region=Fergana&amp;q=lamp" in listed.text
    )
    gone = await app.post(f"/api/classifieds/saved/{ids[0]}/delete", headers=as_user(bob))
    assert gone.json() == {"go": "/classifieds/saved"}
    # someone else cannot delete Bob's
    carol = await bozor.user("Carol")
    await app.post(f"/api/classifieds/saved/{ids[1]}/delete", headers=as_user(carol))
    after = await app.get("/api/classifieds/saved", headers=as_user(bob))
    assert re.findall(r'data-testid="delete-(\d+)"', after.text) == [str(ids[1])]


async def test_photos_of_published_ads_only(bozor: Harness, app: httpx.AsyncClient) -> None:
    alice = await bozor.user("Alice")
    await bozor.start(alice)
    [ad_id] = await _ads(bozor, alice, ["Chair"])
    data = b"\xff\xd8\xff\xe0 a jpeg"
    key = content_key(data)
    await create_storage(bozor.settings).put(key, data, "image/jpeg")
    async with bozor.db() as session:
        await session.execute(
            insert(AdPhoto).values(ad_id=ad_id, position=0, file_id="f1", storage_key=key)
        )
        await session.commit()
    listing = await app.get("/api/classifieds", headers=as_user(alice))
    src = re.search(r'src="/app(/api/classifieds/photo/\d+)"', listing.text)
    assert src is not None
    photo = await app.get(src.group(1))  # an <img> carries no initData
    assert photo.status_code == 200 and photo.content == data
    async with bozor.db() as session:
        await session.execute(update(Ad).where(Ad.id == ad_id).values(state=AdState.SOLD))
        await session.commit()
    assert (await app.get(src.group(1))).status_code == 404
