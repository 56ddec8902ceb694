"""POST /api/v1/token: an API key exchanged for a short-lived bearer token."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request

from bozor.api.auth import SessionDep, caller_from_key, issue_token
from bozor.api.problems import responses
from bozor.referrals.schemas import TokenRead

router = APIRouter(prefix="/api/v1", tags=["authentication"], responses=responses(401, 429))


@router.post("/token")
async def create_token(
    request: Request, session: SessionDep, x_api_key: Annotated[str, Header()]
) -> TokenRead:
    """Exchange the API key in X-API-Key for a bearer token with the key's scopes."""
    _, key = await caller_from_key(session, x_api_key)
    await session.commit()
    token, lifetime = issue_token(request.app.state.runtime.settings, key)
    return TokenRead(access_token=token, expires_in=lifetime, scope=key.scopes)
