"""What the referral API accepts and answers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, StrictBool, StrictInt, computed_field, model_validator

from bozor.apikeys.schemas import TokenRead as TokenRead  # re-exported for the client
from bozor.referrals.aliases import SeedNames, seed_names
from bozor.referrals.statuses import ReferralStatus, RewardStatus
from bozor.schema_types import NO_NUL as NO_NUL  # re-exported for the routes
from bozor.schema_types import UTCDatetime as UTCDatetime

MAX_ID = 2**63 - 1  # ids are 64-bit

UserIdRules: dict[str, Any] = {
    "min_length": 1,
    "max_length": 128,
    "pattern": r"^[^\s\x00]+$",
    "description": "Your own id for the user (no spaces), or `tg:<telegram id>` for a bot user.",
    "examples": ["user-42"],
}
# The reference's names for a referral code: its code, or a whole link (read down to the code).
CODE_NAMES = ("code", "referralCode", "referral_code", "referral_link", "referralLink", "link")


CampaignSlug = Field(
    min_length=1,
    max_length=64,
    pattern=r"^[a-z0-9][a-z0-9_-]*$",
    description="A campaign's slug (lower-case letters, digits, - and _).",
    examples=["spring-2027"],
)


class LinkCreate(SeedNames):
    user_id: str = Field(validation_alias=seed_names("user_id", "userId"), **UserIdRules)
    campaign: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        pattern=r"^[a-z0-9][a-z0-9_-]*$",
        description="A campaign's slug: the link carries the campaign to clicks and sign-ups.",
        examples=["spring-2027"],
    )


class LinkRead(BaseModel):
    user_id: str
    code: str = Field(examples=["aB3dE5fG7h"])
    web_link: str = Field(
        description="Records the click, then redirects to the landing page or the bot.",
        examples=["https://bozor.example.com/r/aB3dE5fG7h"],
    )
    telegram_link: str = Field(examples=["https://t.me/bozor_bot?start=aB3dE5fG7h"])
    campaign: str | None = None
    success: bool = Field(default=True, description="Seed 004's flag: always true on a 2xx.")

    @computed_field(description="Seed 004's name: the same as `web_link`.")  # type: ignore[prop-decorator]
    @property
    def referral_link(self) -> str:
        return self.web_link

    @computed_field(description="Seed 004's other name: the same as `web_link`.")  # type: ignore[prop-decorator]
    @property
    def link(self) -> str:
        return self.web_link


class ClickCreate(SeedNames):
    """A click on a referral link that the integrator's own site received."""

    code: str = Field(
        min_length=1,
        max_length=64,
        examples=["aB3dE5fG7h"],
        validation_alias=seed_names(*CODE_NAMES),
    )
    ip: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="The visitor's IP address; hashed, never stored. Without it, the address "
        "the request comes from (right when the visitor's browser calls; send it when your "
        "server does).",
    )
    user_agent: str | None = Field(
        default=None,
        max_length=1024,
        description="The visitor's User-Agent; without it, the request's own.",
        validation_alias=seed_names("user_agent", "userAgent"),
    )
    referer: str | None = Field(default=None, max_length=2048)
    utm: dict[str, str] = Field(default_factory=dict, examples=[{"utm_source": "instagram"}])


class ClickRead(BaseModel):
    click_id: int
    counted: bool = Field(description="False for link previews and bots.")
    success: bool = Field(default=True, description="Seed 004's flag: always true on a 2xx.")


class ReferralCreate(SeedNames):
    code: str = Field(
        min_length=1,
        max_length=64,
        examples=["aB3dE5fG7h"],
        validation_alias=seed_names(*CODE_NAMES),
    )
    user_id: str = Field(
        validation_alias=seed_names("user_id", "newUserId", "new_user_id"), **UserIdRules
    )
    click_id: StrictInt | None = Field(
        default=None,
        ge=1,
        le=MAX_ID,
        description="The click that led here (from /track-click), if known.",
        validation_alias=seed_names("click_id", "clickId"),
    )


class ReferralRead(BaseModel):
    id: int
    referrer_id: str
    referred_id: str
    status: ReferralStatus = Field(
        description="confirmed; pending (waiting for a condition such as a channel "
        "subscription); review (held for an admin); rejected."
    )
    reason: str | None = Field(description="Why it is held for review, or was rejected.")
    source: str = Field(examples=["api", "bot"])
    campaign: str | None = None
    created_at: datetime
    confirmed_at: datetime | None


class ReferralResult(ReferralRead):
    """The answer to /verify-referral and /process-referral."""

    success: bool = Field(default=True, description="Seed 004's flag: always true on a 2xx.")


class ReferralPage(BaseModel):
    items: list[ReferralRead]
    next_cursor: int | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )


class RejectCreate(BaseModel):
    reason: str = Field(
        min_length=1, max_length=200, pattern=NO_NUL, examples=["Same device as the referrer"]
    )


class TierSchema(BaseModel):
    name: str = Field(min_length=1, max_length=30, pattern=NO_NUL, examples=["Bronze"])
    threshold: StrictInt = Field(ge=1, le=1_000_000, description="Confirmed referrals to reach it.")
    amount: StrictInt = Field(ge=0, le=1_000_000_000, description="Bonus points.")


class ProgramSchema(BaseModel):
    """The reward program: applies to referrals confirmed from the change on."""

    per_referral: StrictInt = Field(ge=0, le=1_000_000_000, examples=[10])
    welcome: StrictInt = Field(
        ge=0, le=1_000_000_000, description="For the new user.", examples=[10]
    )
    tiers: list[TierSchema] = Field(
        description="Tier names must differ: each tier is granted once per user.",
        max_length=50,
        examples=[
            [
                {"name": "Bronze", "threshold": 5, "amount": 50},
                {"name": "Silver", "threshold": 10, "amount": 150},
                {"name": "Gold", "threshold": 20, "amount": 500},
            ]
        ],
    )

    @model_validator(mode="after")
    def _distinct_names(self) -> ProgramSchema:
        names = [tier.name for tier in self.tiers]
        if len(set(names)) != len(names):
            raise ValueError("tier names must differ")
        return self


class CampaignCreate(BaseModel):
    slug: str = CampaignSlug
    name: str = Field(min_length=1, max_length=100, pattern=NO_NUL, examples=["Spring 2027"])
    ends_at: UTCDatetime | None = Field(
        default=None, description="After this, its links still refer, without the campaign."
    )


class CampaignUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=100, pattern=NO_NUL)
    active: StrictBool | None = Field(default=None, description="Inactive: no new links for it.")
    ends_at: UTCDatetime | None = None


class CampaignRead(BaseModel):
    id: int
    slug: str
    name: str
    active: bool
    ends_at: datetime | None
    created_at: datetime
    clicks: int
    unique_clicks: int
    signups: int
    confirmed: int


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

    @computed_field(description="Seed 004's name: the same as `confirmed`.")  # type: ignore[prop-decorator]
    @property
    def verified_referrals(self) -> int:
        return self.confirmed


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


class ClaimCreate(SeedNames):
    user_id: str = Field(validation_alias=seed_names("user_id", "userId"), **UserIdRules)
    reward_id: StrictInt = Field(
        ge=1, le=MAX_ID, validation_alias=seed_names("reward_id", "rewardId")
    )


class ClaimRead(BaseModel):
    reward: RewardRead
    balance: int
    success: bool = Field(default=True, description="Seed 004's flag: always true on a 2xx.")
