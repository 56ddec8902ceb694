"""What the referral API accepts and answers."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from bozor.referrals.models import ReferralStatus

UserId = Field(
    min_length=1,
    max_length=128,
    pattern=r"^[^\s]+$",
    description="Your own id for the user (no spaces), or `tg:<telegram id>` for a bot user.",
    examples=["user-42"],
)


class LinkCreate(BaseModel):
    user_id: str = UserId


class LinkRead(BaseModel):
    user_id: str
    code: str = Field(examples=["aB3dE5fG7h"])
    telegram_link: str = Field(examples=["https://t.me/bozor_bot?start=aB3dE5fG7h"])


class ReferralCreate(BaseModel):
    code: str = Field(min_length=1, max_length=64, examples=["aB3dE5fG7h"])
    user_id: str = UserId


class ReferralRead(BaseModel):
    id: int
    referrer_id: str
    referred_id: str
    status: ReferralStatus
    created_at: datetime
    confirmed_at: datetime | None


class StatsRead(BaseModel):
    user_id: str
    invited: int
    confirmed: int
    pending: int
    rank: int | None


class TokenRead(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    scope: str
