"""Who is calling: an API key in `X-API-Key`, or a short-lived token from POST /api/v1/token.

Tokens are HS256 JWTs naming the key and its scopes; a revoked key's tokens stop working
at their expiry (API_TOKEN_MINUTES) at the latest, its key at once.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import Annotated

import jwt
from fastapi import Depends, Header, HTTPException, Request
from sqlalchemy.ext.asyncio import AsyncSession

from bozor.api.limits import limit_key
from bozor.apikeys import service as keys_service
from bozor.apikeys.models import ApiKey
from bozor.db import utcnow
from bozor.settings import Settings

ISSUER = "bozor"
# last_used_at is written at most this often (`bozor apikey list` shows it to the minute), so
# checking a key is a read, not a write transaction on every call
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Caller:
    key_id: int
    scopes: frozenset[str]


def signing_secret(settings: Settings) -> str:
    if settings.api_secret is not None:
        return settings.api_secret.get_secret_value()
    return _derived_secret(settings.bot_token.get_secret_value() if settings.bot_token else "")


@cache
def _derived_secret(token: str) -> str:
    return hashlib.sha256(f"bozor-api:{token}".encode()).hexdigest()


def issue_token(settings: Settings, key: ApiKey) -> tuple[str, int]:
    """A signed token for this key; (token, seconds it lives)."""
    lifetime = settings.api_token_minutes * 60
    now = utcnow()
    claims = {
        "iss": ISSUER,
        "sub": str(key.id),
        "scope": key.scopes,
        "iat": now,
        "exp": now + timedelta(seconds=lifetime),
    }
    return jwt.encode(claims, signing_secret(settings), algorithm="HS256"), lifetime


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": 'Bearer realm="bozor"'})


async def caller_from_key(session: AsyncSession, presented: str) -> tuple[Caller, ApiKey]:
    key = await keys_service.authenticate(session=session, presented=presented)
    if key is None:
        raise _unauthorized("The API key is not valid.")
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        key.last_used_at = now
    return Caller(key.id, key.scope_set), key


async def identify(
    request: Request,
    x_api_key: Annotated[str | None, Header()] = None,
    authorization: Annotated[str | None, Header()] = None,
) -> Caller:
    """The caller, from an API key or a bearer token; 401 otherwise."""
    runtime = request.app.state.runtime
    if x_api_key:
        async with runtime.session_factory() as session:
            caller, _ = await caller_from_key(session, x_api_key)
            await session.commit()
        return caller
    if authorization and authorization.lower().startswith("bearer "):
        try:
            claims = jwt.decode(
                authorization[7:].strip(),
                signing_secret(runtime.settings),
                algorithms=["HS256"],
                issuer=ISSUER,
                options={"require": ["exp", "sub", "iss"]},
            )
        except jwt.ExpiredSignatureError:
            raise _unauthorized("The token has expired.") from None
        except jwt.InvalidTokenError:
            raise _unauthorized("The token is not valid.") from None
        return Caller(int(claims["sub"]), frozenset(str(claims.get("scope", "")).split()))
    raise _unauthorized("Send an API key in X-API-Key or a token in Authorization: Bearer.")


def require(scope: str) -> Callable[[Request, Caller], Awaitable[Caller]]:
    """A dependency admitting callers whose key has `scope` (403 otherwise)."""

    async def check(request: Request, caller: Annotated[Caller, Depends(identify)]) -> Caller:
        await limit_key(request, caller.key_id)
        if scope not in caller.scopes:
            raise HTTPException(403, f"This key lacks the {scope!r} scope.")
        return caller

    return check


async def open_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session for one request; the route commits what it changed."""
    async with request.app.state.runtime.session_factory() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(open_session)]
IntegratorDep = Annotated[Caller, Depends(require("referrals"))]
AdminDep = Annotated[Caller, Depends(require("admin"))]
