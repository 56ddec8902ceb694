"""The referrals' settings: REFERRAL_*, and the variables named before the prefix rule
(REWARD_*, ATTRIBUTION_DAYS, VELOCITY_*), which keep their names (README, "Configuration")."""

from __future__ import annotations

import re

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from bozor.settings import CHANNEL_PATTERN, FeatureSettings, http_url


class ReferralSettings(FeatureSettings):
    """`ReferralSettings.of(settings)`: the referrals' settings in the process's Settings."""

    model_config = SettingsConfigDict(env_prefix="REFERRAL_")

    landing_url: str | None = None  # /r/{code} redirects here ({code} filled in)
    # Members only count once they are in this channel (@username or -100... id), and the
    # invite link shown when the channel is private.
    required_channel: str | None = None
    channel_url: str | None = None
    # Customisation hooks: "package.module:name" of an object implementing the interface in
    # bozor.referrals.hooks; empty = the default.
    validator: str | None = None
    notifier: str | None = None
    reward_calculator: str | None = Field(default=None, validation_alias="REWARD_CALCULATOR")
    # Bonus points per confirmed referral, for the new user (double-sided; 0 = off), and the
    # tiers (name:referrals:points).
    reward_per_referral: int = Field(default=10, ge=0, validation_alias="REWARD_PER_REFERRAL")
    reward_welcome: int = Field(default=10, ge=0, validation_alias="REWARD_WELCOME")
    reward_tiers: str = Field(
        default="Bronze:5:50,Silver:10:150,Gold:20:500", validation_alias="REWARD_TIERS"
    )
    # Click → sign-up window.
    attribution_days: int = Field(default=30, ge=1, le=365, validation_alias="ATTRIBUTION_DAYS")
    # Held for review: more sign-ups than this from one visitor (click fingerprint) in a day,
    # or through one referrer within VELOCITY_WINDOW_MINUTES; 0 switches a check off.
    velocity_per_visitor: int = Field(default=3, ge=0, validation_alias="VELOCITY_PER_VISITOR")
    velocity_burst: int = Field(default=50, ge=0, validation_alias="VELOCITY_BURST")
    velocity_window_minutes: int = Field(
        default=10, ge=1, le=24 * 60, validation_alias="VELOCITY_WINDOW_MINUTES"
    )

    @field_validator("landing_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        return http_url(value)

    @field_validator("reward_tiers")
    @classmethod
    def _tiers_shape(cls, value: str) -> str:
        part = r"\s*[A-Za-z][\w ]{0,30}:\d{1,6}:\d{1,9}\s*"
        if value.strip() and not re.fullmatch(rf"{part}(,{part})*", value):
            raise ValueError(
                "name:referrals:points, comma-separated (e.g. Bronze:5:50,Gold:20:500)"
            )
        return value

    @field_validator("validator", "reward_calculator", "notifier")
    @classmethod
    def _dotted_path(cls, value: str | None) -> str | None:
        if value and not re.fullmatch(r"[A-Za-z_][\w.]*[:.][A-Za-z_]\w*", value.strip()):
            raise ValueError("a dotted path like mypackage.rules:my_validator")
        return value.strip() if value else None

    @field_validator("required_channel")
    @classmethod
    def _channel_shape(cls, value: str | None) -> str | None:
        if value and not re.fullmatch(CHANNEL_PATTERN, value):
            raise ValueError("a public channel's @username or its -100... id")
        return value or None
