"""The classifieds' settings: the variables CLASSIFIEDS_* (README, "Configuration")."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from bozor.settings import FeatureSettings, channel, split_csv


class ClassifiedsSettings(FeatureSettings):
    """`ClassifiedsSettings.of(settings)`: the classifieds' settings in the process's
    Settings."""

    model_config = SettingsConfigDict(env_prefix="CLASSIFIEDS_")

    channel: str | None = None  # -100... id of the ads channel (the bot its admin)
    repost_minutes: float = Field(default=30.0, gt=0, le=7 * 24 * 60)
    repost_no_repeat: int = Field(default=3, ge=0, le=100)  # last N never reposted
    sold_check_days: float = Field(default=3.0, gt=0, le=365)
    max_unanswered: int = Field(default=3, ge=1, le=100)  # then the ad expires
    job_interval: float = Field(default=20.0, gt=0)  # seconds between job runs
    categories: str = (
        "electronics:1:1000000000,vehicles:1:5000000000,realty:1:50000000000,"
        "clothes:1:50000000,home:1:200000000,jobs:0:100000000,services:0:100000000,other:0:0"
    )  # slug[:usual min:usual max][:names] in so'm, 0:0 = no range (README, Configuration)
    banned_words: Annotated[list[str], NoDecode] = Field(default_factory=list)
    daily_limit: int = Field(default=5, ge=1)  # more ads a day are flagged
    saved_searches: int = Field(default=10, ge=1, le=100)  # per user
    contact_hourly: int = Field(default=20, ge=1)  # relayed messages a person sends in an hour

    @field_validator("banned_words", mode="before")
    @classmethod
    def _parse_lists(cls, value: Any) -> Any:
        return split_csv(value)

    @field_validator("categories")
    @classmethod
    def _categories_shape(cls, value: str) -> str:
        # The shape only; categories.py reads the names.
        part = r"\s*[a-z][a-z0-9_]{0,30}(:\d{1,15}:\d{1,15})?(:[^,]*)?\s*"
        if not re.fullmatch(rf"{part}(,{part})*", value):
            raise ValueError(
                "slug[:min:max][:names], comma-separated "
                "(e.g. electronics:1:1000000,home_garden:0:0:Home and garden|ru=Дом и сад)"
            )
        return value

    @field_validator("channel")
    @classmethod
    def _channel(cls, value: str | None) -> str | None:
        return channel(value)

    @property
    def channel_id(self) -> int | None:
        """The ads channel's id; an @username must have been resolved at start-up."""
        return self.chat_id("channel")
