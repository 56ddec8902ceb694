"""An ad's photo kept: stored once in media storage under its content address and hashed for
the duplicate check. The dialogue (photos downloaded from Telegram) and the demo keep photos
here; the dashboard reads them back."""

from __future__ import annotations

import asyncio

from bozor.classifieds.schemas import PhotoIn
from bozor.media.imagehash import dhash
from bozor.media.storage import MediaStorage, content_key

CONTENT_TYPE = "image/jpeg"  # Telegram sends photos as JPEG


async def keep(
    storage: MediaStorage, data: bytes, *, file_id: str, file_unique_id: str | None
) -> PhotoIn:
    """Store the photo's bytes (nothing twice: the key is their SHA-256) and hash them."""
    key = content_key(data)
    if not await storage.exists(key):
        await storage.put(key, data, CONTENT_TYPE)
    return PhotoIn(
        file_id=file_id,
        file_unique_id=file_unique_id,
        storage_key=key,
        dhash=await asyncio.to_thread(dhash, data),
    )
