"""The lotteries' settings: the variables LOTTERY_* (README, "Configuration")."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from bozor.settings import FeatureSettings, channel


class LotterySettings(FeatureSettings):
    """`LotterySettings.of(settings)`: the lotteries' settings in the process's Settings."""

    model_config = SettingsConfigDict(env_prefix="LOTTERY_")

    # The channel where results are announced: its -100... id or a public @username (resolved to
    # the id through getChat when Bozor starts; the bot must be its admin).
    channel: str | None = None
    claim_hours: float = Field(default=24.0, gt=0, le=24 * 365)  # to confirm a win
    job_interval: float = Field(default=30.0, gt=0)  # seconds between job runs
    # After a draw, registered participants who did not win are told the results too.
    notify_participants: bool = True
    # Winners in results published to the channel and to participants: masked (`@ja***e`),
    # full (@username or name) or none (account numbers only). Winners get their own message.
    publish_names: Literal["masked", "full", "none"] = "masked"

    @field_validator("channel")
    @classmethod
    def _channel(cls, value: str | None) -> str | None:
        return channel(value)

    @property
    def channel_id(self) -> int | None:
        """The results channel's id; an @username must have been resolved at start-up."""
        return self.chat_id("channel")
