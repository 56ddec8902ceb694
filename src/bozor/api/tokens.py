"""POST /api/v1/token: an API key exchanged for a short-lived bearer token."""

from __future__ import annotations

from fastapi import APIRouter, Request

from bozor.api.auth import ApiKeyDep, SessionDep, caller_from_key, issue_token, unauthorized
from bozor.api.deps import SettingsDep
from bozor.api.problems import responses
from bozor.apikeys.schemas import TokenRead

router = APIRouter(prefix="/api/v1", tags=["authentication"], responses=responses(401, 429))


@router.post("/token")
async def create_token(
    request: Request, settings: SettingsDep, session: SessionDep, x_api_key: ApiKeyDep
) -> TokenRead:
    """Exchange the API key in X-API-Key for a bearer token with the key's scopes."""
    if not x_api_key:
        raise unauthorized("Send an API key in X-API-Key.")
    _, key = await caller_from_key(session, x_api_key)
    await session.commit()
    token, lifetime = issue_token(settings, key)
    return TokenRead(access_token=token, expires_in=lifetime, scope=key.scopes)
