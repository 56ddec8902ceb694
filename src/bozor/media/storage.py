"""Where photos are kept: a local folder, or an S3-compatible bucket through aiobotocore.

Keys are content addresses (the SHA-256 of the bytes), so storing the same photo twice is
harmless and a retried upload after a crash does not leave two copies.
"""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Any, Protocol

from bozor.settings import Settings


class MediaStorage(Protocol):
    """Stores and returns bytes by key."""

    async def put(self, key: str, data: bytes, content_type: str) -> None: ...

    async def get(self, key: str) -> bytes: ...

    async def exists(self, key: str) -> bool: ...


def content_key(data: bytes, prefix: str = "photos", suffix: str = ".jpg") -> str:
    digest = hashlib.sha256(data).hexdigest()
    return f"{prefix}/{digest[:2]}/{digest}{suffix}"


class LocalStorage:
    """A folder on this machine (one instance, or a shared volume)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError(f"bad media key {key!r}")
        return path

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)

        def write() -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(path.suffix + ".part")
            partial.write_bytes(data)
            partial.replace(path)  # readers never see half a file

        await asyncio.to_thread(write)

    async def get(self, key: str) -> bytes:
        return await asyncio.to_thread(self._path(key).read_bytes)

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self._path(key).exists)


class S3Storage:
    """An S3 bucket (AWS, MinIO, or any S3-compatible server at `endpoint_url`)."""

    def __init__(
        self,
        bucket: str,
        *,
        region: str | None = None,
        endpoint_url: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
    ) -> None:
        self.bucket = bucket
        self._client_args: dict[str, Any] = {
            "region_name": region,
            "endpoint_url": endpoint_url,
            "aws_access_key_id": access_key_id,
            "aws_secret_access_key": secret_access_key,
        }

    def _client(self) -> Any:
        from aiobotocore.session import get_session  # type: ignore[import-untyped]

        return get_session().create_client("s3", **self._client_args)

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        async with self._client() as client:
            await client.put_object(
                Bucket=self.bucket, Key=key, Body=data, ContentType=content_type
            )

    async def get(self, key: str) -> bytes:
        async with self._client() as client:
            response = await client.get_object(Bucket=self.bucket, Key=key)
            async with response["Body"] as stream:
                return bytes(await stream.read())

    async def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError  # type: ignore[import-untyped]

        async with self._client() as client:
            try:
                await client.head_object(Bucket=self.bucket, Key=key)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                    return False
                raise
            return True


def create_storage(settings: Settings) -> MediaStorage:
    """S3 when S3_BUCKET is set, else the MEDIA_DIR folder."""
    if settings.s3_bucket:
        return S3Storage(
            settings.s3_bucket,
            region=settings.s3_region,
            endpoint_url=settings.s3_endpoint_url,
            access_key_id=(
                settings.aws_access_key_id.get_secret_value()
                if settings.aws_access_key_id
                else None
            ),
            secret_access_key=(
                settings.aws_secret_access_key.get_secret_value()
                if settings.aws_secret_access_key
                else None
            ),
        )
    return LocalStorage(settings.media_dir)
