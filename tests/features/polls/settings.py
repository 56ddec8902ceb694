"""The poll's settings: the variables POLL_*."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from bozor.settings import FeatureSettings


class PollSettings(FeatureSettings):
    """`PollSettings.of(settings)`: the poll's settings in the process's Settings."""

    model_config = SettingsConfigDict(env_prefix="POLL_")

    show_counts: bool = True  # POLL_SHOW_COUNTS: a voter sees the counts so far
