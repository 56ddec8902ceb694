"""Every call of the referral API, described once; both clients send these descriptions."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar
from urllib.parse import quote

from pydantic import BaseModel

from bozor.referrals.schemas import (
    ClaimCreate,
    ClaimRead,
    ClickCreate,
    ClickRead,
    LinkCreate,
    LinkRead,
    ReferralCreate,
    ReferralRead,
    RewardsRead,
    StatsRead,
    TokenRead,
)

T = TypeVar("T", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    """One logical request: sent once, or again after a failure when `retry_safe`."""

    method: Literal["GET", "POST"]
    path: str
    response: type[T]
    body: BaseModel | None = None
    idempotency_key: str | None = None
    retry_safe: bool = False  # sending it twice does what sending it once does
    key_only: bool = False  # authenticated by the API key even in token mode


def _segment(value: str) -> str:
    return quote(value, safe=":@")


def token() -> Call[TokenRead]:
    return Call("POST", "/api/v1/token", TokenRead, retry_safe=True, key_only=True)


def generate_link(*, user_id: str, campaign: str | None = None) -> Call[LinkRead]:
    body = LinkCreate(user_id=user_id, campaign=campaign)
    return Call("POST", "/api/v1/generate-link", LinkRead, body, retry_safe=True)


def track_click(
    *,
    code: str,
    ip: str,
    user_agent: str = "",
    referer: str | None = None,
    utm: dict[str, str] | None = None,
) -> Call[ClickRead]:
    body = ClickCreate(code=code, ip=ip, user_agent=user_agent, referer=referer, utm=utm or {})
    return Call("POST", "/api/v1/track-click", ClickRead, body)  # each send is another click


def verify_referral(
    *, code: str, user_id: str, click_id: int | None = None, idempotency_key: str | None = None
) -> Call[ReferralRead]:
    body = ReferralCreate(code=code, user_id=user_id, click_id=click_id)
    key = idempotency_key or str(uuid.uuid4())
    return Call("POST", "/api/v1/verify-referral", ReferralRead, body, key, retry_safe=True)


def referral_stats(*, user_id: str) -> Call[StatsRead]:
    return Call("GET", f"/api/v1/referral-stats/{_segment(user_id)}", StatsRead, retry_safe=True)


def rewards(*, user_id: str) -> Call[RewardsRead]:
    return Call("GET", f"/api/v1/rewards/{_segment(user_id)}", RewardsRead, retry_safe=True)


def claim_reward(
    *, user_id: str, reward_id: int, idempotency_key: str | None = None
) -> Call[ClaimRead]:
    body = ClaimCreate(user_id=user_id, reward_id=reward_id)
    key = idempotency_key or str(uuid.uuid4())
    return Call("POST", "/api/v1/claim-reward", ClaimRead, body, key, retry_safe=True)
