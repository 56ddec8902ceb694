"""Who is calling: an API key in `X-API-Key`, or a short-lived token from POST /api/v1/token.

Tokens are HS256 JWTs naming the key and its scopes. A token is checked against its key on
every use: a revoked key stops working at once, its tokens within KEY_STATE_SECONDS (the key's
state is cached that long per process); a token naming a key that does not exist is refused.

Both ways are declared as OpenAPI security schemes (`APIKeyHeader`, `HTTPBearer`), so generated
clients know how to authenticate.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

import jwt
from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bozor.api.deps import runtime_of, settings_of
from bozor.api.limits import limit_key
from bozor.apikeys import service as keys_service
from bozor.apikeys.models import ApiKey
from bozor.db import utcnow
from bozor.settings import Settings
from bozor.signing import signing_secret as signing_secret  # used here and re-exported

ISSUER = "bozor"
# last_used_at is written at most this often (`bozor apikey list` shows it to the minute), so
# checking a key is a read, not a write transaction on every call
LAST_USED_RESOLUTION = timedelta(minutes=1)
# How long a key's state (live or revoked, its scopes) is trusted for its tokens; docs/api.md
# promises that a revocation holds within 5 s.
KEY_STATE_SECONDS = 2.0
_KEY_STATES_KEPT = 10_000  # distinct keys remembered; only validly signed tokens add one

# The two ways to authenticate, as OpenAPI security schemes; the checks below raise the 401s.
api_key_header = APIKeyHeader(
    name="X-API-Key",
    scheme_name="ApiKey",
    description="An API key (`bozor apikey create`).",
    auto_error=False,
)
bearer_token = HTTPBearer(
    scheme_name="BearerToken",
    bearerFormat="JWT",
    description="A short-lived token from POST /api/v1/token.",
    auto_error=False,
)
ApiKeyDep = Annotated[str | None, Depends(api_key_header)]
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_token)]


@dataclass(frozen=True, slots=True)
class Caller:
    key_id: int
    scopes: frozenset[str]


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


def unauthorized(detail: str) -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": 'Bearer realm="bozor"'})


async def caller_from_key(session: AsyncSession, presented: str) -> tuple[Caller, ApiKey]:
    key = await keys_service.authenticate(session=session, presented=presented)
    if key is None:
        raise unauthorized("The API key is not valid.")
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        key.last_used_at = now
    return Caller(key.id, key.scope_set), key


class KeyStates:
    """The scopes of each live key (None: revoked or unknown), read from the database at most
    once per KEY_STATE_SECONDS per key, so that a token costs no query on most calls."""

    def __init__(
        self, session_factory: async_sessionmaker[AsyncSession], ttl: float = KEY_STATE_SECONDS
    ) -> None:
        self._session_factory = session_factory
        self._ttl = ttl
        self._known: dict[int, tuple[float, frozenset[str] | None]] = {}

    async def scopes(self, key_id: int) -> frozenset[str] | None:
        now = time.monotonic()
        known = self._known.get(key_id)
        if known is not None and now - known[0] < self._ttl:
            return known[1]
        async with self._session_factory() as session:
            key = await keys_service.get_live(session=session, key_id=key_id)
        scopes = key.scope_set if key is not None else None
        if len(self._known) >= _KEY_STATES_KEPT:
            self._known.clear()
        self._known[key_id] = (now, scopes)
        return scopes


def key_states(request: Request) -> KeyStates:
    """This app's cache of key states (made on first use)."""
    state = request.app.state
    states: KeyStates | None = getattr(state, "key_states", None)
    if states is None:
        states = state.key_states = KeyStates(state.runtime.session_factory)
    return states


async def caller_from_token(request: Request, token: str) -> Caller:
    """The caller a bearer token names, if its key is still live; 401 otherwise."""
    try:
        claims = jwt.decode(
            token,
            signing_secret(settings_of(request)),
            algorithms=["HS256"],
            issuer=ISSUER,
            options={"require": ["exp", "sub", "iss"]},
        )
    except jwt.ExpiredSignatureError:
        raise unauthorized("The token has expired.") from None
    except jwt.InvalidTokenError:
        raise unauthorized("The token is not valid.") from None
    sub = str(claims["sub"])
    if not sub.isdigit() or not 0 < int(sub) < 2**63:
        raise unauthorized("The token is not valid.")
    key_scopes = await key_states(request).scopes(int(sub))
    if key_scopes is None:
        raise unauthorized("The token's API key was revoked or does not exist.")
    # The key's scopes bound the token's (they were copied into it when it was issued).
    return Caller(int(sub), key_scopes & frozenset(str(claims.get("scope", "")).split()))


async def open_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session for one request; the route commits what it changed."""
    async with runtime_of(request).session_factory() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(open_session)]


async def identify(
    request: Request, x_api_key: ApiKeyDep, bearer: BearerDep, session: SessionDep
) -> Caller:
    """The caller, from an API key or a bearer token; 401 otherwise.

    The key is read in the request's own session (FastAPI gives the route the same one), not
    in a transaction of its own: a second session per call cost a begin, a commit and a
    connection check-out. Its `last_used_at`, when due, is committed at once, before the
    route runs."""
    if x_api_key:
        caller, _ = await caller_from_key(session, x_api_key)
        if session.dirty:
            await session.commit()
        return caller
    if bearer is not None and bearer.credentials:
        return await caller_from_token(request, bearer.credentials.strip())
    raise unauthorized("Send an API key in X-API-Key or a token in Authorization: Bearer.")


def require(scope: str) -> Callable[[Request, Caller], Awaitable[Caller]]:
    """A dependency admitting callers whose key has `scope` (403 otherwise)."""

    async def check(request: Request, caller: Annotated[Caller, Depends(identify)]) -> Caller:
        await limit_key(request, caller.key_id)
        if scope not in caller.scopes:
            raise HTTPException(403, f"This key lacks the {scope!r} scope.")
        return caller

    return check


AdminDep = Annotated[Caller, Depends(require("admin"))]
