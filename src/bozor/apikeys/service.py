"""Creating, checking and revoking API keys."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from bozor.apikeys.models import ApiKey
from bozor.db import utcnow
from bozor.errors import InvalidInputError, NotFoundError

# The core's scope; each feature adds its own (Feature.api_scopes).
SCOPES = {"admin": "administration: tiers, reviews, exports, webhook subscriptions"}
_SCOPE_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_KEY_RE = re.compile(r"^bzr_([A-Za-z0-9]{8})_([A-Za-z0-9_-]{20,64})$")
_ALPHANUMERIC = string.ascii_letters + string.digits
_BY_PREFIX = select(ApiKey).where(ApiKey.prefix == bindparam("prefix"))  # built once: every call


@dataclass(frozen=True, slots=True)
class NewKey:
    key: ApiKey
    secret: str  # the whole key, shown once


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def create(
    *, session: AsyncSession, name: str, scopes: list[str], known: Collection[str] | None = None
) -> NewKey:
    """A new key with these scopes (among `known`, when given: the core's and the features');
    the returned secret is never stored."""
    unknown = sorted(
        scope
        for scope in set(scopes)
        if not _SCOPE_RE.match(scope) or (known and scope not in known)
    )
    if not name.strip() or unknown or not scopes:
        raise InvalidInputError("error.invalid_input", unknown=unknown)
    prefix = "".join(secrets.choice(_ALPHANUMERIC) for _ in range(8))
    secret = secrets.token_urlsafe(30)
    key = ApiKey(
        name=name.strip(),
        prefix=prefix,
        secret_hash=_hash(secret),
        scopes=" ".join(sorted(set(scopes))),
    )
    session.add(key)
    await session.flush()
    return NewKey(key, f"bzr_{prefix}_{secret}")


async def authenticate(*, session: AsyncSession, presented: str) -> ApiKey | None:
    """The live key matching what a caller presented, or None."""
    match = _KEY_RE.match(presented.strip())
    if match is None:
        return None
    key = await session.scalar(_BY_PREFIX, {"prefix": match.group(1)})
    if key is None or key.revoked_at is not None:
        return None
    if not hmac.compare_digest(key.secret_hash, _hash(match.group(2))):
        return None
    return key


async def get_live(*, session: AsyncSession, key_id: int) -> ApiKey | None:
    """The key with this id unless it was revoked."""
    key = await session.get(ApiKey, key_id)
    return None if key is None or key.revoked_at is not None else key


async def list_keys(*, session: AsyncSession) -> list[ApiKey]:
    """Every key, newest first (secrets are not stored, so none is shown)."""
    return list(await session.scalars(select(ApiKey).order_by(ApiKey.id.desc())))


async def revoke(*, session: AsyncSession, key_id: int) -> ApiKey:
    """Stop a key from working, at once and for good."""
    key = await session.get(ApiKey, key_id)
    if key is None:
        raise NotFoundError()
    if key.revoked_at is None:
        key.revoked_at = utcnow()
    return key
