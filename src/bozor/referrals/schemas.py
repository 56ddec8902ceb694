"""What the referral API accepts and answers."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from bozor.referrals.models import ReferralStatus, RewardStatus

UserId = Field(
    min_length=1,
    max_length=128,
    pattern=r"^[^\s\x00]+$",
    description="Your own id for the user (no spaces), or `tg:<telegram id>` for a bot user.",
    examples=["user-42"],
)
ROW_ID_MAX = 2**63 - 1  # ids are 64-bit integers in the database


class LinkCreate(BaseModel):
    user_id: str = UserId


class LinkRead(BaseModel):
    user_id: str
    code: str = Field(examples=["aB3dE5fG7h"])
    web_link: str = Field(
        description="Records the click, then redirects to the landing page or the bot.",
        examples=["https://bozor.example.com/r/aB3dE5fG7h"],
    )
    telegram_link: str = Field(examples=["https://t.me/bozor_bot?start=aB3dE5fG7h"])


class ClickCreate(BaseModel):
    """A click on a referral link that the integrator's own site received."""

    code: str = Field(min_length=1, max_length=64, examples=["aB3dE5fG7h"])
    ip: str = Field(min_length=1, max_length=64, description="Hashed, never stored.")
    user_agent: str = Field(default="", max_length=1024)
    referer: str | None = Field(default=None, max_length=2048)
    utm: dict[str, str] = Field(default_factory=dict, examples=[{"utm_source": "instagram"}])


class ClickRead(BaseModel):
    click_id: int
    counted: bool = Field(description="False for link previews and bots.")


class ReferralCreate(BaseModel):
    code: str = Field(min_length=1, max_length=64, examples=["aB3dE5fG7h"])
    user_id: str = UserId
    click_id: int | None = Field(
        default=None,
        ge=1,
        le=ROW_ID_MAX,
        description="The click that led here (from /track-click), if known.",
    )


class ReferralRead(BaseModel):
    id: int
    referrer_id: str
    referred_id: str
    status: ReferralStatus
    created_at: datetime
    confirmed_at: datetime | None


class StatsRead(BaseModel):
    user_id: str
    clicks: int = Field(description="Clicks by people (bots and link previews excluded).")
    unique_clicks: int = Field(description="Distinct visitors, counted per day.")
    bot_clicks: int
    invited: int = Field(description="Sign-ups through the link, in any state.")
    confirmed: int
    pending: int
    signup_rate: float | None = Field(description="invited / unique_clicks")
    confirmation_rate: float | None = Field(description="confirmed / invited")
    rank: int | None
    rewards_earned: int = Field(description="Bonus points earned, claimed or not.")
    rewards_claimed: int


class RewardRead(BaseModel):
    id: int
    kind: str = Field(examples=["referral", "welcome", "tier"])
    title: str = Field(examples=["Bronze"])
    amount: int = Field(description="Bonus points.")
    status: RewardStatus
    created_at: datetime
    claimed_at: datetime | None


class RewardsRead(BaseModel):
    user_id: str
    balance: int = Field(description="Bonus points: the sum of the user's ledger entries.")
    rewards: list[RewardRead]


class ClaimCreate(BaseModel):
    user_id: str = UserId
    reward_id: int = Field(ge=1, le=ROW_ID_MAX)


class ClaimRead(BaseModel):
    reward: RewardRead
    balance: int


class TokenRead(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    scope: str
