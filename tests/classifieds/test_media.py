"""Photo storage: a local folder, and S3 through aiobotocore against a real S3 API server on
loopback (moto's server mode); the bot keeping an ad's photos in S3 end to end; dHash."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from moto.server import ThreadedMotoServer
from PIL import Image
from sqlalchemy import select

from bozor.classifieds.models import AdPhoto
from bozor.media.imagehash import dhash, distance
from bozor.media.storage import LocalStorage, S3Storage, content_key
from bozor.testing import ADMIN_ID, Harness, free_port

from .helpers import picture, post_ad

BUCKET = "bozor-media"


@pytest.fixture
def s3_url() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def s3(url: str) -> S3Storage:
    return S3Storage(
        BUCKET,
        region="us-east-1",
        endpoint_url=url,
        access_key_id="testing",
        secret_access_key="testing",
    )


async def make_bucket(url: str) -> None:
    async with s3(url)._client() as client:
        await client.create_bucket(Bucket=BUCKET)


async def test_local_storage(tmp_path: Any) -> None:
    storage = LocalStorage(tmp_path)
    data = picture(1)
    key = content_key(data)
    assert not await storage.exists(key)
    await storage.put(key, data, "image/jpeg")
    assert await storage.exists(key) and await storage.get(key) == data
    with pytest.raises(ValueError, match="bad media key"):
        await storage.put("../outside.jpg", data, "image/jpeg")


async def test_s3_storage(s3_url: str) -> None:
    await make_bucket(s3_url)
    storage = s3(s3_url)
    data = picture(2)
    key = content_key(data)
    assert not await storage.exists(key)
    await storage.put(key, data, "image/jpeg")
    assert await storage.exists(key)
    assert await storage.get(key) == data


def test_dhash_sees_copies_and_tells_pictures_apart() -> None:
    original = picture(4, size=256)
    with Image.open(io.BytesIO(original)) as image:
        smaller = io.BytesIO()
        image.resize((128, 128)).save(smaller, "JPEG", quality=60)
    a, b, c = dhash(original), dhash(smaller.getvalue()), dhash(picture(9, size=256))
    assert a is not None and b is not None and c is not None
    assert distance(a, b) <= 6 < distance(a, c)
    assert dhash(b"not an image") is None


class TestBotKeepsPhotosInS3:
    @pytest.fixture
    def bozor_overrides(self, bozor_overrides: dict[str, Any], s3_url: str) -> dict[str, Any]:
        return {
            **bozor_overrides,
            "s3_bucket": BUCKET,
            "s3_region": "us-east-1",
            "s3_endpoint_url": s3_url,
            "aws_access_key_id": "testing",
            "aws_secret_access_key": "testing",
        }

    async def test_submitted_photos_land_in_the_bucket(self, bozor: Harness, s3_url: str) -> None:
        await make_bucket(s3_url)
        await bozor.start(await bozor.user("Admin", user_id=ADMIN_ID))
        owner = await bozor.user("Jasur")
        photos = [picture(11), picture(12)]
        ad_id = await post_ad(bozor, owner, photos=photos)
        async with bozor.db() as session:
            rows = list(
                await session.scalars(
                    select(AdPhoto).where(AdPhoto.ad_id == ad_id).order_by(AdPhoto.position)
                )
            )
        storage = s3(s3_url)
        kept = [await storage.get(str(row.storage_key)) for row in rows]
        assert sorted(kept) == sorted(photos)  # the bytes the user sent, from S3
        assert all(row.file_id for row in rows)  # and Telegram's ids, for sending again
